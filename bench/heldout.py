"""The held-out list of misspelt and oral-style first messages, and how well a matcher
does on it. Shared by tests/test_matching_heldout.py and bench/matching.py."""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dialogues.engine import Engine, catalogue_phrases, person_places
from dialogues.model import Content

HELDOUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "heldout_messages_fr.tsv"


def load_heldout(path: Path = HELDOUT) -> list[tuple[str, str]]:
    lines = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    rows = list(csv.reader(lines[1:], delimiter="\t", quoting=csv.QUOTE_NONE))
    return [(message, expected) for message, expected in rows]


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
    none. Places are node ids; a hand-off to a person counts as the node it stands for."""
    same = person_places(content)
    top1 = decided = misrouted = asked = 0
    for message, expected in rows:
        expected = same.get(expected, expected)
        ranked = rank(message)
        top1 += bool(ranked) and ranked[0] == expected
        result = decide(message)
        if len(result) == 1:
            decided += result[0] == expected
            misrouted += result[0] != expected
        asked += len(result) == 2
    return Score(len(rows), top1, decided, misrouted, asked)


def relais_score(engine: Engine, rows: list[tuple[str, str]]) -> Score:
    matcher = engine.catalogue_matcher
    return score(
        engine.content,
        lambda m: [t for t, _ in matcher.rank(m)],
        lambda m: matcher.match(m).targets,
        rows,
    )


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
