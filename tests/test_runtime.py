"""The runtime's effects, in-process: each action of a turn is applied once, by the handler
of its type, and a new action type cannot be left without one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import get_args

import pytest
from flask import Flask
from sqlalchemy import func, select

from core.models import CallbackRequest, OutboundMessage, Person
from core.settings import load_settings
from core.web import Services, services
from dialogues.engine import Action, Ask, End, HandOff, Say, SendProcedure
from relais.app import create_app
from runtime import effects

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


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    settings = load_settings(
        {"RELAIS_DATA_DIR": str(tmp_path / "data"), "RELAIS_RENDER_PROMPTS": "0"}
    )
    flask_app = create_app(settings)
    with flask_app.test_request_context():
        yield flask_app


def _conversation(relais: Services, channel: str):
    person = Person(phone=MOBILE)
    relais.session.add(person)
    relais.session.flush()
    state, _ = relais.engine.start(channel)
    return relais.store.start(person, channel, state)


def _count(relais: Services, model: type) -> int:
    return relais.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(("channel", "sent"), [("voice", 1), ("sms", 0)])
def test_a_procedure_is_sent_by_sms_after_a_call_only(app: Flask, channel: str, sent: int) -> None:
    relais = services()
    conversation = _conversation(relais, channel)
    assert effects.apply(relais, conversation, [SendProcedure("impots")]) is None
    assert _count(relais, OutboundMessage) == sent  # a text's reply carries it itself


def test_a_hand_off_opens_one_callback_request(app: Flask) -> None:
    relais = services()
    conversation = _conversation(relais, "sms")
    handoff = HandOff("humain", "demande une personne")
    handover = effects.apply(relais, conversation, [Say("Bien."), handoff, End("completed")])
    assert handover is not None and not handover.ring and not handover.searching
    request = relais.session.get(CallbackRequest, handover.request_id)
    assert request is not None and request.reason == "demande une personne"
    assert _count(relais, CallbackRequest) == 1
