"""Matching a typed message or a speech transcript to one of the places it may lead to.

Shared by SMS and speech. Every phrase of the content (a choice's words, a procedure's
keywords and old names, the global commands) is normalised once (see `normalise`); a
message is normalised the same way, each of its words is compared with rapidfuzz to the
words of the phrases, and a phrase scores the mean of its words' best similarity. The
place (target) scores its best phrase. A clear winner is a match, two close candidates are
a "which one?", anything else is no match.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from .normalise import normalise

# All matching thresholds live here.
MATCH_SCORE = 80.0  # a place needs at least this score (0-100) to be chosen
AMBIGUITY_MARGIN = 8.0  # the winner must lead the next place by this much, else "which one?"
WORD_MIN_SCORE = 72.0  # a word this similar to a content word counts as that word
SHORT_WORD = 3  # words this short must be spelt exactly (after normalisation)
SPEECH_REJECT_BELOW = 0.55  # speech confidence under this is treated as not understood
SPEECH_CONFIRM_BELOW = 0.85  # speech confidence under this is confirmed with a yes/no question


@dataclass(frozen=True)
class MatchResult:
    """`targets` holds one place for a match, two for "which one?", none for no match."""

    targets: tuple[str, ...]
    score: float = 0.0

    @property
    def matched(self) -> str | None:
        return self.targets[0] if len(self.targets) == 1 else None

    @property
    def ambiguous(self) -> bool:
        return len(self.targets) == 2


NO_MATCH = MatchResult(())


@dataclass(frozen=True)
class _Entry:
    words: tuple[str, ...]
    target: str
    joined: bool = False  # the phrase's words written as one, for "cartevitale"


class Matcher:
    """Matches messages against fixed (phrase, target) pairs.

    `covers` maps a target to the targets below it (a sub-menu covers its procedures):
    when both a menu and something under it score, the more precise place wins.
    """

    def __init__(
        self,
        phrases: Iterable[tuple[str, str, *tuple[object, ...]]],
        covers: Mapping[str, frozenset[str]] | None = None,
    ):
        self._covers = covers or {}
        entries: list[_Entry] = []
        seen: set[tuple[tuple[str, ...], str]] = set()
        for phrase, target, *_ in phrases:
            words = normalise(phrase)
            forms = [(words, False)]
            if len(words) > 1:
                forms.append((("".join(words),), True))
            for form, joined in forms:
                if form and (form, target) not in seen:
                    seen.add((form, target))
                    entries.append(_Entry(form, target, joined))
        self._entries = entries
        self._by_word: dict[str, list[int]] = {}
        for index, entry in enumerate(entries):
            for word in set(entry.words):
                self._by_word.setdefault(word, []).append(index)
        self._vocabulary = list(self._by_word)

    def _word_scores(self, words: tuple[str, ...]) -> dict[str, float]:
        """For each content word close to a message word, its best similarity."""
        best: dict[str, float] = {}
        for word in words:
            if word in self._by_word:
                best[word] = 100.0
            if len(word) <= SHORT_WORD:
                continue
            for found, score, _ in process.extract(
                word,
                self._vocabulary,
                scorer=fuzz.ratio,
                score_cutoff=WORD_MIN_SCORE,
                limit=None,
            ):
                if len(found) > SHORT_WORD and score > best.get(found, 0.0):
                    best[found] = score
        return best

    def rank(self, text: str) -> list[tuple[str, float]]:
        """Every place with a score above zero, best first."""
        best = self._word_scores(normalise(text))
        if not best:
            return []
        scores: dict[str, float] = {}
        for word in best:
            for index in self._by_word[word]:
                entry = self._entries[index]
                score = sum(best.get(w, 0.0) for w in entry.words) / len(entry.words)
                # A longer phrase fully present is stronger evidence than a single word.
                score += 0.5 * (len(entry.words) - 1) if score >= MATCH_SCORE else 0.0
                if score > scores.get(entry.target, 0.0):
                    scores[entry.target] = score
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        return self._prefer_precise(ranked)

    def _prefer_precise(self, ranked: list[tuple[str, float]]) -> list[tuple[str, float]]:
        strong = {target for target, score in ranked if score >= MATCH_SCORE}
        return [
            (target, score)
            for target, score in ranked
            if not (self._covers.get(target, frozenset()) & (strong - {target}))
        ]

    def match(self, text: str) -> MatchResult:
        ranked = self.rank(text)
        if not ranked or ranked[0][1] < MATCH_SCORE:
            return NO_MATCH
        (first, score), rest = ranked[0], ranked[1:]
        if rest and score - rest[0][1] < AMBIGUITY_MARGIN:
            return MatchResult((first, rest[0][0]), score)
        return MatchResult((first,), score)

    def similar_phrases(self, limit: float = 90.0) -> list[tuple[str, str, str, str]]:
        """Pairs of phrases leading to different places whose normalised forms are equal
        or nearly so: (form a, target a, form b, target b). Used by the validator."""
        by_form: dict[str, set[str]] = {}
        for entry in self._entries:
            if not entry.joined:
                by_form.setdefault(" ".join(entry.words), set()).add(entry.target)
        forms = sorted(by_form)
        clashes = []
        for i, form in enumerate(forms):
            targets = sorted(by_form[form])
            clashes += [
                (form, a, form, b)
                for i, a in enumerate(targets)
                for b in targets[i + 1 :]
                if not self._related(a, b)
            ]
            for other, _score, _ in process.extract(
                form, forms[i + 1 :], scorer=fuzz.ratio, score_cutoff=limit, limit=None
            ):
                if min(len(form), len(other)) <= SHORT_WORD:
                    continue
                for a in sorted(by_form[form]):
                    for b in sorted(by_form[other] - {a}):
                        if not self._related(a, b):
                            clashes.append((form, a, other, b))
        return clashes

    def _related(self, a: str, b: str) -> bool:
        return b in self._covers.get(a, frozenset()) or a in self._covers.get(b, frozenset())
