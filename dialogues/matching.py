"""Matching a typed message or a speech transcript to one of the places it may lead to.

Shared by SMS and speech. Every phrase of the content (a choice's words, a procedure's
keywords and old names, the global commands) is normalised once (see `normalise`); a
message is normalised the same way, each of its words is compared with rapidfuzz to the
words of the phrases, and a phrase scores the mean of its words' best similarity. The
place (target) scores its best phrase. A clear winner is a match, two close candidates are
a "which one?", anything else is no match.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise

from rapidfuzz import fuzz, process

from .normalise import Reading
from .similar_words import Vocabulary

# All matching thresholds live here.
MATCH_SCORE = 80.0  # a place needs at least this score (0-100) to be chosen
AMBIGUITY_MARGIN = 8.0  # the winner must lead the next place by this much, else "which one?"
WORD_MIN_SCORE = 72.0  # a word this similar to a content word counts as that word
SHORT_WORD_MIN_SCORE = 85.0  # the same for a word of 3 letters
PREFIX_SCORE = 85.0  # "secu" for "securite": a word cut short (4 letters or more)
ELIDED_SCORE = 95.0  # "lapl" for "l'apl": an elision written without its apostrophe
LONGER_PHRASE_BONUS = 5.0  # per extra word of a phrase found whole in the message
GROUP_WEIGHT = 0.9  # a broad group (the main menu's choices) yields to a precise subject
SPEECH_REJECT_BELOW = 0.55  # speech confidence under this is treated as not understood
SPEECH_CONFIRM_BELOW = 0.85  # speech confidence under this is confirmed with a yes/no question
SPEECH_MIN_COVERAGE = 0.5  # the words heard must span this share of the speech, or no match
SHORT_NAME = 3  # a content word this short is found only by a message word no longer
WORDS_KEPT = 65536  # message words whose similar content words are kept (then all forgotten)


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
    `same` maps a target to the one it stands for (two ways to reach a person are one
    place). A target in `groups` is a broad grouping that yields to precise places.
    """

    def __init__(
        self,
        phrases: Iterable[tuple[str, str, *tuple[object, ...]]],
        reading: Reading,
        covers: Mapping[str, frozenset[str]] | None = None,
        same: Mapping[str, str] | None = None,
        groups: frozenset[str] = frozenset(),
    ):
        self._reading = reading
        self._covers = covers or {}
        self._same = same or {}
        self._groups = groups
        entries: list[_Entry] = []
        seen: set[tuple[tuple[str, ...], str]] = set()
        # Abbreviations of two letters ("PE") are found as written, not as they sound
        # ("paye" and "payer" sound "pe"): each one's sound, and how it is written.
        self._abbreviations: dict[str, set[str]] = {}
        # Names written in capitals (ANPE, CPAM): each found like a short name (SHORT_NAME).
        self._names: set[str] = set()
        for phrase, target, *_ in phrases:
            target = self._same.get(target, target)
            self._names.update(
                reading.sound(plain)
                for word in phrase.split()
                if word.isupper()
                for plain in reading.plain_words(word)
                if len(plain) > 1
            )
            written = reading.plain_words(phrase)
            if len(written) == 1 and len(written[0]) <= reading.abbreviations:
                self._abbreviations.setdefault(reading.sound(written[0]), set()).add(written[0])
            words = reading.normalise(phrase)
            forms = [(words, False)]
            if len(words) > 1:
                forms.append((("".join(words),), True))
            for form, joined in forms:
                if form and (form, target) not in seen:
                    seen.add((form, target))
                    entries.append(_Entry(form, target, joined))
        self._entries = entries
        # A phrase in which one word alone is found scores that word's similarity over the
        # phrase's length (half at most: no bonus), so for each place a word needs only the
        # length of its shortest phrase there (a phrase of one word: the similarity itself).
        # The phrases of several words where more is found (two of their words, or one
        # twice) score more, and are summed word by word.
        shortest: dict[str, dict[str, int]] = {}
        part_of: dict[str, set[int]] = {}
        self._several: list[tuple[tuple[str, ...], str, float]] = []
        self._twice: dict[str, list[int]] = {}
        for entry in entries:
            length = len(entry.words)
            for word, count in Counter(entry.words).items():
                lengths = shortest.setdefault(word, {})
                lengths[entry.target] = min(length, lengths.get(entry.target, length))
                if length > 1:
                    part_of.setdefault(word, set()).add(len(self._several))
                if count > 1:
                    self._twice.setdefault(word, []).append(len(self._several))
            if length > 1:
                self._several.append((entry.words, entry.target, self._weight(entry.target)))
        self._by_word = {
            word: [(target, length, self._weight(target)) for target, length in lengths.items()]
            for word, lengths in shortest.items()
        }
        self._part_of = {word: frozenset(indices) for word, indices in part_of.items()}
        self._vocabulary = Vocabulary(self._by_word)
        # A word cut short ("secu") is looked for among the words of phrases, not among
        # phrases glued into one word ("papi" is not "papieretranjer").
        whole = {word for e in entries if not e.joined for word in e.words}
        self._sorted_vocabulary = sorted(whole)
        self._seen: dict[str, dict[str, float]] = {}

    def _word_scores(self, words: tuple[str, ...]) -> dict[str, float]:
        """For each content word close to a message word, its best similarity."""
        best: dict[str, float] = {}
        for word in words:
            for match, score in self._similar(word).items():
                if score > best.get(match, 0.0):
                    best[match] = score
        return best

    def forget_words(self) -> None:
        """Empty the kept similar words (the benchmark's cold runs)."""
        self._seen.clear()

    def _similar(self, word: str) -> dict[str, float]:
        """The content words one message word may be, with their similarity; kept, as
        the same words come back in message after message."""
        if word not in self._seen:
            if len(self._seen) > WORDS_KEPT:
                self._seen.clear()
            self._seen[word] = self._compare(word)
        return self._seen[word]

    def _compare(self, word: str) -> dict[str, float]:
        if word in self._by_word:
            return {word: 100.0}
        similar: dict[str, float] = {}

        def found(match: str, score: float) -> None:
            if score > similar.get(match, 0.0):
                similar[match] = score

        glued = self._reading.unglued(word)
        if glued is not None and glued[1] in self._by_word:
            found(glued[1], ELIDED_SCORE)
        if len(word) < 3:
            return similar
        cutoff = SHORT_WORD_MIN_SCORE if len(word) == 3 else WORD_MIN_SCORE
        for match, score in self._vocabulary.similar(word, cutoff):
            # A short name (APL, AAH) or one written in capitals (ANPE) is not a longer word
            # that looks like it ("appel", "tempête"), but it may have a letter more at its
            # end ("apls", "cnie").
            short = len(match) <= SHORT_NAME or match in self._names
            if len(match) > 2 and (not short or len(word) <= len(match) or word.startswith(match)):
                found(match, score)
        if len(word) >= 4:
            start = bisect.bisect_left(self._sorted_vocabulary, word)
            for match in self._sorted_vocabulary[start:]:
                if not match.startswith(word):
                    break
                found(match, PREFIX_SCORE)
        return similar

    def _message_words(self, text: str) -> tuple[str, ...]:
        """The message normalised as the phrases are, but a word that sounds like a small
        word and is a content word glued to its elided article is that content word
        ("laah": "l'AAH", which sounds like "la")."""
        out = []
        reading = self._reading
        written = reading.plain_words(text)
        for word in written:
            form = reading.sound(word)
            if form in self._abbreviations and word not in self._abbreviations[form]:
                continue
            if form and form not in reading.stop_sounds:
                out.append(form)
            elif (glued := reading.unglued(word, 3)) and reading.sound(glued[1]) in self._by_word:
                out.append(reading.sound(glued[1]))
        # A word written in two ("passe port", "im pots"): the two joined, when that is a
        # content word.
        for first, second in pairwise(written):
            if (form := reading.sound(first + second)) in self._by_word:
                out.append(form)
        return tuple(out)

    def rank(self, text: str) -> list[tuple[str, float]]:
        """Every place with a score above zero, best first."""
        best = self._word_scores(self._message_words(text))
        if not best:
            return []
        scores: dict[str, float] = {}
        current = scores.get
        for word, similarity in best.items():
            for target, length, weight in self._by_word[word]:
                score = similarity / length * weight
                if score > current(target, 0.0):
                    scores[target] = score
        found = defaultdict(float, best).__getitem__  # 0 for a word not found
        for index in self._more_found(best):
            words, target, weight = self._several[index]
            score = sum(map(found, words)) / len(words)
            # A longer phrase found whole is stronger evidence than a single word.
            if score >= MATCH_SCORE:
                score += LONGER_PHRASE_BONUS * (len(words) - 1)
            score *= weight
            if score > current(target, 0.0):
                scores[target] = score
        return self._prefer_precise(scores)

    def _weight(self, target: str) -> float:
        return GROUP_WEIGHT if target in self._groups else 1.0

    def _more_found(self, words: Iterable[str]) -> set[int]:
        """The phrases of several words where two of `words` are found, or one twice."""
        seen: set[int] = set()
        more: set[int] = set()
        for word in words:
            phrases = self._part_of.get(word, frozenset())
            more |= seen & phrases
            seen |= phrases
            more.update(self._twice.get(word, ()))
        return more

    def _prefer_precise(self, scores: dict[str, float]) -> list[tuple[str, float]]:
        """Best first, without a menu when a place under it scores about as well."""
        strong = [(t, s) for t, s in scores.items() if s >= MATCH_SCORE + AMBIGUITY_MARGIN]
        ranked = []
        for target, score in sorted(scores.items(), key=lambda item: (-item[1], item[0])):
            below = self._covers.get(target)
            if below and any(
                other in below and other_score >= score - 2 * AMBIGUITY_MARGIN
                for other, other_score in strong
            ):
                continue
            ranked.append((target, score))
        return ranked

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
                if min(len(form), len(other)) < 3:
                    continue
                for a in sorted(by_form[form]):
                    for b in sorted(by_form[other] - {a}):
                        if not self._related(a, b):
                            clashes.append((form, a, other, b))
        return clashes

    def _related(self, a: str, b: str) -> bool:
        return b in self._covers.get(a, frozenset()) or a in self._covers.get(b, frozenset())
