"""A model trained on the content's examples: which place a message describes, and whether
it is about something that went wrong with a right the person already has (a follow-up).

The keyword matcher (matching.py) knows the names of things; people often describe their
situation instead ("on m'a volé mon sac avec mes papiers"). This model learns from the
examples content editors write for each place. Features are the message's words as they
sound (the language's `Reading`), their character n-grams (so a misspelt or unseen form of a known
word still counts), and pairs of neighbouring words (so "pas reçu" differs from "reçu").
scikit-learn fits a TF-IDF weighting and a logistic regression at content load; scoring a
message is then a few dictionary look-ups and one small matrix sum, done here with numpy
because calling scikit-learn for one message costs more than the whole matching.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from .normalise import Reading, letters_joined, words_of

NGRAMS = (3, 5)  # character n-gram sizes, on the sound spelling with word edges marked
REGULARISATION = 20.0  # scikit-learn's C: larger trusts the examples more
TOLERANCE = 1e-4  # scikit-learn's tol: when the fit stops
FOLLOWUP = "followup"  # the follow-up model's positive class
WORDS_KEPT = 65536  # words whose feature rows are kept (then all forgotten)
_NUMBER = re.compile(r"^\d+$")
NUMBER = "0"  # every number is this one word for the model


# The danger check's model and the places' model read the same message one after the other.
@lru_cache(maxsize=4)
def _read(text: str, small: frozenset[str], kept: frozenset[str]) -> tuple[str, ...]:
    return tuple(
        NUMBER if _NUMBER.match(w) else w
        for w in letters_joined(words_of(text), small)  # "il y a" is "il ya": a feature
        if w not in small or w in kept
    )


class Features:
    """A message's features as the model reads it in one language: each word's sound
    spelling whole and its character n-grams, then each pair of neighbouring words (kept
    per word, as words come back)."""

    def __init__(self, reading: Reading, ngrams: tuple[int, int] = NGRAMS):
        self.reading = reading
        self.ngrams = ngrams
        # Words that shade a description ("toujours pas", "plus rien") but describe
        # nothing alone: a message of these only (or of numbers) is not scored.
        self.shading = reading.kept_small_words | reading.shading_words | {NUMBER}
        self._of_word: dict[str, tuple[str, ...]] = {}

    def words(self, text: str) -> tuple[str, ...]:
        """The words the model reads: spelled letters joined, numbers as one sign, small
        words that mean nothing here left out ("je", "bonjour"), but not those of negation
        ("pas", "ne")."""
        return _read(text, self.reading.small_words, self.reading.kept_small_words)

    def of_word(self, word: str) -> tuple[str, ...]:
        """The features of one word: its sound spelling whole, and its character n-grams."""
        found = self._of_word.get(word)
        if found is None:
            if len(self._of_word) > WORDS_KEPT:
                self._of_word.clear()
            form = self.reading.sound(word) or word
            edged = f" {form} "
            grams = [
                edged[i : i + n]
                for n in range(self.ngrams[0], self.ngrams[1] + 1)
                for i in range(len(edged) - n + 1)
            ]
            found = self._of_word[word] = (f"w:{form}", *grams)
        return found

    def pairs(self, words: Sequence[str]) -> list[str]:
        """The feature of each pair of neighbouring words, by their sound ("pas reçu")."""
        forms = [self.reading.sound(w) or w for w in words]
        return [f"p:{a}_{b}" for a, b in pairwise(forms)]

    def __call__(self, text: str) -> list[str]:
        """Every feature of a message: each word's, then each pair of neighbouring words."""
        return self.of_words(self.words(text))

    def of_words(self, words: Sequence[str]) -> list[str]:
        """Every feature of the words a message was read as."""
        return [f for w in words for f in self.of_word(w)] + self.pairs(words)

    def forget_words(self) -> None:
        self._of_word.clear()


@dataclass(frozen=True)
class Prediction:
    """What the model makes of one message (no probabilities: no known word)."""

    targets: tuple[str, ...]
    index: dict[str, int]
    probabilities: np.ndarray | None
    followup: float
    words: tuple[str, ...] = ()  # the words the model read

    def ranked(self, count: int = 3) -> list[Scored]:
        if self.probabilities is None:
            return []
        order = np.argsort(-self.probabilities)[:count]
        return [Scored(self.targets[i], float(self.probabilities[i])) for i in order]

    def of(self, target: str) -> float:
        """The probability of one place (0 for a place the model does not know)."""
        if self.probabilities is None or target not in self.index:
            return 0.0
        return float(self.probabilities[self.index[target]])


