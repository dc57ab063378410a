"""Whole-message keywords: stop, start again, help.

Twilio handles its own words before Relais sees the message (its default opt-out
keywords): on a long code it blocks the sender on an opt-out word (any later message to
them fails with error 21610), lifts the block on an opt-in word, and answers each of them
and the help words itself, in English, or with the texts of the number's Advanced Opt-Out.
Only a whole message matches, whatever its capitals ("STOP PLEASE" is not a keyword).
With Advanced Opt-Out, Twilio also says what it did in the webhook's OptOutType parameter,
which covers the keywords the operator added (French ones, for example).

Relais records what Twilio did and never answers a second time. The content's own words
(language.yaml's sms_words, such as "arrêt" or "aide") are Relais's alone: Twilio neither
blocks nor answers them, so Relais records the stop and answers them itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.twilio_keywords import TWILIO_KEYWORDS, twilio_keyword
from dialogues.model import Content
from dialogues.normalise import words_of


@dataclass(frozen=True)
class Keyword:
    kind: str  # "STOP", "START" or "HELP"
    by_twilio: bool  # Twilio has acted on it and answered already


def plain_words(body: str) -> str:
    """The message in lower case, without accents or punctuation, in any script: "Arrêt !"
    is "arret"."""
    return " ".join(words_of(body))


def sms_keyword(body: str, opt_out_type: str, content: Content) -> Keyword | None:
    """What the message asks of Relais's SMS as a whole: Twilio's word for it first (its
    OptOutType, then its default words), then the content's own words."""
    kind = opt_out_type.upper() if opt_out_type.upper() in TWILIO_KEYWORDS else None
    kind = kind or twilio_keyword(body)
    if kind:
        return Keyword(kind, by_twilio=True)
    plain = plain_words(body)
    for name, words in content.sms_words.items():
        if plain and plain in words:
            return Keyword(name.upper(), by_twilio=False)
    return None
