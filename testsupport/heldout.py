"""The held-out lists (first messages misspelt or oral-style, danger and ordinary
messages), their loaders, and how well a matcher does on them. Shared by the tests
(test_matching_heldout, test_understanding, test_danger_heldout) and bench/matching.py."""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dialogues.engine import (
    Ask,
    Engine,
    HandOff,
    Say,
    Text,
    Words,
    catalogue_phrases,
    person_places,
)
from dialogues.model import Content
from dialogues.texted import FOLLOWUP_SUFFIX  # the lists and the texted messages write it alike

MENU = "@menu"  # the global command back to the main menu
ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "tests" / "data" / "heldout_messages_fr.tsv"


def load_heldout(path: Path = HELDOUT) -> list[tuple[str, str]]:
    return [(message, expected) for message, expected in _table(path)]


@dataclass(frozen=True)
class Score:
    total: int
    top1: int  # the first-ranked place is the expected one
    decided: int  # a clear match, and the right one
    misrouted: int  # a clear match to the wrong place (no question asked)
    asked: int  # "which one?" between two places

    def rate(self, count: int) -> float:
        return count / self.total


def score(
    content: Content,
    rank: Callable[[str], list[str]],
    decide: Callable[[str], tuple[str, ...]],
    rows: list[tuple[str, str]],
) -> Score:
    """`rank` gives places best first; `decide` one place (a match), two (which one?) or
    none. Places are node ids; a hand-off to a person counts as the node it stands for;
    the main menu is expected when nothing is understood (Relais shows it) or "menu"."""
    same = person_places(content)
    top1 = decided = misrouted = asked = 0
    for message, expected in rows:
        expected = same.get(expected, expected)
        result = decide(message)
        if expected == content.start:  # the main menu: nothing understood, or "menu"
            right = result in ((), (MENU,))
            top1 += right
            decided += right
            misrouted += len(result) == 1 and not right
            asked += len(result) == 2
            continue
        ranked = rank(message)
        top1 += bool(ranked) and ranked[0] == expected
        if len(result) == 1:
            decided += result[0] == expected
            misrouted += result[0] != expected
        asked += len(result) == 2
    return Score(len(rows), top1, decided, misrouted, asked)


def matcher_score(engine: Engine, rows: list[tuple[str, str]]) -> Score:
    """The keyword matcher alone (sound spelling and rapidfuzz): Relais before issue 14."""
    matcher = engine.catalogue_matcher
    return score(
        engine.content,
        lambda m: [t for t, _ in matcher.rank(m)],
        lambda m: matcher.match(m).targets,
        rows,
    )


def relais_score(engine: Engine, rows: list[tuple[str, str]]) -> Score:
    """Relais's understanding of a first message: keywords, then the model trained on the
    content's examples. A follow-up is written "<place>/suivi", as in the held-out lists."""
    understanding = engine.understanding

    def decide(message: str) -> tuple[str, ...]:
        found = understanding.understand(message)
        return tuple(t + FOLLOWUP_SUFFIX * found.followup for t in found.targets)

    def rank(message: str) -> list[str]:
        decided = decide(message)
        if decided:
            return list(decided)
        candidates, _ = understanding.top(message, 1)
        return [c.target for c in candidates]

    return score(engine.content, rank, decide, rows)


# -- the understanding lists (issue 14): message, expected place, kind --------------------

UNDERSTANDING = HELDOUT.parent / "heldout_understanding_fr.tsv"
UNDERSTANDING_FRESH = ROOT / "bench" / "data" / "understanding_fresh_fr.tsv"
KINDS = ("situation", "followup", "letters", "named", "person")


def load_understanding(path: Path = UNDERSTANDING) -> list[tuple[str, str, str]]:
    """(message, expected, kind) rows; a file of two columns has the kind "named"."""
    rows = []
    for row in _table(path):
        message, expected, kind = (*row, "named") if len(row) == 2 else row
        rows.append((message, expected, kind))
    return rows


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return " ".join(
        re.findall(r"[a-z0-9]+", "".join(c for c in text if not unicodedata.combining(c)))
    )


def keyword_score(content: Content, rows: list[tuple[str, str]]) -> Score:
    """What simple keyword triggers do: a place whose keyword appears, as whole words, in
    the message (case and accents ignored, no spelling tolerance); the longest keyword
    found wins, several places with keywords of that length are a "which one?"."""
    same = person_places(content)
    keywords = [
        (f" {_plain(text)} ", same.get(target, target))
        for text, target, *_ in catalogue_phrases(content)
        if _plain(text)
    ]

    def found(message: str) -> list[tuple[int, str]]:
        padded = f" {_plain(message)} "
        hits = sorted({(len(k), t) for k, t in keywords if k in padded}, reverse=True)
        return hits

    def rank(message: str) -> list[str]:
        return [t for _, t in found(message)]

    def decide(message: str) -> tuple[str, ...]:
        hits = found(message)
        if not hits:
            return ()
        best = [t for length, t in hits if length == hits[0][0]]
        return tuple(dict.fromkeys(best))[:2]

    return score(content, rank, decide, rows)