def _regression(regularisation: float, tolerance: float) -> LogisticRegression:
    # Stochastic average gradient: on rows of unit length (TF-IDF), 4 times faster than
    # Newton's method with the texted messages, and nearer its optimum (newton-cg 1e-4)
    # at tol 1e-3; lbfgs is 10 times slower. Its draws are seeded: the same content
    # trains the same model.
    return LogisticRegression(
        C=regularisation, solver="sag", max_iter=500, tol=tolerance, random_state=0
    )


def _balanced(targets: list[str], followups: list[bool]) -> np.ndarray:
    """Sample weights for the follow-up model: every place with follow-ups gets the same
    share of follow-up weight (the share of all their examples that are follow-ups), so
    that the words of a place ("passeport", "impôts") say little of a follow-up and the
    words of what went wrong ("pas reçu", "bloqué") say it. Places without follow-ups, and
    each place's total weight, are unchanged."""
    count: dict[tuple[str, bool], int] = {}
    for target, followup in zip(targets, followups, strict=True):
        count[target, followup] = count.get((target, followup), 0) + 1
    mixed = {t for t, f in count if f and count.get((t, False))}
    if not mixed:
        return np.ones(len(targets))
    followups_in_all = sum(count[t, True] for t in mixed)
    share = followups_in_all / sum(count[t, True] + count[t, False] for t in mixed)
    weights = np.ones(len(targets))
    for i, (target, followup) in enumerate(zip(targets, followups, strict=True)):
        if target in mixed:
            total = count[target, True] + count[target, False]
            weights[i] = total * (share if followup else 1 - share) / count[target, followup]
    return weights


@lru_cache(maxsize=8)
def trained(
    samples: tuple[tuple[str, str, bool | None], ...],
    reading: Reading,
    ngrams: tuple[int, int] = NGRAMS,
    tolerance: float = TOLERANCE,
) -> ExampleModel:
    """The model for these samples, trained once per process: the content check and the
    engine of the same content share it."""
    return ExampleModel(samples, reading, ngrams=ngrams, tolerance=tolerance)


@dataclass(frozen=True)
class Scored:
    target: str
    probability: float


