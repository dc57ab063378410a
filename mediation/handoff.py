"""Handing a person over to a mediator: a callback request with its summary, who can take
it now, and the confirmation SMS."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialogues.engine import Engine, HandOff
from relais.jobs import submit
from relais.models import CallbackRequest, Mediator, Turn, now
from relais.outbound import send_sms
from relais.phones import can_receive_sms
from relais.settings import Settings
from relais.store import Exchange

from .summary import summarise

MAX_DIALLED = 5  # mediators rung at once for one call


def open_request(
    session: Session, engine: Engine, conversation: Exchange, handoff: HandOff
) -> CallbackRequest:
    turns = list(
        session.scalars(
            select(Turn).where(Turn.conversation_id == conversation.id).order_by(Turn.id)
        )
    )
    request = CallbackRequest(
        person_id=conversation.person_id,
        conversation_id=conversation.id,
        topic=handoff.topic,
        reason=handoff.reason,
        summary=summarise(engine, conversation, turns, handoff.reason),
        priority=1 if conversation.channel == "voice" else 0,
    )
    session.add(request)
    session.flush()
    submit(session, "summary_audio", {"callback_id": request.id})  # for the dashboard
    return request


def available_mediators(
    session: Session, settings: Settings, topic: str, lang: str, at: datetime | None = None
) -> list[Mediator]:
    """The mediators to ring now for this topic and language (none out of hours)."""
    if not settings.hours.is_open(at or now()):
        return []
    found = []
    for mediator in session.scalars(
        select(Mediator).where(Mediator.active.is_(True)).order_by(Mediator.id)
    ):
        if (not mediator.topics or topic in mediator.topics or topic == "humain") and (
            not mediator.languages or lang in mediator.languages
        ):
            found.append(mediator)
    return found[:MAX_DIALLED]


def confirm_by_sms(
    session: Session, settings: Settings, engine: Engine, request: CallbackRequest
) -> None:
    """The SMS that says the request is recorded, to a mobile that has not opted out."""
    person = request.person
    if can_receive_sms(person.phone):
        when = settings.hours.when_fr(now())
        send_sms(
            session,
            settings,
            person,
            person.phone,
            engine.content.phrase("callback_sms", when=when),
            request.conversation_id,
        )
