"""Recognising danger in what a person writes or says: suicide, violence, no shelter
tonight, a child at risk, a medical emergency, an immediate threat.

The content (danger.yaml) lists each situation with the phrases that reveal it. Unlike the
subject matcher, small words are kept ("me tuer" is not "tuer", "il veut me tuer" is not
"je veux me tuer"), and a phrase's words must come in order, with at most `MAX_GAP` other
words between two of them, none of them a word that changes who does what (danger.yaml's
`never_skipped`: "je vais me faire tuer" is not "je vais me tuer"). Each word is compared
by its sound spelling (see `normalise`), so misspellings are tolerated like everywhere
else: "sucider", "me tué", "il me frap".

Harmless phrases (danger.yaml's `harmless`: "me tape sur les nerfs", "en danger
financièrement") are found first, the same way, and their words are then no danger's: "ça
me tape sur les nerfs" reveals nothing, "ça me tape sur les nerfs, il veut me tuer" still
reveals a threat.

A phrase said with a negation that is not its own ("je ne suis pas en danger", "il ne m'a
jamais frappée", "on ne me frappe pas") reveals nothing; "je n'arrive pas à respirer" still
does, its "pas" is the phrase's. A situation that is about right now (a medical emergency,
an immediate threat: 15, 17; danger.yaml's `not_when` and `times`) is not revealed by its
phrases in a message that places them at another time ("il a fait un malaise l'an
dernier", "il y a deux ans", "en mars", "quand j'étais petit"), nor a night without
shelter (115) by one about a later date ("je serai à la rue dans trois mois"), nor
violence, suicide, a child at risk or no shelter by a time long ago ("j'ai subi des
violences il y a 3 ans", "quand j'étais petit"), unless the message also says now ("ce
soir", "encore", "maintenant", "et depuis"). Such a time rules out only a phrase said
within `TIME_REACH` words of it ("je pense au suicide tous les jours, mon frère s'est
suicidé il y a trois ans" is suicide). Any situation is ruled out
when the message says it is over, at a time past ("il me frappait il y a 5 ans, on n'a
plus aucun contact", "j'ai été à la rue l'an dernier, maintenant j'ai un logement"), even
with a "maintenant", unless it says it is happening again ("il recommence", "ce soir");
a phrase said after what is over, with no time past after it, is current ("avant j'étais
à la rue, maintenant j'ai un logement, mais mon mari me frappe"). A "maintenant" makes
current only the phrases said with it or after it ("mon ex me frappait il y a des années,
maintenant je veux un logement" is past); a time said right after "depuis" is how long the
situation has lasted, not a time past ("il me frappe depuis l'an dernier"). A joke ("mdr")
or a story ("un film sur", "aux infos") next to a phrase rules it out even now, for the
situations that list it (not suicide: "je veux mourir mdr" is taken seriously).
What the model trained on the examples finds is ruled out by the same times
(engine.danger).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate, pairwise

from .examples_model import trained
from .model import Danger
from .normalise import Reading, words_of
from .similar_words import Vocabulary

MAX_GAP = 2  # other words allowed between two words of a phrase
WORD_MIN_SCORE = 80.0  # a word of 4 letters or more this similar counts as the same word
PHRASE_MIN_SCORE = 86.0  # the mean similarity of a phrase's words, to count as said
ELIDED_SCORE = 95.0  # "jveux" for "je veux", "jsuis" for "je suis"
LONGER_SCORE = 85.0  # "dor" for "dors": a 3-letter word one letter short
TIME_REACH = 6  # a time rules out a phrase said at most this many words from it
STILL_REACH = 2  # "encore", "toujours" keep current a phrase at most this many words away


@dataclass(frozen=True)
class _Phrase:
    words: tuple[str, ...]
    danger: int  # index in the content's order: the first situation wins a tie

    @cached_property
    def needs(self) -> frozenset[str]:
        """Its words: it is looked for only when each of them may be in the message."""
        return frozenset(self.words)


HARMLESS = -1  # the `danger` of a harmless phrase

# Kinds of moment of danger.yaml's `times` that the matcher knows by name:
NOW = "now"  # said now: rules nothing out ("maintenant", "ce soir")...
OVER = "over"  # ...except a situation said to be over ("je vais bien") at a time past...
AGAIN = "again"  # ...unless it is happening again ("il recommence"): rules nothing out
STILL = "still"  # "encore", "toujours": like `again`, but only near the phrase
MINOR = "minor"  # "j'ai 14 ans": the person is a minor (a situation's `for_a_minor`)
PAST = "past"
SINCE = "since"  # "depuis": the time after it is how long it has lasted, not a time past
NOT_REAL = ("joke", "story")  # "mdr", "un film sur": not real, rule out even now


class DangerMatcher:
    def __init__(
        self,
        dangers: tuple[Danger, ...],
        reading: Reading,
        distinct: tuple[tuple[str, str], ...] = (),
        harmless: tuple[str, ...] = (),
        times: Mapping[str, str] | None = None,
        never_skipped: tuple[str, ...] = (),
    ):
        self._dangers = dangers
        self._reading = reading
        self._times = {kind: re.compile(pattern) for kind, pattern in (times or {}).items()}
        sounds = self._sounds
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
        # Words that change who does what: "me faire tuer" is not "me tuer".
        self._never_skipped = {s for word in never_skipped for s in sounds(word)}
        self._vocabulary = Vocabulary(
            sorted({w for p in self._phrases + self._harmless for w in p.words})
        )
        # Each phrase looked up by its rarest word: a message makes few candidates.
        self._by_rarest = {
            word: [self._phrases[i] for i in indexes]
            for word, indexes in _by_rarest(self._phrases).items()
        }
        # The harmless phrases are taken out in their order: their places by rarest word.
        self._harmless_by_rarest = _by_rarest(self._harmless)
        self._known = frozenset(self._vocabulary.words)
        # The words of 4 letters by their first 3 ("dor" may be "dors").
        self._longer: dict[str, list[str]] = {}
        for word in self._vocabulary.words:
            if len(word) == 4:
                self._longer.setdefault(word[:3], []).append(word)
        self._seen: dict[str, dict[str, float]] = {}
        self._heard: dict[str, tuple[tuple[str, dict[str, float]], ...]] = {}

    def _plain(self, text: str) -> list[str]:
        """Every word of `text`, small words kept, SMS shorthands written out ("je vx
        mourir"), the pairs written as one joined ("il ma frappée" is "il m'a frappée")."""
        reading = self._reading
        return reading.joined_words(reading.spelled_out(words_of(text)))

    def _sounds(self, text: str) -> tuple[str, ...]:
        """Every word of `text` (small words kept) in its sound spelling."""
        sound = self._reading.sound
        return tuple(s for s in (sound(w) for w in self._plain(text)) if s)

    def forget_words(self) -> None:
        self._seen.clear()
        self._heard.clear()

    def _positions(self, word: str) -> tuple[tuple[str, dict[str, float]], ...]:
        """What one written word may be: one position, or two for a small word glued to
        the next without its apostrophe ("lair" is "l'air", "jarrive" "j'arrive", "quil"
        "qu'il"): the glued letter, then the rest."""
        found = self._heard.get(word)
        if found is None:
            if len(self._heard) > 65536:
                self._heard.clear()
            found = self._heard[word] = self._split(word)
        return found

    def _split(self, word: str) -> tuple[tuple[str, dict[str, float]], ...]:
        sound = self._reading.sound
        whole = sound(word)
        if not whole:
            return ()
        similar = self._similar(whole)
        glued = self._reading.unglued(word)
        if glued is None or whole in self._known:
            return ((word, similar),)
        small, rest = sound(glued[0]), sound(glued[1])
        if small not in self._known or rest not in self._known:
            return ((word, similar),)
        first = {**similar, small: max(similar.get(small, 0.0), ELIDED_SCORE)}
        return ((word, first), (glued[1], self._similar(rest)))

    def _similar(self, word: str) -> dict[str, float]:
        """Content words that `word` may be, with their similarity (0-100)."""
        if word not in self._seen:
            if len(self._seen) > 65536:
                self._seen.clear()
            self._seen[word] = self._compare(word)
        return self._seen[word]

    def _compare(self, word: str) -> dict[str, float]:
        similar: dict[str, float] = {}
        if word in self._known:
            similar[word] = 100.0
        glued = self._reading.unglued(word)
        if glued is not None and glued[1] in self._known:
            similar.setdefault(glued[1], ELIDED_SCORE)
        if len(word) == 3:  # "dor" for "dors", but "me" is never "ma", nor "va" "vais"
            for match in self._longer.get(word, ()):
                similar.setdefault(match, LONGER_SCORE)
        if len(word) > 3:
            for match, score in self._vocabulary.similar(word, WORD_MIN_SCORE):
                if len(match) > 3 and frozenset((word, match)) not in self._distinct:
                    similar.setdefault(match, score)
        return similar

    def _phrase_spans(
        self, phrase: _Phrase, heard: list[dict[str, float]], kept: frozenset[int] = frozenset()
    ) -> list[tuple[float, range]]:
        """Each place the phrase's words are found in order: their mean similarity, and
        the positions of the message from its first word to its last. The positions `kept`
        (never-skipped words) are never skipped between two of its words."""
        spans = []
        first = phrase.words[0]
        for start, similar in enumerate(heard):
            if first not in similar:
                continue
            total, position = similar[first], start
            for word in phrase.words[1:]:
                window = range(position + 1, min(position + 2 + MAX_GAP, len(heard)))
                found = []
                for i in window:
                    if word in heard[i]:
                        found.append((heard[i][word], i))
                    elif i in kept:
                        break
                if not found:
                    break
                score, position = max(found, key=lambda item: (item[0], -item[1]))
                total += score
            else:
                spans.append((total / len(phrase.words), range(start, position + 1)))
        return spans

    def _without_harmless(self, heard: list[dict[str, float]]) -> list[dict[str, float]]:
        """The message with the words of its harmless phrases taken out of play."""
        present = {word for similar in heard for word in similar}
        found = sorted(i for word in present for i in self._harmless_by_rarest.get(word, ()))
        for phrase in (self._harmless[i] for i in found):
            if phrase.needs <= present:
                for score, span in self._phrase_spans(phrase, heard):
                    if score >= PHRASE_MIN_SCORE:
                        heard = [{} if i in span else similar for i, similar in enumerate(heard)]
        return heard

    def find(self, text: str) -> Danger | None:
        """The situation the text reveals, if any: the longest phrase found wins, then the
        best said, then the situation written first."""
        words = self._plain(text)
        positions = [p for word in words for p in self._positions(word)]
        heard = self._without_harmless([similar for _, similar in positions])
        starts = {word for similar in heard for word in similar}
        candidates = [
            p for word in starts for p in self._by_rarest.get(word, ()) if p.needs <= starts
        ]
        if not candidates:
            return None
        said = [word for word, _ in positions]
        sound, never = self._reading.sound, self._never_skipped
        kept = frozenset(i for i, word in enumerate(said) if never and sound(word) in never)
        moments = self._moments(words)
        # The word each position is part of (a glued word is two positions).
        owner = [i for i, word in enumerate(words) for _ in self._positions(word)]
        best: tuple[int, float, int] | None = None
        for phrase in candidates:
            score = max(
                (
                    score
                    for score, span in self._phrase_spans(phrase, heard, kept)
                    if not _negated(phrase, span, said, self._reading)
                    and not moments.rule_out(
                        self._dangers[phrase.danger], range(owner[span.start], owner[span[-1]] + 1)
                    )
                ),
                default=0.0,
            )
            if score < PHRASE_MIN_SCORE:
                continue
            rank = (len(phrase.words), score, -phrase.danger)
            if best is None or rank > best:
                best = rank
        return None if best is None else self._dangers[-best[2]]

    def said_by_a_minor(self, text: str) -> bool:
        """Whether the person says they are a minor ("j'ai 14 ans", "je suis mineure")."""
        return MINOR in self._moments(self._plain(text)).said

    def at_another_time(self, text: str, danger: Danger) -> bool:
        """Whether `text` places `danger`, a situation about right now, at another time
        (the same rule as for its phrases, wherever in the message; for what the model
        finds)."""
        return self._moments(self._plain(text)).rule_out(danger, None)

    def _moments(self, words: list[str]) -> _Moments:
        """The times the message says, each kind with the words that say it (hesitations
        skipped: "un film euh où")."""
        hesitations = self._reading.hesitations
        read = [i for i, word in enumerate(words) if word not in hesitations]
        plain = " ".join(words[i] for i in read)
        starts = list(accumulate((len(words[i]) + 1 for i in read), initial=0))
        said: dict[str, list[range]] = {}
        for kind, moment in self._times.items():
            for match in moment.finditer(plain):
                first = bisect_right(starts, match.start()) - 1
                last = bisect_right(starts, match.end() - 1) - 1
                said.setdefault(kind, []).append(range(read[first], read[last] + 1))
        # "depuis l'an dernier" is how long it has lasted: not "l'an dernier".
        after = dict(pairwise(read))  # each word read, and the next one read
        since = {after[time.stop - 1] for time in said.pop(SINCE, ()) if time.stop - 1 in after}
        return _Moments(
            {
                kind: kept
                for kind, times in said.items()
                if (kept := [time for time in times if time.start not in since])
            }
        )


@dataclass(frozen=True)
class _Moments:
    """The times one message says (danger.yaml's `times`): each kind said, with the words
    of each time it is said."""

    said: dict[str, list[range]]

    def rule_out(self, danger: Danger, span: range | None) -> bool:
        """Whether the situation, revealed by the words `span` (None: somewhere), is
        placed at another time, or not real. A joke or a story near it (NOT_REAL kinds of
        its `not_when`) rules it out, even said again. Otherwise, happening again rules
        nothing out ("il recommence" anywhere; "encore", "toujours" only within
        STILL_REACH words of the phrase). Said to be over at a time past rules out what
        comes before it, even with a "maintenant"; a phrase after it with no time past
        after that is current ("avant j'étais à la rue, maintenant j'ai un logement, mais
        mon mari me frappe").
        Otherwise, a "maintenant" said with or before the phrase rules nothing out; a time
        of the situation's `not_when` (past, later...) rules it out when it is said within
        TIME_REACH words of the phrase ("il m'a cassé le bras l'an dernier"), or before it
        with a "maintenant" after it; not further ("je pense au suicide tous les jours, mon
        frère s'est suicidé il y a trois ans")."""
        said, not_when = self.said, set(danger.not_when)
        if any(self._near(kind, span) for kind in not_when.intersection(NOT_REAL)):
            return True
        if AGAIN in said or self._near(STILL, span, STILL_REACH):
            return False
        over = OVER in said and PAST in said  # "je vais bien" alone says nothing of when
        if over and OVER in not_when:
            over_end = said[OVER][-1].stop
            after = span is not None and span.start >= over_end
            if not after or any(time.start >= over_end for time in said[PAST]):
                return True
        # "maintenant" makes current what is said with it or after it, not what came
        # before ("mon père me battait, maintenant j'ai 30 ans").
        if NOW in said and not over and (span is None or said[NOW][0].start < span.stop):
            return False
        return any(
            self._near(kind, span) or self._framed(kind, span)
            for kind in not_when - {OVER, *NOT_REAL}
        )

    def _framed(self, kind: str, span: range | None) -> bool:
        """Whether the phrase `span` is told between a time of `kind` and a "maintenant"
        after it: the story of that time, however long ("quand j'étais petit, mon père me
        battait, [...] maintenant j'ai 30 ans")."""
        if span is None or NOW not in self.said:
            return False
        return any(time.stop <= span.start for time in self.said.get(kind, ())) and any(
            now.start >= span.stop for now in self.said[NOW]
        )

    def _near(self, kind: str, span: range | None, reach: int = TIME_REACH) -> bool:
        """Whether a time of `kind` is said within `reach` words of `span` (None:
        anywhere)."""
        return any(
            span is None or _distance(time, span) <= reach for time in self.said.get(kind, ())
        )


def _by_rarest(phrases: list[_Phrase]) -> dict[str, list[int]]:
    """The places of the phrases by the word of each that fewest phrases hold."""
    count: dict[str, int] = {}
    for phrase in phrases:
        for word in phrase.needs:
            count[word] = count.get(word, 0) + 1
    out: dict[str, list[int]] = {}
    for index, phrase in enumerate(phrases):
        out.setdefault(min(phrase.needs, key=lambda w: (count[w], w)), []).append(index)
    return out


def _distance(a: range, b: range) -> int:
    """The words between two spans of words (0 when they touch or overlap)."""
    return max(a.start - b.stop, b.start - a.stop, 0)


def _negated(phrase: _Phrase, span: range, said: list[str], reading: Reading) -> bool:
    """Whether a negation that is not the phrase's own falls inside its span or just
    after it ("je ne suis pas en danger", "on ne me frappe pas"; not "pas de toit")."""
    negations, sound = reading.negations, reading.sound
    own = {sound(word) for word in negations} & set(phrase.words)
    inside = [said[i] for i in span]
    if any(word in negations and sound(word) not in own for word in inside):
        return True
    after = said[span.stop : span.stop + 2]
    return (
        bool(after)
        and after[0] in negations
        and sound(after[0]) not in own
        and (len(after) == 1 or after[1] not in reading.not_negation_after)
    )


NO_DANGER = ""  # the model's class for an ordinary message
MODEL_SURE = 0.6  # the model names a danger at this probability or more
MODEL_MIN_WORDS = 2  # ...in a message of this many words or more (one word: the phrases)


class DangerModel:
    """Danger described in other words than the phrases: a model trained on each
    situation's phrases and examples, against ordinary messages (the look-alikes of
    danger.yaml, and every example and keyword of the procedures)."""

    def __init__(self, dangers: tuple[Danger, ...], ordinary: Iterable[str], reading: Reading):
        samples = [(t, d.id, False) for d in dangers for t in (*d.phrases, *d.examples)]
        samples += [(t, NO_DANGER, False) for t in ordinary]
        self._model = trained(tuple(samples), reading)
        self._dangers = {d.id: d for d in dangers}

    def forget_words(self) -> None:
        self._model.forget_words()

    def find(self, text: str) -> Danger | None:
        # "merci beaucoup": one word to go on
        if len(self._model.features.words(text)) < MODEL_MIN_WORDS:
            return None
        ranked, _ = self._model.rank(text)
        if not ranked or ranked[0].target == NO_DANGER or ranked[0].probability < MODEL_SURE:
            return None
        return self._dangers[ranked[0].target]
