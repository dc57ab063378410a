"""No internal id ever reaches a person: every question of every node, every "which one?"
between two places, every engine question, and random walks through the dialogue, on both
channels, say and write only content words."""

from __future__ import annotations

import itertools
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialogues.engine import (
    ALONE,
    HELPED,
    NO_LINK,
    Ask,
    Engine,
    Key,
    NoInput,
    Pending,
    Question,
    Say,
    State,
    Text,
    Words,
    catalogue_phrases,
)
from dialogues.loader import load_content

from .conftest import FRENCH

ENGINE = Engine(load_content(FRENCH))
CONTENT = ENGINE.content
CHANNELS = ("sms", "voice")
# An id as the content writes them ("caf_rsa", "@human", "{label}"), or a bare node id
# standing alone on a menu line ("2 : ameli_compte").
INTERNAL = re.compile(r"@\w|\{|\}|\b[a-z0-9]+_[a-z0-9_]+\b")


def texts(actions) -> list[str]:
    return [a.text for a in actions if isinstance(a, Say | Ask)]


def assert_clean(actions, where: str) -> None:
    for text in texts(actions):
        found = INTERNAL.search(text)
        assert found is None, f"{where}: {found.group(0)!r} in {text!r}"
        for line in text.splitlines():  # "2 : caf" would be a node id shown as a label
            label = line.split(" : ", 1)[-1].strip()
            assert label not in CONTENT.nodes or label in _LABEL_WORDS, f"{where}: {line!r}"


# Node ids that are also the words of a label ("humain" is not one).
_LABEL_WORDS = {ENGINE.label(t) for t in CONTENT.nodes if ENGINE.label(t) != t}


def state_at(channel: str, node: str, **fields) -> State:
    return State(CONTENT.lang, CONTENT.version, channel, node, **fields)


def test_every_place_a_person_may_be_offered_has_a_label() -> None:
    assert ENGINE.unlabelled() == []


def test_every_question_first_simpler_and_with_a_person_has_no_internal_id() -> None:
    for channel, node in itertools.product(CHANNELS, CONTENT.nodes.values()):
        if node.type != "question":
            continue
        state = state_at(channel, node.id)
        for tries in range(3):
            state, actions = ENGINE.step(state, NoInput() if tries else Key("*"))
            assert_clean(actions, f"{channel} {node.id} try {tries}")


def test_every_which_one_between_two_places_has_no_internal_id() -> None:
    targets = sorted({ENGINE._people.get(p[1], p[1]) for p in catalogue_phrases(CONTENT)})
    targets += ["@human", "@repeat", "@back", "@menu"]
    for channel in CHANNELS:
        for first, second in itertools.combinations(targets, 2):
            pending = Pending(Question.WHICH, targets=(first, second))
            state = state_at(channel, CONTENT.start, pending=pending)
            _, actions = ENGINE.step(state, Key("*"))  # the question said again
            assert_clean(actions, f"{channel} which {first}/{second}")
            (ask,) = [a for a in actions if isinstance(a, Ask)]
            assert ENGINE.label(first) in ask.text and ENGINE.label(second) in ask.text


def test_every_procedure_for_every_answer_about_links_has_no_internal_id() -> None:
    for channel, node in itertools.product(CHANNELS, CONTENT.nodes.values()):
        if node.type != "procedure":
            continue
        for autonomy, can_sms in [(None, True), (ALONE, True), (HELPED, True), (ALONE, False)]:
            state = state_at(channel, CONTENT.start, autonomy=autonomy, can_sms=can_sms)
            state.pending = Pending(Question.WHICH, targets=(node.id, "@human"))
            state, actions = ENGINE.step(state, Key("1"))
            assert_clean(actions, f"{channel} {node.id} {autonomy} {can_sms}")
        state = state_at(channel, CONTENT.start, autonomy=NO_LINK)
        state.pending = Pending(Question.WHICH, targets=(node.id, "@human"))
        state, actions = ENGINE.step(state, Key("1"))
        for key in ("1", "*", "2"):  # every way without a link, and "*" again
            _, told = ENGINE.step(state, Key(key))
            assert_clean(told, f"{channel} {node.id} no link, key {key}")


WORDS = sorted(
    {p[0] for p in catalogue_phrases(CONTENT)}
    | {w for c in CONTENT.commands.values() for w in (*c.words, *c.alone)}
    | set(CONTENT.answers["yes"] + CONTENT.answers["no"])
    | {"n'importe quoi", "12", "0612345678", "", "merci", "je sais pas lire"}
)
INPUTS = st.one_of(
    st.sampled_from("0123456789*#").map(Key),
    st.sampled_from(WORDS).map(Text),
    st.sampled_from(WORDS).map(lambda w: Words(w, 0.7)),
    st.just(NoInput()),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(channel=st.sampled_from(CHANNELS), inputs=st.lists(INPUTS, max_size=12))
def test_random_conversations_never_show_an_internal_id(channel, inputs) -> None:
    state, actions = ENGINE.start(channel)
    assert_clean(actions, "start")
    for event in inputs:
        if isinstance(event, Words) and channel == "sms":
            event = Text(event.text)
        state, actions = ENGINE.step(state, event)
        assert_clean(actions, f"{channel} after {event!r}")
