"""The dialogue engine on the small test content: every node type, every global command,
re-prompts, hand-offs, state round trips and content reloads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dialogues.engine import (
    ALONE,
    NO_LINK,
    Ask,
    Digits,
    End,
    Engine,
    HandOff,
    HangUp,
    Key,
    NoInput,
    Pending,
    Question,
    Say,
    SendProcedure,
    State,
    Text,
    Words,
)
from dialogues.loader import load_content

from .conftest import make_content


@pytest.fixture
def engine(mini_dir: Path) -> Engine:
    return Engine(load_content(mini_dir))


def run(engine: Engine, state: State, *events):
    """Feed events one by one; return the last state and every action, in order."""
    actions = []
    for event in events:
        state, new = engine.step(state, event)
        actions += new
    return state, actions


def asks(actions) -> list[Ask]:
    return [a for a in actions if isinstance(a, Ask)]


def said(actions) -> str:
    return " ".join(a.text for a in actions if isinstance(a, Say | Ask))


def test_start_asks_the_main_menu_with_keys_and_words(engine: Engine) -> None:
    state, actions = engine.start("voice")
    assert state.node == "menu" and state.status == "active"
    (ask,) = actions
    assert ask.text == (
        "Bonjour. Que voulez-vous ? Pour les papiers, tapez 1. Pour le travail, "
        "tapez 2. Pour parler à quelqu'un, tapez 3."
    )
    assert {"papiers", "travail", "conseiller", "répéter"} <= set(engine.expected_words(state))
    assert set(ask.keys) == {"1", "2", "3", "0", "*"}


def test_sms_questions_are_numbered_lines(engine: Engine) -> None:
    _, (ask,) = engine.start("sms")
    assert ask.text.splitlines() == [
        "Bonjour. Que voulez-vous ?",
        "1 : les papiers",
        "2 : le travail",
        "3 : parler à quelqu'un",
        "Répondez avec le chiffre ou un mot.",
    ]


def test_keys_lead_to_a_procedure_sent_after_the_link_question(engine: Engine) -> None:
    state, _ = engine.start("voice")
    state, actions = run(engine, state, Key("1"), Key("2"))
    assert state.pending == Pending(Question.AUTONOMY) and asks(actions)[-1].node == "autonomy"
    state, actions = engine.step(state, Key("1"))
    assert state.autonomy == ALONE and state.sent == ["passeport"]
    assert SendProcedure("passeport") in actions
    assert "Je vous envoie un SMS" in said(actions)
    assert state.node == "encore"  # after_procedure


def test_autonomy_is_asked_once_and_given_back_by_the_channel(engine: Engine) -> None:
    state, _ = engine.start("sms", autonomy=ALONE)
    state, actions = run(engine, state, Text("1"), Text("1"))
    assert actions[-2:] == [SendProcedure("cni"), *asks(actions)[-1:]]
    assert state.node == "encore" and state.pending is None


def test_message_node_is_said_then_moves_on(engine: Engine) -> None:
    state, _ = engine.start("voice")
    state, actions = engine.step(state, Key("2"))
    assert actions[0] == Say("Pour le travail, c'est France Travail.")
    assert state.node == "travail" and state.topic == "emploi"


def test_procedure_with_its_own_next_and_end_node(engine: Engine) -> None:
    state, _ = engine.start("voice", autonomy=ALONE)
    state, actions = run(engine, state, Key("2"), Key("1"))
    assert SendProcedure("ft_inscription") in actions
    assert actions[-2:] == [Say("Au revoir."), End("completed")]
    assert state.status == "ended"
    after, actions = engine.step(state, Key("1"))  # an ended dialogue stays ended
    assert actions == [] and (after.node, after.status) == ("fin", "ended")


def test_handoff_node(engine: Engine) -> None:
    state, _ = engine.start("voice")
    state, actions = engine.step(state, Key("3"))
    assert actions[-1] == HandOff("humain", "La personne veut parler à quelqu'un.")
    assert state.status == "handoff"


def test_no_link_offers_phone_place_or_human(engine: Engine) -> None:
    state, _ = engine.start("voice", autonomy=NO_LINK)
    state, actions = run(engine, state, Key("1"), Key("1"))
    assert asks(actions)[-1].node == "no_link"
    assert not any(isinstance(a, SendProcedure) for a in actions)
    phone, a1 = engine.step(state, Key("1"))
    told = said(a1)
    assert told.startswith("Vous faites une pré-demande sur internet.") and phone.node == "encore"
    assert "Les papiers à préparer : Une photo. Un justificatif de domicile." in told
    assert "Appelez le 34 00. Le prix : prix d'un appel. Je répète le numéro : 34 00." in told
    _place, a2 = engine.step(state, Key("2"))
    assert a2[0].text.startswith("Allez à la maison France Services de Testville.")
    _human, a3 = engine.step(state, Key("3"))
    assert a3[-1] == HandOff(
        "identite", "La personne ne peut pas ouvrir de lien. Démarche : la carte d'identité."
    )


def test_help_desk_falls_back_when_no_place_fits(engine: Engine) -> None:
    state, _ = engine.start("voice", autonomy=NO_LINK)
    state, _ = run(engine, state, Key("2"), Key("1"), Key("2"))
    assert "maison France Services" in said(_) and "mairie" in said(_)


# -- global commands ------------------------------------------------------------------
def test_repeat_by_star_and_by_word(engine: Engine) -> None:
    state, first = engine.start("voice")
    state, again = engine.step(state, Key("*"))
    assert again == first and state.tries == 0
    state, again = engine.step(state, Words("répéter", 0.95))
    assert again == first


def test_back_returns_to_the_previous_question(engine: Engine) -> None:
    state, _ = engine.start("sms")
    state, _ = engine.step(state, Text("1"))
    assert state.node == "papiers"
    state, actions = engine.step(state, Text("retour"))
    assert state.node == "menu" and asks(actions)[0].node == "menu"
    state, actions = engine.step(state, Text("retour"))  # nothing before the menu
    assert state.node == "menu"


def test_back_leaves_an_engine_question(engine: Engine) -> None:
    state, _ = engine.start("voice")
    state, _ = run(engine, state, Key("1"), Key("1"))
    assert state.pending == Pending(Question.AUTONOMY)
    state, _actions = engine.step(state, Words("retour"))
    assert state.node == "papiers" and state.pending is None


def test_menu_from_anywhere(engine: Engine) -> None:
    state, _ = engine.start("voice")
    state, _ = run(engine, state, Key("2"))
    state, _actions = engine.step(state, Text("accueil"))
    assert state.node == "menu" and state.history == []


@pytest.mark.parametrize("event", [Key("0"), Words("conseiller"), Text("je veux quelqu'un")])
def test_human_from_anywhere(engine: Engine, event) -> None:
    state, _ = engine.start("voice")
    state, _ = engine.step(state, Key("1"))
    state, actions = engine.step(state, event)
    assert actions[-1] == HandOff("identite", "La personne a demandé à parler à quelqu'un.")


# -- re-prompts and escalation --------------------------------------------------------
def test_wrong_key_then_silence_then_mediator(engine: Engine) -> None:
    state, _ = engine.start("voice")
    state, _ = engine.step(state, Key("1"))  # "papiers": no choice leads to a person
    state, first = engine.step(state, Key("7"))
    assert first[0] == Say("Je n'ai pas compris.")
    assert first[1].text == ("Pour la carte d'identité, tapez 1. Pour le passeport, tapez 2.")
    state, second = engine.step(state, NoInput())
    assert second[0] == Say("Je ne vous entends pas.")
    assert second[1].text.endswith("Pour parler à quelqu'un, tapez 0.")
    state, third = engine.step(state, Text("zzz"))
    assert third[-1] == HandOff("identite", "La personne n'a pas réussi à répondre au menu.")
    assert state.status == "handoff"


def test_the_simpler_prompt_of_a_menu(engine: Engine) -> None:
    state, _ = engine.start("voice")
    state, first = engine.step(state, Key("7"))
    assert first[1].text == (
        "Choisissez. Pour les papiers, tapez 1. Pour le travail, tapez 2. "
        "Pour parler à quelqu'un, tapez 3."
    )
    state, second = engine.step(state, Key("7"))  # a person is offered already: not twice
    assert second[1].text == first[1].text


def test_a_good_answer_resets_the_tries(engine: Engine) -> None:
    state, _ = engine.start("voice")
    state, _ = run(engine, state, Key("9"), Key("9"), Key("1"))
    assert state.node == "papiers" and state.tries == 0


# -- understanding words ---------------------------------------------------------------
def test_misspelt_sms_at_the_start_goes_straight_to_the_procedure(engine: Engine) -> None:
    state, _ = engine.start("sms")
    state, _actions = engine.step(state, Text("bjr jveux un pasport svp"))
    assert state.node == "passeport" and state.pending == Pending(Question.AUTONOMY)


def test_two_close_candidates_ask_which_one(engine: Engine) -> None:
    state, _ = engine.start("sms", autonomy=ALONE)
    state, actions = engine.step(state, Text("passeport ou carte d'identité"))
    assert state.pending.kind == Question.WHICH
    assert asks(actions)[-1].text.splitlines()[1:3] == [
        "1 : la carte d'identité",
        "2 : le passeport",
    ]
    state, actions = engine.step(state, Text("2"))
    assert SendProcedure("passeport") in actions


def test_speech_confidence_low_rejected_middle_confirmed_high_accepted(engine: Engine) -> None:
    state, _ = engine.start("voice")
    low, actions = engine.step(state, Words("papiers", 0.3))
    assert low.node == "menu" and actions[0] == Say("Je n'ai pas compris.")
    mid, actions = engine.step(state, Words("papiers", 0.7))
    assert mid.pending.kind == Question.CONFIRM
    assert asks(actions)[0].text.startswith("Vous avez dit : les papiers ?")
    yes, _ = engine.step(mid, Key("1"))
    assert yes.node == "papiers" and yes.pending is None
    no, actions = engine.step(mid, Words("non", 0.9))
    assert no.node == "menu" and no.pending is None and no.tries == 1
    high, _ = engine.step(state, Words("papiers", 0.95))
    assert high.node == "papiers"


def test_hang_up(engine: Engine) -> None:
    state, _ = engine.start("voice")
    state, actions = engine.step(state, HangUp())
    assert actions == [End("hangup")] and state.status == "hangup"


# -- state ------------------------------------------------------------------------------
def test_state_survives_a_json_round_trip_mid_dialogue(engine: Engine) -> None:
    state, _ = engine.start("voice")
    state, _ = run(engine, state, Key("1"), Words("papiers", 0.7))
    restored = State.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored == state
    assert engine.step(restored, Key("2")) == engine.step(state, Key("2"))


def test_step_does_not_change_the_given_state(engine: Engine) -> None:
    state, _ = engine.start("voice")
    state, _ = engine.step(state, Key("1"))
    before = json.dumps(state.to_dict())
    engine.step(state, Key("1"))
    assert json.dumps(state.to_dict()) == before


def test_reload_keeps_a_call_whose_node_still_exists(tmp_path: Path) -> None:
    old = Engine(load_content(make_content(tmp_path / "old")))
    state, _ = old.start("voice")
    state, _ = old.step(state, Key("1"))
    new_content = load_content(
        make_content(
            tmp_path / "new",
            {
                "dialogue.yaml": [
                    ('prompt: "Vos papiers."', 'prompt: "Vos papiers, vos documents."')
                ]
            },
        )
    )
    assert new_content.version != state.version
    new = Engine(new_content)
    state, _actions = new.step(state, Key("2"))
    assert state.node == "passeport" and state.version == new_content.version


def test_reload_with_the_node_gone_apologises_and_goes_to_the_menu(tmp_path: Path) -> None:
    old = Engine(load_content(make_content(tmp_path / "old")))
    state, _ = old.start("voice")
    state, _ = old.step(state, Key("1"))
    new = Engine(
        load_content(
            make_content(
                tmp_path / "new",
                {
                    "dialogue.yaml": [
                        ("goto: papiers", "goto: cni"),
                        (
                            '  papiers:\n    type: question\n    topic: identite\n    prompt: "Vos papiers."\n'
                            "    choices:\n      - key: 1\n        label: la carte d'identité\n"
                            '        words: ["carte d\'identité"]\n        goto: cni\n      - key: 2\n'
                            "        label: le passeport\n        words: [passeport]\n        goto: passeport\n",
                            "",
                        ),
                        ("  passeport:\n    type: procedure\n    procedure: passeport\n", ""),
                    ]
                },
            )
        )
    )
    state, actions = new.step(state, Key("2"))
    assert actions[0] == Say("Excusez-nous. Le service a changé. On reprend au début.")
    assert state.node == "menu" and asks(actions)[0].node == "menu"


def test_landline_caller_types_a_mobile_number_read_back_in_pairs(engine: Engine) -> None:
    state, _ = engine.start("voice", autonomy=ALONE, can_sms=False)
    state, actions = run(engine, state, Key("1"), Key("2"))
    ask = asks(actions)[-1]
    assert ask.number and ask.text.startswith("Votre téléphone ne reçoit pas les SMS.")
    bad, actions = engine.step(state, Digits("0123", valid=False))
    assert bad.pending == Pending(Question.NUMBER) and actions[0] == Say("Je n'ai pas compris.")
    state, actions = engine.step(state, Digits("0612345678", valid=True))
    assert asks(actions)[0].text.startswith("Vous avez tapé le 06 12 34 56 78. C'est bien ça ?")
    wrong, actions = engine.step(state, Key("2"))
    assert wrong.pending == Pending(Question.NUMBER) and asks(actions)[0].number
    state, actions = engine.step(state, Key("1"))
    assert SendProcedure("passeport", "0612345678") in actions and state.sms_to == "0612345678"


def test_landline_caller_can_ask_for_a_person_instead_of_typing(engine: Engine) -> None:
    state, _ = engine.start("voice", autonomy=ALONE, can_sms=False)
    state, _ = run(engine, state, Key("1"), Key("2"))
    state, actions = engine.step(state, Digits("0", valid=False))
    assert isinstance(actions[-1], HandOff) and state.status == "handoff"


def test_a_waiting_question_survives_storage_as_json_and_older_forms() -> None:
    """The state goes to the database as JSON between two webhooks: a "did you say?" on
    top of a "which one?" comes back the same, and so does the form stored before the
    pending question was typed."""
    which = Pending(Question.WHICH, targets=("caf", "impots"))
    state = State("fr", "v1", "sms", "menu", pending=Pending(Question.CONFIRM, "caf", back=which))
    stored = json.loads(json.dumps(state.to_dict()))
    assert State.from_dict(stored) == state
    older = {**stored, "pending": {"kind": "number_confirm", "number": "0612345678"}}
    assert State.from_dict(older).pending == Pending(Question.NUMBER_CONFIRM, number="0612345678")
