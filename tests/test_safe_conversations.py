"""Safe and truthful conversations on the real French content, as transcripts of the
engine's turns: danger first, what was understood, people who cannot read, manners, the
three answers about links."""

from __future__ import annotations

import pytest

from dialogues.engine import (
    ALONE,
    HELPED,
    NO_LINK,
    Ask,
    End,
    Engine,
    HandOff,
    Key,
    Say,
    SendProcedure,
    State,
    Text,
    Words,
)
from dialogues.loader import load_content

from .conftest import FRENCH

ENGINE = Engine(load_content(FRENCH))


def talk(channel: str, *inputs: str, autonomy: str | None = None):
    """Start a conversation and feed it inputs: "#5" is key 5, anything else is a text
    (or words heard with a good confidence on the phone). Returns the last state and the
    actions of each turn."""
    state, first = ENGINE.start(channel, autonomy=autonomy)
    turns = [first]
    for value in inputs:
        if value.startswith("#"):
            event = Key(value[1:])
        elif channel == "sms":
            event = Text(value)
        else:
            event = Words(value, 0.95)
        state, actions = ENGINE.step(state, event)
        turns.append(actions)
    return state, turns


def said(actions) -> list[str]:
    return [a.text for a in actions if isinstance(a, Say | Ask)]


def first_line(actions) -> str:
    return said(actions)[0].replace(" ", "")


# -- 1. danger, before anything else ----------------------------------------------------
@pytest.mark.parametrize(
    ("message", "line"),
    [
        ("je pense a me suicider", "3114"),
        ("mon ex me menace de mort", "17"),
        ("on dort dans la voiture avec les enfants", "115"),
        ("ma fille a avalé des produits menager", "15"),
        ("le voisin frappe son fils tous les soirs", "119"),
        ("mon mari me frappe", "3919"),
        ("la cuisine est en feu", "18"),
        ("ça sent le gaz dans tout l'immeuble", "18"),
        ("mon mari est ivre et il casse tout, les enfants pleurent", "17"),
    ],
)
@pytest.mark.parametrize("channel", ["sms", "voice"])
def test_a_danger_gets_its_line_first_then_an_urgent_person(channel, message, line) -> None:
    state, turns = talk(channel, message)
    reply = turns[-1]
    assert line in first_line(reply), said(reply)
    assert not any(isinstance(a, Ask) for a in reply), "no menu after a danger"
    (handoff,) = [a for a in reply if isinstance(a, HandOff)]
    assert handoff.urgent and line.replace(" ", "") in handoff.reason.replace(" ", "")
    assert state.status == "handoff"


@pytest.mark.parametrize(
    "path",
    [
        ["#3", "#2"],  # health and papers > ID papers: a question is open
        ["carte vitale"],  # the question about links is open
    ],
)
def test_a_danger_in_the_middle_of_any_question_comes_first(path) -> None:
    for channel in ("sms", "voice"):
        _, turns = talk(channel, *path, "je veux mourir")
        assert "3114" in first_line(turns[-1])


def test_the_welcome_says_what_to_do_in_danger() -> None:
    _, turns = talk("voice")
    welcome = said(turns[0])[0]
    assert "danger" in welcome and "112" in welcome


def test_ordinary_words_close_to_danger_are_not_danger() -> None:
    for message in (
        "ma carte vitale est morte",
        "je suis mort de rire",
        "la caf me tue",
        "le prix du gaz a encore augmenté ce mois-ci",
        "il y a un feu rouge en panne devant l'école",
        "j'ai eu un accident au feu rouge, il faut remplir le constat",
        "mon fils autiste casse tout dans la maison, je voudrais faire un dossier MDPH",
    ):
        assert ENGINE.danger(message) is None, message


@pytest.mark.parametrize(
    ("message", "danger"),
    [
        ("ça me tape sur les nerfs ce dossier", None),
        ("je suis en danger financièrement", None),
        ("je veux en finir avec mon dossier caf", None),
        # The words of a harmless phrase are out of play; the rest of the message is not.
        ("ça me tape sur les nerfs et il veut me tuer", "threat"),
        ("je veux en finir avec la vie", "suicide"),
        ("mon mari me tape", "violence"),
    ],
)
def test_harmless_phrases_take_their_words_out_of_danger(message, danger) -> None:
    found = ENGINE.danger(message)
    assert (found.id if found else None) == danger, message


def test_the_speech_grammar_hears_danger_words_at_every_question() -> None:
    state, _ = talk("voice", "#2")
    words = ENGINE.expected_words(state)
    assert "me suicider" in words and "dormir dehors" in words


