"""The mediators' side: roster and opening hours, hand-off, call summaries, callback
queue."""
