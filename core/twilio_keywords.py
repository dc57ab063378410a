"""Twilio's default SMS keywords: on a long code, Twilio acts on a whole message that is one
of these words (any capitals) before Relais sees it: it blocks the sender on an opt-out
word, lifts the block on an opt-in word, and answers each of them and the help words
itself. Read by the SMS channel (sms.keywords) and by the Twilio simulator, which plays
Twilio's side."""

from __future__ import annotations

# Twilio's default keywords (its OptOutType values, then the words of each).
TWILIO_KEYWORDS = {
    "STOP": frozenset(
        {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
    ),
    "START": frozenset({"START", "YES", "UNSTOP"}),
    "HELP": frozenset({"HELP", "INFO"}),
}


def twilio_keyword(body: str) -> str | None:
    """The kind of Twilio's default keyword that the whole message is, or None."""
    word = body.strip().upper()
    return next((kind for kind, words in TWILIO_KEYWORDS.items() if word in words), None)