# -- 3. say what was understood ---------------------------------------------------------
@pytest.mark.parametrize("channel", ["sms", "voice"])
def test_the_first_reply_names_what_was_understood(channel) -> None:
    _, turns = talk(channel, "karte vital")
    reply = said(turns[-1])
    assert reply[0] == "J'ai compris : la carte Vitale."
    assert "lien" in reply[1]  # then the question about links


def test_keys_need_no_such_sentence() -> None:
    _, turns = talk("voice", "#3", "#1", "#2")
    assert not any("J'ai compris" in text for text in said(turns[-1]))


# -- 5. people who cannot read ----------------------------------------------------------
def test_on_the_phone_without_a_link_everything_is_said_and_star_says_it_again() -> None:
    procedure = ENGINE.content.procedures["carte_vitale"]
    state, turns = talk("voice", "carte vitale", "#3", "#1", "#*")
    told = said(turns[3])
    assert told[0] == procedure.voice
    for document in procedure.documents:  # the papers one by one
        assert any(document.lower() in sentence.lower() for sentence in told), document
    pairs = "36 46"
    assert sum(pairs in sentence for sentence in told) >= 2  # the line twice, in pairs
    assert "étoile" in told[-2]
    assert said(turns[4]) == told  # "*" says it all again, then the same question
    assert not any(isinstance(a, SendProcedure) for t in turns for a in t)
    assert state.status == "active"


def test_a_texter_who_cannot_read_is_offered_a_call_not_more_text() -> None:
    state, turns = talk("sms", "bonjour je sais pas lire")
    reply = turns[-1]
    (handoff,) = [a for a in reply if isinstance(a, HandOff)]
    assert "lire" in handoff.reason
    assert state.autonomy == NO_LINK and state.status == "handoff"
    assert not any(isinstance(a, Ask) for a in reply)


def test_a_caller_who_cannot_read_hears_everything() -> None:
    state, turns = talk("voice", "je sais pas lire", "carte vitale")
    assert said(turns[1])[0] == "D'accord. Je vous dis tout au téléphone."
    assert state.autonomy == NO_LINK
    assert "d'autres façons" in " ".join(said(turns[2]))  # no question about links


# -- 6. manners -------------------------------------------------------------------------
@pytest.mark.parametrize("message", ["merci", "Merci beaucoup !", "au revoir"])
def test_thanks_and_goodbye_close_politely(message) -> None:
    for path in ([], ["caf"]):
        state, turns = talk("sms", *path, message)
        reply = turns[-1]
        assert said(reply) == ["Merci à vous. Au revoir."]
        assert isinstance(reply[-1], End) and state.status == "ended"


def test_naming_another_subject_while_a_question_is_open_moves_to_it() -> None:
    state, turns = talk("sms", "karte vital", "caf")
    assert state.node == "caf" and state.pending is None
    assert "caisse d'allocations familiales" in " ".join(said(turns[-1]))


def test_pardon_alone_repeats_and_inside_a_sentence_is_only_polite() -> None:
    state, turns = talk("sms", "caf", "pardon")
    assert state.node == "caf" and said(turns[-1]) == said(turns[1])
    state, turns = talk("sms", "pardon je veux le rsa")
    assert said(turns[-1])[0] == "J'ai compris : le RSA, le revenu de solidarité active."


# -- 7. the three answers about links ---------------------------------------------------
def test_alone_gets_the_link() -> None:
    _, turns = talk("sms", "rsa", "1")
    assert any(isinstance(a, SendProcedure) for a in turns[-1])


def test_with_help_gets_the_link_and_where_to_find_help() -> None:
    state, turns = talk("sms", "rsa", "2")
    assert state.autonomy == HELPED
    assert any(isinstance(a, SendProcedure) for a in turns[-1])
    assert any("France Services" in text for text in said(turns[-1]))


def test_no_link_gets_other_ways_and_the_answer_is_kept() -> None:
    state, turns = talk("sms", "rsa", "non")
    assert state.autonomy == NO_LINK
    assert not any(isinstance(a, SendProcedure) for a in turns[-1])
    state, turns = talk("sms", "rsa", autonomy=ALONE)  # a later contact: not asked again
    assert any(isinstance(a, SendProcedure) for a in turns[-1])


def test_an_answer_given_before_three_answers_existed_still_counts() -> None:
    state, _ = talk("sms")
    old = {**state.to_dict(), "autonomy": False}
    assert State.from_dict(old).autonomy == NO_LINK


# -- 9. help places ---------------------------------------------------------------------
def test_without_places_a_national_way_to_find_help() -> None:
    _, turns = talk("sms", "rsa", "non", "2")
    assert "france-services.gouv.fr" in " ".join(said(turns[-1]))
