"""The runtime, in-process: each action of a turn is applied once, by the handler of its
type (a new action type cannot be left without one); a hand-off's live side after the
turn; a texter's stop and start. The end-to-end tests drive the same code over HTTP."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from types import SimpleNamespace
from typing import get_args

import pytest
from flask import Flask
from sqlalchemy import func, select

from core.models import CallbackRequest, Mediator, OutboundMessage, Person
from core.settings import load_settings
from core.web import Services, services
from dialogues.engine import Action, Ask, End, HandOff, Say, SendProcedure
from mediation.requests import Status
from mediation.roster import add_mediator
from relais.app import create_app
from runtime import effects, live_handoff, opt_out

MOBILE = "+33612345678"


def test_every_action_type_has_its_handler() -> None:
    assert set(effects.HANDLERS) == set(get_args(Action))


def test_each_action_is_applied_once_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    applied: list[object] = []

    def handler(app, engine, conversation, action):
        applied.append(action)
        return f"handover of {action.topic}" if isinstance(action, HandOff) else None

    monkeypatch.setattr(effects, "HANDLERS", dict.fromkeys(effects.HANDLERS, handler))
    app = SimpleNamespace(speaking=lambda lang: SimpleNamespace(engine="engine"))
    actions: list[Action] = [
        Say("Bonjour."),
        SendProcedure("impots"),
        HandOff("humain", "demande une personne"),
        Ask("accueil", "Tapez 1.", ("1",)),
        End("completed"),
    ]
    conversation = SimpleNamespace(state={"lang": "fr"})
    assert effects.apply(app, conversation, actions) == "handover of humain"
    assert applied == actions


@pytest.fixture(scope="module")
def flask_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    data = tmp_path_factory.mktemp("data")
    return create_app(load_settings({"RELAIS_DATA_DIR": str(data), "RELAIS_RENDER_PROMPTS": "0"}))


@pytest.fixture
def app(flask_app: Flask) -> Iterator[Flask]:
    """One app for the module (its content loads once); each test in a request of its own."""
    with flask_app.test_request_context():
        yield flask_app


PHONES = (f"+3361{n:07d}" for n in itertools.count())


def _conversation(relais: Services, channel: str):
    person = Person(phone=next(PHONES))
    relais.session.add(person)
    relais.session.flush()
    state, _ = relais.engine.start(channel)
    return relais.store.start(person, channel, state)


def _count(relais: Services, model: type) -> int:
    return relais.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(("channel", "sent"), [("voice", 1), ("sms", 0)])
def test_a_procedure_is_sent_by_sms_after_a_call_only(app: Flask, channel: str, sent: int) -> None:
    relais = services()
    conversation, before = _conversation(relais, channel), _count(relais, OutboundMessage)
    assert effects.apply(relais, conversation, [SendProcedure("impots")]) is None
    assert _count(relais, OutboundMessage) == before + sent  # a text's reply carries it


def test_a_hand_off_opens_one_callback_request(app: Flask) -> None:
    relais = services()
    conversation, before = _conversation(relais, "sms"), _count(relais, CallbackRequest)
    handoff = HandOff("humain", "demande une personne")
    handover = effects.apply(relais, conversation, [Say("Bien."), handoff, End("completed")])
    assert handover is not None and not handover.ring
    request = relais.session.get(CallbackRequest, handover.request_id)
    assert request is not None and request.reason == "demande une personne"
    assert _count(relais, CallbackRequest) == before + 1


def _mediator(relais: Services, active: bool = True) -> Mediator:
    phone = next(PHONES)
    mediator = add_mediator(relais.session, phone, phone, "un mot de passe", [], [])
    mediator.active = active
    return mediator


def _callback_request(relais: Services) -> CallbackRequest:
    conversation = _conversation(relais, "voice")
    handover = effects.apply(relais, conversation, [HandOff("humain", "demande une personne")])
    assert handover is not None
    return relais.session.get(CallbackRequest, handover.request_id)


def test_a_call_taken_live_closes_its_request_when_the_ring_ends(app: Flask) -> None:
    relais = services()
    amina = _mediator(relais)
    callback = _callback_request(relais)
    live_handoff.taken_live(relais, callback, amina, "CA1", "<Response />")
    live_handoff.taken_live(relais, callback, amina, "CA1", "<Response />")  # sent again
    assert callback.status == Status.IN_PROGRESS and callback.taken_by == amina.id
    assert callback.notes.count("\n") == 0  # taken once
    assert live_handoff.dial_ended(relais, callback, "CA1", [amina.id]) is None
    assert callback.status == Status.CLOSED


def test_a_ring_not_taken_rings_the_next_mediators_still_active(app: Flask) -> None:
    relais = services()
    amina, gone, bilal = (
        _mediator(relais),
        _mediator(relais, active=False),
        _mediator(relais),
    )
    callback = _callback_request(relais)
    handover = live_handoff.dial_ended(relais, callback, "CA2", [gone.id, bilal.id, 999])
    assert handover is not None and handover.ring == (bilal,) and handover.promise == ""
    assert amina not in handover.ring and callback.status == Status.NEW


def test_after_the_last_mediator_the_caller_leaves_a_message(app: Flask) -> None:
    relais = services()
    _mediator(relais)
    callback = _callback_request(relais)
    sent = _count(relais, OutboundMessage)
    handover = live_handoff.dial_ended(relais, callback, "", [])
    assert handover is not None and handover.ring == () and handover.searching
    assert "rappellera" in handover.promise
    assert _count(relais, OutboundMessage) == sent + 1  # the confirmation by SMS
    live_handoff.voicemail_left(relais, callback, "https://api.twilio.com/R1")
    live_handoff.voicemail_left(relais, callback, "https://api.twilio.com/R2")  # no second
    assert callback.voicemail_ref == "https://api.twilio.com/R1"


def test_a_stop_is_confirmed_once_and_only_for_relais_own_words() -> None:
    person = Person(phone=MOBILE, opted_out=False)
    assert opt_out.stop(person, by_twilio=False) and person.opted_out
    assert not opt_out.stop(person, by_twilio=False)  # stopped already: said once
    opt_out.start(person)
    assert not person.opted_out
    assert not opt_out.stop(person, by_twilio=True)  # Twilio answered its own word
    assert person.opted_out