class ExampleModel:
    """Places ranked by probability for a message, and the probability that it is a
    follow-up. Trained once, from (text, place, is_followup) triples (is_followup None:
    not told, the sample teaches its place only)."""

    def __init__(
        self,
        samples: Iterable[tuple[str, str, bool | None]],
        reading: Reading,
        regularisation: float = REGULARISATION,
        ngrams: tuple[int, int] = NGRAMS,
        tolerance: float = TOLERANCE,
    ):
        samples = list(samples)
        self.features = Features(reading, ngrams)
        texts = [text for text, _, _ in samples]
        targets = [target for _, target, _ in samples]
        # A feature counts once however often it appears (binary): short messages repeat
        # little, and scoring a message is then a set of rows.
        learnt: set[str] = set()  # every word of the samples, for `words`

        def analyse(text: str) -> list[str]:
            words = self.features.words(text)
            learnt.update(words)
            return self.features.of_words(words)

        vectorizer = TfidfVectorizer(analyzer=analyse, binary=True, dtype=np.float32)
        matrix = vectorizer.fit_transform(texts)
        places = _regression(regularisation, tolerance).fit(matrix, targets)
        self.targets: tuple[str, ...] = tuple(str(c) for c in places.classes_)
        self._vocabulary: dict[str, int] = vectorizer.vocabulary_
        self._idf = vectorizer.idf_.astype(np.float32)
        # One row per feature: its weight for each place, then for "follow-up".
        weights = [places.coef_.T]
        biases = [places.intercept_]
        # A sample whose follow-up is None says nothing of it (only of its place).
        told = [i for i, (_, _, f) in enumerate(samples) if f is not None]
        followups = [bool(samples[i][2]) for i in told]
        self._has_followups = any(followups) and not all(followups)
        if self._has_followups:
            labels = [FOLLOWUP if f else "" for f in followups]
            balanced = _balanced([targets[i] for i in told], followups)
            followup = _regression(regularisation, tolerance).fit(
                matrix[told], labels, sample_weight=balanced
            )
            sign = 1.0 if followup.classes_[1] == FOLLOWUP else -1.0
            weights.append(sign * followup.coef_.T)
            biases.append(sign * followup.intercept_)
        self._weights = np.ascontiguousarray(np.hstack(weights), dtype=np.float32)
        self._bias = np.concatenate(biases).astype(np.float32)
        self._places = len(self.targets)
        self._index = {target: i for i, target in enumerate(self.targets)}
        self._rows: dict[str, list[int]] = {}
        self._words = frozenset(learnt)

    def forget_words(self) -> None:
        """Empty the kept feature rows of words (the benchmark's cold runs)."""
        self._rows.clear()
        self.features.forget_words()

    def _word_rows(self, word: str) -> list[int]:
        """The rows of one word's known features; kept, as words come back."""
        rows = self._rows.get(word)
        if rows is None:
            if len(self._rows) > WORDS_KEPT:
                self._rows.clear()
            read = self._unglued(word)
            rows = self._rows[word] = [
                self._vocabulary[f] for f in self.features.of_word(read) if f in self._vocabulary
            ]
        return rows

    def _unglued(self, word: str) -> str:
        """The word, or the known word after a small one glued to it: "dinterim" is
        "d'intérim", "lame" "l'AME" (a known word of 3 letters or more)."""
        reading = self.features.reading
        glued = reading.unglued(word, 3)
        if (
            glued is None
            or f"w:{reading.sound(word)}" in self._vocabulary
            or f"w:{reading.sound(glued[1])}" not in self._vocabulary
        ):
            return word
        return glued[1]

    def words(self, text: str) -> tuple[str, ...]:
        """The words the model reads of `text` (`Features.words`), a word written in two
        read as one when the model learnt it whole ("passe port": "passeport")."""
        out: list[str] = []
        for word in self.features.words(text):
            if out and out[-1] + word in self._words:
                out[-1] += word
            else:
                out.append(word)
        return tuple(out)

    def _vector(self, words: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """A message's known features, from the words the model reads of it
        (`Features.words`): their rows and TF-IDF values (unit length)."""
        if all(word in self.features.shading for word in words):  # keys, "plus", "pas encore"...
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        rows: set[int] = set()
        for word in words:
            rows.update(self._word_rows(word))
        pairs = (self._vocabulary.get(pair) for pair in self.features.pairs(words))
        rows.update(row for row in pairs if row is not None)
        if not rows:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        unique = np.fromiter(rows, np.int64, len(rows))
        values = self._idf[unique]
        return unique, values / np.sqrt(values.dot(values))  # np.linalg.norm, without its checks

    def predict(self, text: str) -> Prediction:
        """Every place's probability for `text`, and the follow-up probability."""
        words = self.words(text)
        rows, values = self._vector(words)
        if not len(rows):
            return Prediction(self.targets, self._index, None, 0.0, words)
        scores = values @ self._weights.take(rows, axis=0) + self._bias
        places = scores[: self._places]
        probabilities = np.exp(places - places.max())
        probabilities /= probabilities.sum()
        followup = 0.0
        if self._has_followups:
            followup = float(1.0 / (1.0 + math.exp(-float(scores[self._places]))))
        return Prediction(self.targets, self._index, probabilities, followup, words)

    def rank(self, text: str, count: int = 3) -> tuple[list[Scored], float]:
        """The `count` best places with their probability, and the follow-up probability."""
        prediction = self.predict(text)
        return prediction.ranked(count), prediction.followup

    def explain(self, text: str, target: str, limit: int = 4) -> list[tuple[str, float]]:
        """The words of `text` that most pushed it toward `target`, with their weight
        (a pair of words counts for both)."""
        words = self.words(text)
        rows, values = self._vector(words)
        if target not in self.targets or not len(rows):
            return []
        column = self.targets.index(target)
        contribution = dict(zip(rows.tolist(), values * self._weights[rows, column], strict=True))
        by_word: dict[str, float] = {}
        for word in words:
            rows_of_word = set(self._word_rows(word))
            by_word[word] = by_word.get(word, 0.0) + float(
                sum(contribution.get(r, 0.0) for r in rows_of_word)
            )
        for (a, b), pair in zip(pairwise(words), self.features.pairs(words), strict=True):
            row = self._vocabulary.get(pair)
            if row is not None and row in contribution:
                by_word[a] = by_word.get(a, 0.0) + float(contribution[row]) / 2
                by_word[b] = by_word.get(b, 0.0) + float(contribution[row]) / 2
        best = sorted(by_word.items(), key=lambda item: -item[1])[:limit]
        return [(w, round(s, 2)) for w, s in best if s > 0]
