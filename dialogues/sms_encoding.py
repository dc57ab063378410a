"""SMS encoding and segment counting (GSM-7 or UCS-2): a property of the text, so it lives
in the kernel, for the content checker, the SMS sender and the tests' Twilio stand-in.

One character outside the GSM 03.38 alphabet switches a whole message to UCS-2, which cuts
a segment from 160 to 70 characters. French text often carries such characters by accident
(a curly apostrophe pasted from a word processor, a circumflex), so `plain_replacements`
tells an author which plain letter would keep the message in GSM-7.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

GSM7 = "gsm7"
UCS2 = "ucs2"

# (single message, each part of a multi-part message), in characters of the encoding.
_LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}

# Characters that force UCS-2 and the plain GSM-7 text that reads the same to a person.
PLAIN = {
    "â": "a",
    "ê": "e",
    "î": "i",
    "ô": "o",
    "û": "u",
    "Â": "A",
    "Ê": "E",
    "Î": "I",
    "Ô": "O",
    "Û": "U",
    "ë": "e",
    "ï": "i",
    "ÿ": "y",
    "Ë": "E",
    "Ï": "I",
    "ç": "c",
    "œ": "oe",
    "Œ": "OE",
    "À": "A",
    "È": "E",
    "Ù": "U",
    "Ì": "I",
    "Ò": "O",
    "’": "'",
    "‘": "'",
    "«": '"',
    "»": '"',
    "“": '"',
    "”": '"',
    "…": "...",
    "–": "-",
    "—": "-",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2009": " ",
}


@dataclass(frozen=True)
class SmsSize:
    encoding: str  # GSM7 or UCS2
    units: int  # characters in that encoding (a GSM-7 extension character counts 2)
    segments: int


@lru_cache(maxsize=1024)  # a server sends the same replies again and again
def sms_size(text: str) -> SmsSize:
    """Encoding, length and number of segments of `text` as a phone network counts them."""
    try:
        units = len(text.encode("gsm03.38"))
        encoding = GSM7
    except UnicodeEncodeError:
        # UCS-2 counts UTF-16 code units: an emoji outside the BMP takes two.
        units = len(text.encode("utf-16-le")) // 2
        encoding = UCS2
    single, part = _LIMITS[encoding]
    segments = 1 if units <= single else math.ceil(units / part)
    return SmsSize(encoding, units, segments)


def ucs2_characters(text: str) -> list[str]:
    """The distinct characters of `text` that are outside GSM-7, in order of appearance."""
    found: list[str] = []
    for char in text:
        if char in found:
            continue
        try:
            char.encode("gsm03.38")
        except UnicodeEncodeError:
            found.append(char)
    return found


_PLAIN_TABLE = str.maketrans(PLAIN)


def to_gsm7(text: str) -> str:
    """`text` with every UCS-2-forcing character that has a plain equivalent replaced."""
    return text.translate(_PLAIN_TABLE)
