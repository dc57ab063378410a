"""Recognising danger in what a person writes or says: suicide, violence, no shelter
tonight, a child at risk, a medical emergency, an immediate threat.

The content (danger.yaml) lists each situation with the phrases that reveal it. Unlike the
subject matcher, small words are kept ("me tuer" is not "tuer", "il veut me tuer" is not
"je veux me tuer"), and a phrase's words must come in order, with at most `MAX_GAP` other
words between two of them. Each word is compared by its sound spelling (see `normalise`),
so misspellings are tolerated like everywhere else: "sucider", "me tué", "il me frap".

Harmless phrases (danger.yaml's `harmless`: "me tape sur les nerfs", "en danger
financièrement") are found first, the same way, and their words are then no danger's: "ça
me tape sur les nerfs" reveals nothing, "ça me tape sur les nerfs, il veut me tuer" still
reveals a threat.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from .examples_model import model_words, trained
from .model import Danger
from .normalise import sound, words_of

MAX_GAP = 2  # other words allowed between two words of a phrase
WORD_MIN_SCORE = 80.0  # a word of 4 letters or more this similar counts as the same word
PHRASE_MIN_SCORE = 86.0  # the mean similarity of a phrase's words, to count as said
ELIDED_SCORE = 95.0  # "jveux" for "je veux", "jsuis" for "je suis"
LONGER_SCORE = 85.0  # "dor" for "dors": a 3-letter word one letter short
ELIDED = "jmltsdnc"  # letters that stand for a small word glued to the next one


@dataclass(frozen=True)
class _Phrase:
    words: tuple[str, ...]
    danger: int  # index in the content's order: the first situation wins a tie


HARMLESS = -1  # the `danger` of a harmless phrase


def sounds(text: str) -> tuple[str, ...]:
    """Every word of `text` (small words kept) in its sound spelling."""
    return tuple(s for s in (sound(w) for w in words_of(text)) if s)


class DangerMatcher:
    def __init__(
        self,
        dangers: tuple[Danger, ...],
        distinct: tuple[tuple[str, str], ...] = (),
        harmless: tuple[str, ...] = (),
    ):
        self._dangers = dangers
        # Words that look alike but must never be taken for one another ("volé", "violé").
        self._distinct = {
            frozenset((a, b))
            for first, second in distinct
            for a in sounds(first)
            for b in sounds(second)
        }
        self._phrases = [
            _Phrase(form, index)
            for index, danger in enumerate(dangers)
            for form in dict.fromkeys(sounds(p) for p in danger.phrases)
            if form
        ]
        self._harmless = [_Phrase(form, HARMLESS) for form in map(sounds, harmless) if form]
        self._vocabulary = sorted({w for p in self._phrases + self._harmless for w in p.words})
        self._by_first: dict[str, list[_Phrase]] = {}
        for phrase in self._phrases:
            self._by_first.setdefault(phrase.words[0], []).append(phrase)
        self._seen: dict[str, dict[str, float]] = {}

    def forget_words(self) -> None:
        self._seen.clear()

    def _similar(self, word: str) -> dict[str, float]:
        """Content words that `word` may be, with their similarity (0-100)."""
        if word not in self._seen:
            if len(self._seen) > 65536:
                self._seen.clear()
            self._seen[word] = self._compare(word)
        return self._seen[word]

    def _compare(self, word: str) -> dict[str, float]:
        similar: dict[str, float] = {}
        if word in self._vocabulary:
            similar[word] = 100.0
        if len(word) > 2 and word[0] in ELIDED and word[1:] in self._vocabulary:
            similar.setdefault(word[1:], ELIDED_SCORE)
        if len(word) == 3:  # "dor" for "dors", but "me" is never "ma", nor "va" "vais"
            for match in self._vocabulary:
                if len(match) == 4 and match.startswith(word):
                    similar.setdefault(match, LONGER_SCORE)
        if len(word) > 3:
            for match, score, _ in process.extract(
                word,
                self._vocabulary,
                scorer=fuzz.ratio,
                score_cutoff=WORD_MIN_SCORE,
                limit=None,
            ):
                if len(match) > 3 and frozenset((word, match)) not in self._distinct:
                    similar.setdefault(match, score)
        return similar

    def _phrase_score(self, phrase: _Phrase, heard: list[dict[str, float]]) -> float:
        """The best mean similarity of the phrase's words found in order in the message."""
        return max((score for score, _ in self._phrase_spans(phrase, heard)), default=0.0)

    def _phrase_spans(
        self, phrase: _Phrase, heard: list[dict[str, float]]
    ) -> list[tuple[float, range]]:
        """Each place the phrase's words are found in order: their mean similarity, and
        the positions of the message from its first word to its last."""
        spans = []
        first = phrase.words[0]
        for start, similar in enumerate(heard):
            if first not in similar:
                continue
            total, position = similar[first], start
            for word in phrase.words[1:]:
                window = range(position + 1, min(position + 2 + MAX_GAP, len(heard)))
                found = [(heard[i][word], i) for i in window if word in heard[i]]
                if not found:
                    break
                score, position = max(found, key=lambda item: (item[0], -item[1]))
                total += score
            else:
                spans.append((total / len(phrase.words), range(start, position + 1)))
        return spans

    def _without_harmless(self, heard: list[dict[str, float]]) -> list[dict[str, float]]:
        """The message with the words of its harmless phrases taken out of play."""
        for phrase in self._harmless:
            for score, span in self._phrase_spans(phrase, heard):
                if score >= PHRASE_MIN_SCORE:
                    heard = [{} if i in span else similar for i, similar in enumerate(heard)]
        return heard

    def find(self, text: str) -> Danger | None:
        """The situation the text reveals, if any: the longest phrase found wins, then the
        best said, then the situation written first."""
        heard = self._without_harmless([self._similar(word) for word in sounds(text)])
        if not any(heard):
            return None
        best: tuple[int, float, int] | None = None
        starts = {word for similar in heard for word in similar}
        candidates = [p for word in starts for p in self._by_first.get(word, ())]
        for phrase in candidates:
            score = self._phrase_score(phrase, heard)
            if score < PHRASE_MIN_SCORE:
                continue
            rank = (len(phrase.words), score, -phrase.danger)
            if best is None or rank > best:
                best = rank
        return None if best is None else self._dangers[-best[2]]


NO_DANGER = ""  # the model's class for an ordinary message
MODEL_SURE = 0.6  # the model names a danger at this probability or more
MODEL_MIN_WORDS = 2  # ...in a message of this many words or more (one word: the phrases)


class DangerModel:
    """Danger described in other words than the phrases: a model trained on each
    situation's phrases and examples, against ordinary messages (the look-alikes of
    danger.yaml, and every example and keyword of the procedures)."""

    def __init__(self, dangers: tuple[Danger, ...], ordinary: Iterable[str]):
        samples = [(t, d.id, False) for d in dangers for t in (*d.phrases, *d.examples)]
        samples += [(t, NO_DANGER, False) for t in ordinary]
        self._model = trained(tuple(samples))
        self._dangers = {d.id: d for d in dangers}

    def forget_words(self) -> None:
        self._model.forget_words()

    def find(self, text: str) -> Danger | None:
        if len(model_words(text)) < MODEL_MIN_WORDS:  # "merci beaucoup": one word to go on
            return None
        ranked, _ = self._model.rank(text)
        if not ranked or ranked[0].target == NO_DANGER or ranked[0].probability < MODEL_SURE:
            return None
        return self._dangers[ranked[0].target]