# -- the danger route (issue 13): held-out danger and ordinary messages ------------------

DANGER = HELDOUT.parent / "heldout_danger_fr.tsv"
ORDINARY = HELDOUT.parent / "heldout_ordinary_fr.tsv"

# The first acceptable line of a danger message names its situation.
SITUATIONS = {
    "3114": "suicide",
    "3919": "violence against women",
    "115": "no shelter tonight",
    "119": "child in danger",
    "17": "immediate danger",
    "15": "medical emergency",
    "114": "cannot speak or hear",
    "18": "fire",
}


@dataclass(frozen=True)
class DangerRow:
    message: str
    lines: tuple[str, ...]  # acceptable emergency lines, the first names the situation
    kind: str  # "sms" or "spoken"

    @property
    def situation(self) -> str:
        return SITUATIONS[self.lines[0]]


def _table(path: Path) -> list[list[str]]:
    """The rows of a tab-separated file whose comment lines start with "#", without its
    header line."""
    lines = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    return list(csv.reader(lines[1:], delimiter="\t", quoting=csv.QUOTE_NONE))


def load_danger(path: Path = DANGER) -> list[DangerRow]:
    rows = [
        DangerRow(message, tuple(n.strip() for n in lines.split(",")), kind)
        for message, lines, kind in _table(path)
    ]
    assert all(row.kind in ("sms", "spoken") and row.lines[0] in SITUATIONS for row in rows)
    return rows


def load_ordinary(path: Path = ORDINARY) -> list[str]:
    return [message for (message,) in _table(path)]


def names_line(text: str, lines: tuple[str, ...]) -> bool:
    """Whether `text` gives one of the phone numbers `lines`, written with or without
    spaces between its digits ("31 14" is 3114), and not as part of a longer number (3114
    does not give 114)."""
    digits = re.sub(r"(?<=\d)[\s\u00a0\u202f.]+(?=\d)", "", text)
    return any(re.search(rf"(?<!\d){line}(?!\d)", digits) for line in lines)


@dataclass(frozen=True)
class DangerOutcome:
    row: DangerRow
    found: str | None  # what engine.danger said: "<id> <lines>", or None
    recognised: bool  # engine.danger found a danger with one of the acceptable lines
    reply: str  # the text of the first Say or Ask of the first reply
    in_reply: bool  # that text gives one of the acceptable lines
    urgent: bool  # an urgent hand-off is among the first reply's actions

    @property
    def ok(self) -> bool:
        return self.in_reply and self.urgent

    def describe(self) -> str:
        why = [
            what
            for what, bad in (
                ("engine.danger: " + str(self.found), not self.recognised),
                ("line not in the first reply", not self.in_reply),
                ("no urgent hand-off", not self.urgent),
            )
            if bad
        ]
        return (
            f"[{self.row.situation}, {self.row.kind}, wants {'/'.join(self.row.lines)}] "
            f"{self.row.message!r}: {'; '.join(why)}; first reply: {self.reply!r}"
        )


def danger_outcome(engine: Engine, row: DangerRow) -> DangerOutcome:
    """What Relais does with a danger message sent as the very first message (an SMS) or
    said as the very first answer of a call (recognised with confidence 0.9)."""
    danger = engine.danger(row.message)
    found = None if danger is None else f"{danger.id} {','.join(danger.lines)}"
    recognised = danger is not None and bool(set(danger.lines) & set(row.lines))
    if row.kind == "spoken":
        state, _ = engine.start("voice")
        _, actions = engine.step(state, Words(row.message, 0.9))
    else:
        state, _ = engine.start("sms")
        _, actions = engine.step(state, Text(row.message))
    reply = next((a.text for a in actions if isinstance(a, (Say, Ask))), "")
    urgent = any(isinstance(a, HandOff) and a.urgent for a in actions)
    return DangerOutcome(row, found, recognised, reply, names_line(reply, row.lines), urgent)


def false_alarms(engine: Engine, messages: list[str]) -> list[tuple[str, str]]:
    """The ordinary messages engine.danger takes as a danger, with what it found."""
    found = ((message, engine.danger(message)) for message in messages)
    return [(m, f"{d.id} {','.join(d.lines)}") for m, d in found if d is not None]
