"""What a first message is about: the keyword matcher for what people name, the model
trained on the content's examples for what they describe, and whether it is a follow-up.

The keyword matcher is precise when a message names a place ("kaf", "karte vital"); the
model generalises from examples to descriptions ("on m'a volé mon sac avec mes papiers").
A name found wins; otherwise the model answers when it is confident, asks "which one?"
between its two best places when it hesitates, and gives up (the main menu, with the
offer of a person) below that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .examples_model import ExampleModel
from .matching import Matcher, MatchResult

# All thresholds of the model's decisions live here (probabilities, 0 to 1).
SURE = 0.45  # with no place named, the model's best place is taken at this probability,
LEAN = 0.35  # or at this probability when it is
RATIO = 2.0  # this many times as likely as the second place
PAIR = 0.5  # below that, "which one?" when the two best places together have this much
SECOND = 0.15  # ...and the second at least this much
PARTLY_NAMED = 60.0  # unless only one of the two has this keyword score (part of a name)
FOLLOWUP = 0.47  # a follow-up (something went wrong) at this probability or more
# A place named yields to the model's best place when the model is this sure:
OVER_EXACT = 0.4  # a precise place named exactly ("titre de séjour")
OVER_FUZZY = 0.5  # a precise place named by a word that only looks like a keyword
OVER_BROAD = 0.45  # a menu ("les papiers"), a command
OVER_PERSON = 0.6  # a person asked for by name ("un conseiller", "quelqu'un")
OVER_BELOW = 0.5  # a menu, by a place under it ("papiers de la voiture": carte grise)
# ...and either of these two in a message of DESCRIBED words or more, where a menu's word
# ("papiers", "travail") is one word of a description, not the subject named:
OVER_IN_DESCRIPTION = 0.25
DESCRIBED = 3
EXACT = 100.0  # the keyword score of a phrase found as written (see matching.py)
PERSON = "@human"  # the place of a person


@dataclass(frozen=True)
class Understood(MatchResult):
    """A match (one place), a "which one?" (two) or nothing, as the keyword matcher says
    it, and besides: `followup`, the person already has the right, or has asked, and
    something went wrong; `by_model`, decided by the examples' model."""

    followup: bool = False
    by_model: bool = False


@dataclass(frozen=True)
class Candidate:
    """One place in `Understanding.top`: the model's probability, the keyword score, and
    the words that drove the model to it."""

    target: str
    probability: float
    keyword_score: float
    words: tuple[tuple[str, float], ...]


class Understanding:
    def __init__(
        self,
        matcher: Matcher,
        model: ExampleModel | None,
        same: Mapping[str, str],
        followups: frozenset[str],
        menus: frozenset[str],
        covers: Mapping[str, frozenset[str]],
        nothing: str = "",
    ):
        self.matcher = matcher
        self.model = model
        self._same = same
        self._followups = followups  # places that say what to do when something went wrong
        self._menus = menus  # broad places (questions) that yield to a precise one
        self._covers = covers  # the places under each menu
        self._nothing = nothing  # the model's place for a message that asks for nothing

    def place(self, target: str) -> str:
        """The place a target stands for (the "humain" hand-off is the command @human)."""
        return self._same.get(target, target)

    def understand(self, text: str) -> Understood:
        """A place named, unless the model is sure enough of another one; with no place
        named, the model's best place when it is sure; then "which one?". Nothing when the
        model's best place is the one of messages that ask for nothing."""
        named = self.matcher.match(text)
        if self.model is None:
            return Understood(named.targets)
        prediction = self.model.predict(text)
        ranked = prediction.ranked(2)
        best = ranked[0] if ranked else None
        second = ranked[1].probability if len(ranked) > 1 else 0.0
        if named.matched:
            target = named.matched
            if (
                best
                and best.target != target
                and best.probability
                >= self._overrule(target, best.target, named.score, len(prediction.words))
            ):
                if best.target != self._nothing:
                    target = best.target
                elif named.score < EXACT or target in self._menus:  # "on se voit": voiture?
                    return Understood(())
            return self._decided(target, prediction.followup, target != named.matched)
        if best and best.target == self._nothing:  # small talk, a message sent by mistake
            return Understood(named.targets)  # "which one?" between two names, or nothing
        if best and (
            best.probability >= SURE
            or (best.probability >= LEAN and best.probability >= RATIO * second)
        ):
            return self._decided(best.target, prediction.followup, by_model=True)
        if named.ambiguous:
            return Understood(named.targets)
        if (
            best
            and second >= SECOND
            and best.probability + second >= PAIR
            and ranked[1].target != self._nothing
        ):
            pair = (best.target, ranked[1].target)
            # Part of a name of one of the two ("titre" of "titre de séjour") decides.
            partly = dict(self.matcher.rank(text))
            named_too = [t for t in pair if partly.get(t, 0.0) >= PARTLY_NAMED]
            if len(named_too) == 1:
                return self._decided(named_too[0], prediction.followup, by_model=True)
            return Understood(pair, by_model=True)
        return Understood(())

    def _overrule(self, named: str, best: str, score: float, words: int) -> float:
        """How sure the model must be of `best` (in a message of `words` words) to
        overrule the place `named`."""
        described = words >= DESCRIBED
        if named in self._menus and best in self._covers.get(named, ()):
            return OVER_IN_DESCRIPTION if described else OVER_BELOW
        if named == PERSON and score >= EXACT:
            return OVER_PERSON
        if named in self._menus or named.startswith("@"):
            return OVER_IN_DESCRIPTION if described else OVER_BROAD
        return OVER_EXACT if score >= EXACT else OVER_FUZZY

    def _decided(self, target: str, followup: float, by_model: bool = False) -> Understood:
        is_followup = followup >= FOLLOWUP and target in self._followups
        return Understood((target,), followup=is_followup, by_model=by_model)

    def top(self, text: str, count: int = 3) -> tuple[list[Candidate], float]:
        """The `count` best places with their scores and the words behind them, and the
        probability of a follow-up (for `relais try` and the dashboard's simulator)."""
        keyword = dict(self.matcher.rank(text))
        ranked, followup = self.model.rank(text, count + 1) if self.model else ([], 0.0)
        ranked = [s for s in ranked if s.target != self._nothing]  # not a place
        probability = {s.target: s.probability for s in ranked}
        order = list(dict.fromkeys([s.target for s in ranked[:count]] + list(keyword)[:count]))
        order.sort(key=lambda t: (-probability.get(t, 0.0), -keyword.get(t, 0.0)))
        return [
            Candidate(
                t,
                probability.get(t, 0.0),
                keyword.get(t, 0.0),
                tuple(self.model.explain(text, t)) if self.model else (),
            )
            for t in order[:count]
        ], followup
