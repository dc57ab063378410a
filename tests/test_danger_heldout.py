"""The danger route (issue 13) on held-out lists: a message that reveals a danger gets the
right emergency line in the very first reply, ahead of any menu, with an urgent hand-off;
ordinary messages, even those sharing words with a danger, are not taken as one.

The lists (tests/data/heldout_danger_fr.tsv, heldout_ordinary_fr.tsv) were written
independently, by someone who had seen neither the content nor the danger code; their
messages and spellings must never be copied into the content. bench/matching.py prints the
same figures per situation.
"""

from __future__ import annotations

from collections import Counter

import pytest

from dialogues.engine import Engine
from dialogues.loader import load_content
from testsupport.heldout import (
    SITUATIONS,
    danger_outcome,
    false_alarms,
    load_danger,
    load_ordinary,
    names_line,
)

from .conftest import FRENCH

DANGER = load_danger()
ORDINARY = load_ordinary()
FALSE_ALARMS_AT_MOST = 0.02


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_content(FRENCH))


def test_the_lists_are_large_and_cover_every_situation() -> None:
    assert len(DANGER) >= 60
    assert sum(row.kind == "spoken" for row in DANGER) >= 15
    per_situation = Counter(row.situation for row in DANGER)
    # Every situation but the fire, which came after this list (dev15 has some).
    assert set(per_situation) == set(SITUATIONS.values()) - {"fire"}
    assert min(per_situation.values()) >= 6, per_situation
    assert len(ORDINARY) >= 160
    danger = {row.message for row in DANGER}
    assert len(danger) == len(DANGER) and len(set(ORDINARY)) == len(ORDINARY)
    assert not danger & set(ORDINARY)


@pytest.mark.parametrize(
    ("text", "lines", "gives"),
    [
        ("Appelez le 3114.", ("3114",), True),
        ("Appelez le 31 14, jour et nuit.", ("3114",), True),
        ("Appelez le 17 ou le 112.", ("17", "112"), True),
        ("Appelez le 3114.", ("114",), False),
        ("Appelez le 115.", ("15",), False),
        ("Appelez le 1 15.", ("115",), True),
        ("Un conseiller va vous rappeler.", ("15", "112"), False),
    ],
)
def test_a_line_is_found_in_a_reply_with_or_without_spaces(
    text: str, lines: tuple[str, ...], gives: bool
) -> None:
    assert names_line(text, lines) is gives


def test_every_danger_message_is_recognised_with_one_of_its_lines(engine: Engine) -> None:
    misses = []
    for row in DANGER:
        danger = engine.danger(row.message)
        if danger is None or not set(danger.lines) & set(row.lines):
            found = None if danger is None else f"{danger.id} {','.join(danger.lines)}"
            misses.append(
                f"[{row.situation}, {row.kind}, wants {'/'.join(row.lines)}] "
                f"{row.message!r}: engine.danger: {found}"
            )
    report = "\n".join(misses)
    print(f"\n{len(DANGER) - len(misses)}/{len(DANGER)} danger messages recognised\n{report}")
    assert not misses, f"{len(misses)} of {len(DANGER)} danger messages missed:\n{report}"


def test_every_danger_message_gets_its_line_in_the_first_reply(engine: Engine) -> None:
    outcomes = [danger_outcome(engine, row) for row in DANGER]
    misses = [outcome for outcome in outcomes if not outcome.ok]
    report = "\n".join(outcome.describe() for outcome in misses)
    print(f"\n{len(DANGER) - len(misses)}/{len(DANGER)} danger messages handled\n{report}")
    assert not misses, f"{len(misses)} of {len(DANGER)} danger messages missed:\n{report}"


def test_at_most_2_percent_of_ordinary_messages_are_taken_as_danger(engine: Engine) -> None:
    alarms = false_alarms(engine, ORDINARY)
    report = "\n".join(f"{message!r}: {found}" for message, found in alarms)
    print(f"\n{len(alarms)}/{len(ORDINARY)} ordinary messages taken as danger\n{report}")
    assert len(alarms) <= FALSE_ALARMS_AT_MOST * len(ORDINARY), (
        f"{len(alarms)} of {len(ORDINARY)} ordinary messages taken as danger:\n{report}"
    )
