"""How a synthetic voice should read a text: the content's pronunciation table, and phone
numbers in pairs as French people say them ("39 49", not "three thousand nine hundred")."""

from __future__ import annotations

import re

_PHONE_DIGITS = re.compile(r"(?<!\w)\d(?:[\d ]{2,}\d)(?!\w)")
_CAPITALS = re.compile(r"(?<!\w)[A-ZÉÈ]{2,6}(?!\w)")


def in_pairs(digits: str) -> str:
    """A phone number read in pairs, as French people say it: "06 12 34 56 78"."""
    return " ".join(digits[i : i + 2] for i in range(0, len(digits), 2))


def _pairs(match: re.Match[str]) -> str:
    digits = match.group(0).replace(" ", "")
    return in_pairs(digits) if len(digits) >= 4 else match.group(0)


def spoken(text: str, pronunciations: dict[str, str]) -> str:
    """The text as the synthetic voice should read it."""
    for written, said in pronunciations.items():
        text = re.sub(rf"(?<!\w){re.escape(written)}(?!\w)", said, text)
    return _PHONE_DIGITS.sub(_pairs, text)


def spelt_out(text: str, pronunciations: dict[str, str]) -> list[str]:
    """Words in capitals that espeak-ng would spell letter by letter and that the table
    does not say how to read."""
    return sorted({w for w in _CAPITALS.findall(text) if w not in pronunciations})
