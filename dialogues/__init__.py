"""The dialogue engine and content model (pure Python, no I/O beyond reading content)."""
