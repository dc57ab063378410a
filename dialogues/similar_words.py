"""The words of a vocabulary that look like a word of a message: rapidfuzz's ratio (0-100),
computed only for the words whose length lets them reach the score wanted."""

from __future__ import annotations

from collections.abc import Iterable

from rapidfuzz import fuzz, process


class Vocabulary:
    def __init__(self, words: Iterable[str]):
        self.words = list(words)
        self._choices: dict[tuple[int, float], list[str]] = {}

    def similar(self, word: str, cutoff: float) -> list[tuple[str, float]]:
        """The words at least `cutoff` similar to `word`, with their similarity."""
        key = (len(word), cutoff)
        choices = self._choices.get(key)
        if choices is None:
            choices = [w for w in self.words if _may_reach(len(word), len(w), cutoff)]
            self._choices[key] = choices
        found = process.extract(word, choices, scorer=fuzz.ratio, score_cutoff=cutoff, limit=None)
        return [(match, score) for match, score, _ in found]


def _may_reach(a: int, b: int, cutoff: float) -> bool:
    """Whether words of `a` and `b` letters may be `cutoff` similar: their ratio is at
    most 200 * min(a, b) / (a + b), as they differ by |a - b| letters at least (a point
    of margin for rounding)."""
    return 200 * min(a, b) > (cutoff - 1) * (a + b)
