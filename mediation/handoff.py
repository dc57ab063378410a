"""Handing a person over to a mediator: a callback request with its summary (statuses and
queue: requests.py), who can take it now, what the person is told (a callback only when a
mediator exists to make it), the confirmation SMS, and the alert to the mediators on duty
when the person is in danger."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from core.jobs import submit
from core.models import CallbackRequest, Mediator, Person, Turn, now
from core.outbound import send_sms
from core.phones import can_receive_sms
from core.settings import Settings
from core.store import Exchange
from dialogues.engine import Engine, HandOff, place_text
from dialogues.model import ANY_TOPIC, Content

from .requests import OPEN, URGENT, add_note
from .summary import summarise
from .when import callback_when
from .words import load_words

log = logging.getLogger(__name__)

MAX_RUNG = 3  # mediators rung one after the other for one call (about 30 s each)


def open_request(
    session: Session,
    engine: Engine,
    conversation: Exchange,
    handoff: HandOff,
    settings: Settings | None = None,
) -> CallbackRequest:
    """The callback request for this hand-off. An urgent one (a danger) comes first in
    every queue, and the mediators on duty get an SMS alert (`settings` says how SMS are
    sent; without it, those of the running app)."""
    turns = list(
        session.scalars(
            select(Turn).where(Turn.conversation_id == conversation.id).order_by(Turn.id)
        )
    )
    priority = 1 if conversation.channel == "voice" else 0
    if handoff.urgent:
        priority = URGENT
    summary = summarise(engine, conversation, turns, handoff.reason)
    waiting = session.scalar(
        select(CallbackRequest)
        .where(
            CallbackRequest.person_id == conversation.person_id,
            CallbackRequest.status.in_(OPEN),
        )
        .order_by(CallbackRequest.id.desc())
        .limit(1)
    )
    if waiting is not None:  # one open request per person: the latest ask joins it
        return _renewed(
            session, engine, waiting, conversation, handoff, priority, summary, settings
        )
    request = CallbackRequest(
        person_id=conversation.person_id,
        conversation_id=conversation.id,
        topic=handoff.topic,
        reason=handoff.reason,
        summary=summary,
        priority=priority,
    )
    session.add(request)
    session.flush()
    submit(session, "summary_audio", {"callback_id": request.id})  # for the dashboard
    if handoff.urgent:
        alert_on_duty(session, settings or _app_settings(), engine.content)
    return request


def _renewed(
    session: Session,
    engine: Engine,
    request: CallbackRequest,
    conversation: Exchange,
    handoff: HandOff,
    priority: int,
    summary: str,
    settings: Settings | None,
) -> CallbackRequest:
    """A person who asks again while their request waits: the same request, with the
    latest conversation and summary, the earlier reason kept in the notes, and urgent if
    the new ask is (the mediators on duty are alerted when it becomes so)."""
    became_urgent = priority >= URGENT > request.priority
    words = load_words((settings or _app_settings()).content_dir)
    add_note(request, words("notes", "previous", reason=request.reason), stamped=True)
    request.reason, request.summary = handoff.reason, summary
    request.conversation_id = conversation.id
    request.priority = max(request.priority, priority)
    if became_urgent:
        request.topic = handoff.topic
    request.updated_at = now()
    session.flush()
    submit(session, "summary_audio", {"callback_id": request.id})
    if became_urgent:
        alert_on_duty(session, settings or _app_settings(), engine.content)
    return request


def _app_settings() -> Settings:
    from flask import current_app

    return current_app.config["RELAIS"]


def alert_on_duty(
    session: Session, settings: Settings, content: Content, at: datetime | None = None
) -> list[Mediator]:
    """An SMS to every active mediator on duty now, whatever their topics and languages:
    a person in danger waits. The SMS names nobody (no personal data leaves by SMS): the
    mediator opens the dashboard. Out of opening hours nobody is texted (mediators are not
    woken at night); the request still waits first in the queue, and the person has already
    been given the emergency line."""
    if not settings.hours.is_open(at or now()):
        return []
    on_duty = list(
        session.scalars(select(Mediator).where(Mediator.active.is_(True)).order_by(Mediator.id))
    )
    text = content.phrase("urgent_alert")
    alerted = []
    for mediator in on_duty:
        if not can_receive_sms(mediator.phone):  # a landline: the dashboard will show it
            continue
        # A mediator is not one of the people Relais serves: no row in `people` is made for
        # them, but a number that opted out (STOP) stays opted out.
        person = session.scalar(select(Person).where(Person.phone == mediator.phone))
        person = person or Person(phone=mediator.phone, opted_out=False)
        if send_sms(session, settings, person, mediator.phone, text, capped=False) is not None:
            alerted.append(mediator)
    log.info("urgent request: %d mediator(s) alerted by SMS", len(alerted))
    return alerted


def has_mediators(session: Session) -> bool:
    """Is at least one active mediator registered (someone who can call back)?"""
    return bool(session.scalar(select(exists().where(Mediator.active.is_(True)))))


def callback_promise(
    session: Session, settings: Settings, content: Content, at: datetime, channel: str = "sms"
) -> str:
    """What a person is told about being called back: when, if a mediator is registered
    ("lundi 5 janvier à partir de 9 heures"); otherwise (nobody would ever call) the truth,
    and where to find help instead. `channel` is "sms" or "voice"."""
    if has_mediators(session):
        return content.phrase("callback", when=callback_when(content, settings.hours, at))
    return f"{content.phrase('no_mediator')} {place_text(content, None, channel)}"


def take_a_message(
    session: Session, settings: Settings, engine: Engine, request: CallbackRequest, on_call: bool
) -> str:
    """Nobody takes the person now: what they are told about being called back (with no
    mediator registered, where to find help instead); after a call, the same by SMS."""
    promise = callback_promise(
        session, settings, engine.content, now(), "voice" if on_call else "sms"
    )
    if on_call:
        confirm_by_sms(session, settings, engine, request)
    return promise


def callback_texts(settings: Settings, content: Content, at: datetime, days: int = 14) -> list[str]:
    """Every "you will be called back ..." a caller may hear in the coming `days` (a quarter
    of an hour apart), to render in advance: said by Twilio between two rendered prompts,
    the voice would change in the middle of a sentence."""
    moments = (at + timedelta(minutes=15 * step) for step in range(days * 24 * 4))
    whens = dict.fromkeys(callback_when(content, settings.hours, moment) for moment in moments)
    return [content.phrase("callback", when=when) for when in whens]


def available_mediators(
    session: Session,
    settings: Settings,
    topic: str,
    lang: str,
    turn: int = 0,
    at: datetime | None = None,
) -> list[Mediator]:
    """The mediators to ring now for this topic and language, in the order to ring them
    (none out of hours). The order turns with `turn` (the conversation's id): from one
    call to the next, each mediator is rung first in turn, so that calls are shared and a
    phone that is off does not delay every caller."""
    if not settings.hours.is_open(at or now()):
        return []
    found = [
        mediator
        for mediator in session.scalars(
            select(Mediator).where(Mediator.active.is_(True)).order_by(Mediator.id)
        )
        if (not mediator.topics or topic in mediator.topics or topic == ANY_TOPIC)
        and (not mediator.languages or lang in mediator.languages)
    ]
    if not found:
        return []
    first = turn % len(found)
    return (found[first:] + found[:first])[:MAX_RUNG]


def confirm_by_sms(
    session: Session, settings: Settings, engine: Engine, request: CallbackRequest
) -> None:
    """The SMS that says the request is recorded, to a mobile that has not opted out; with
    no mediator to call back, the SMS says so and where to find help."""
    person = request.person
    if not can_receive_sms(person.phone):
        return
    content = engine.content
    if has_mediators(session):
        body = content.phrase("callback_sms", when=callback_when(content, settings.hours, now()))
    else:
        body = f"{content.phrase('no_mediator_sms')} {place_text(content, None, 'sms')}"
    send_sms(session, settings, person, person.phone, body, request.conversation_id)
