"""Calls Relais places: the missed-call mode's ring-back, and mediators' click-to-call.

Missed-call mode (RELAIS_MISSED_CALL=1): the people Relais serves often have no phone
credit. A call from a French mobile or landline is rejected as busy (`<Reject>`: the
caller pays nothing), and Relais calls the number back a few seconds later through
Twilio's Calls API, with answering-machine detection. The person who answers hears who is
calling and why, then the same dialogue; an answering machine gets one short message on
how to reach Relais, and no dialogue. No answer or busy: up to MAX_TRIES calls, further
and further apart. Caller ID can be forged, so rings while a ring-back is under way are
the same request, a number gets at most one ring-back an hour and
RELAIS_RING_BACKS_PER_DAY a day; beyond that, and for foreign, premium-rate or hidden
numbers, which are never called, the call is answered as usual.

Click-to-call: Relais rings the mediator first and, once they answer and press 1 (so
that their voicemail is never put through), puts them through to the person with
`<Dial>` from the service's number, so the mediator's own number stays private. How it
went (reached, no answer, busy) is written on the callback request.

- POST /voice/outbound?o=ID          the placed call was answered (AnsweredBy: human...)
- POST /voice/outbound/confirm?o=ID  the mediator's key (1: call the person now)
- POST /voice/outbound/status?o=ID   its status callback (no-answer, busy, completed...)
- POST /voice/bridged?o=ID           the <Dial> from the mediator to the person ended
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Blueprint, Response, abort
from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioException
from twilio.twiml.voice_response import VoiceResponse

from relais.jobs import JobContext, Retry, job, submit
from relais.models import CallbackRequest, Mediator, OutboundCall, Person, now
from relais.outbound import retryable, twilio_client
from relais.phones import can_ring_back
from relais.settings import Settings
from relais.signature import twilio_signed
from relais.web import form_text, query_number, services

from .twiml import say_language

blueprint = Blueprint("ring_back", __name__)
log = logging.getLogger(__name__)

RING_BACK_DELAY = 3  # seconds: the caller has hung up and can take the call
RETRY_DELAYS = (120, 600)  # seconds before the 2nd and the 3rd try
MAX_TRIES = 3
ONE_RING_BACK_PER = timedelta(hours=1)  # a number rings again sooner: answered as usual
RING_SECONDS = 25  # how long a placed call rings before it counts as no answer
UNDER_WAY = ("waiting", "calling")
MACHINES = ("machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax")
NOT_REACHED = ("no-answer", "busy", "failed", "canceled")


def take_as_missed(session: Session, settings: Settings, person: Person) -> bool:
    """In missed-call mode, whether this incoming call is rejected (free for the caller)
    because Relais rings back: a new ring-back, or one under way already."""
    if not settings.missed_call or not can_ring_back(person.phone):
        return False
    mine = select(OutboundCall.status, OutboundCall.created_at >= now() - ONE_RING_BACK_PER).where(
        OutboundCall.person_id == person.id,
        OutboundCall.purpose == "ring_back",
        OutboundCall.created_at >= now() - timedelta(days=1),
    )
    today = list(session.execute(mine))  # (status, within the last hour)
    if any(status in UNDER_WAY for status, _ in today):
        return True  # another ring while we are about to call: the same request
    if len(today) >= settings.ring_backs_per_day or any(recent for _, recent in today):
        return False  # answered as usual (the caps hold against forged numbers)
    call = OutboundCall(person_id=person.id, purpose="ring_back")
    session.add(call)
    session.flush()
    submit(session, "place_call", {"call_id": call.id}, delay=RING_BACK_DELAY)
    return True


def reject_busy() -> str:
    response = VoiceResponse()
    response.reject(reason="busy")
    return str(response)


def click_to_call(session: Session, callback: CallbackRequest, mediator: Mediator) -> None:
    """Ring the mediator, then put them through to the person of the request."""
    call = OutboundCall(
        person_id=callback.person_id,
        purpose="mediator",
        callback_id=callback.id,
        mediator_id=mediator.id,
    )
    session.add(call)
    session.flush()
    submit(session, "place_call", {"call_id": call.id})


@job("place_call")
def place_call(context: JobContext, session: Session, args: dict) -> None:
    call = session.get(OutboundCall, args["call_id"])
    if call is None or call.status != "waiting":
        return  # forgotten, or placed already
    settings = context.settings
    if call.purpose == "mediator":
        mediator = session.get(Mediator, call.mediator_id) if call.mediator_id else None
        if mediator is None:
            call.status = "failed"
            return
        to = mediator.phone
    else:
        to = session.get(Person, call.person_id).phone
    base = settings.public_url
    # Answering machines matter for ring-backs only (a mediator's voicemail just ends it).
    detection = {"machine_detection": "Enable"} if call.purpose == "ring_back" else {}
    try:
        placed = twilio_client(settings).calls.create(
            to=to,
            from_=settings.from_number,
            url=f"{base}/voice/outbound?o={call.id}",
            method="POST",
            status_callback=f"{base}/voice/outbound/status?o={call.id}",
            status_callback_method="POST",
            timeout=RING_SECONDS,
            **detection,
        )
    except (TwilioException, OSError) as exc:
        if retryable(exc):
            raise Retry(f"call {call.id} not placed yet: {exc}") from exc
        log.warning("call %s refused by Twilio: %s", call.id, exc)
        call.status, call.updated_at = "failed", now()
        return
    call.status, call.call_sid = "calling", placed.sid
    call.attempts += 1
    call.updated_at = now()


def _placed() -> OutboundCall:
    call = services().session.get(OutboundCall, query_number("o"))
    if call is None or call.call_sid != form_text("CallSid", 64):
        abort(404)
    return call


def _twiml(response: VoiceResponse) -> Response:
    return Response(str(response), mimetype="text/xml")


@blueprint.post("/voice/outbound")
@twilio_signed
def answered() -> Response:
    from .routes import begin_call, start_replay

    app = services()
    call = _placed()
    content = app.engine.content
    language = say_language(content.lang)
    if call.purpose == "mediator":
        # A key first: the mediator's voicemail must not be put through to the person.
        response = VoiceResponse()
        gather = response.gather(
            input="dtmf",
            num_digits=1,
            timeout=10,
            method="POST",
            action=f"{app.settings.public_url}/voice/outbound/confirm?o={call.id}",
        )
        gather.say(content.phrase("bridge_intro"), language=language)
        response.hangup()
        call.status, call.updated_at = "answered", now()
        app.session.commit()
        return _twiml(response)
    if form_text("AnsweredBy", 32) in MACHINES:
        response = VoiceResponse()
        response.say(content.phrase("ring_back_machine"), language=language)
        response.hangup()
        call.status, call.updated_at = "machine", now()
        app.session.commit()
        return _twiml(response)
    replay = start_replay(call.call_sid)
    if replay is not None:
        return replay
    call.status, call.updated_at = "answered", now()
    person = app.session.get(Person, call.person_id)
    return begin_call(call.call_sid, person, opening=content.phrase("ring_back_hello"))


@blueprint.post("/voice/outbound/confirm")
@twilio_signed
def confirm() -> Response:
    """The mediator pressed 1: the person is called from the service's number."""
    app = services()
    call = _placed()
    response = VoiceResponse()
    if call.purpose != "mediator" or form_text("Digits", 8) != "1":
        response.hangup()
        return _twiml(response)
    callback = app.session.get(CallbackRequest, call.callback_id)
    response.say(
        app.engine.content.phrase("bridge_calling"), language=say_language(app.engine.content.lang)
    )
    dial = response.dial(
        caller_id=app.settings.from_number,
        action=f"{app.settings.public_url}/voice/bridged?o={call.id}",
        method="POST",
        timeout=RING_SECONDS,
    )
    dial.number(callback.person.phone)
    return _twiml(response)


@blueprint.post("/voice/outbound/status")
@twilio_signed
def ended() -> Response:
    from .routes import status

    app = services()
    call = _placed()
    outcome = form_text("CallStatus", 32)
    if call.status == "calling" and outcome in NOT_REACHED:
        if call.purpose == "ring_back" and call.attempts < MAX_TRIES:
            call.status = "waiting"
            delay = RETRY_DELAYS[min(call.attempts, len(RETRY_DELAYS)) - 1]
            submit(app.session, "place_call", {"call_id": call.id}, delay=delay)
        else:
            call.status = "given_up" if call.purpose == "ring_back" else outcome
            if call.callback_id:
                _note(app.session, call.callback_id, outcome)
        call.updated_at = now()
        app.session.commit()
    if app.store.call(call.call_sid) is not None:  # a dialogue took place: how it ended
        return status()
    return Response("", status=204)


@blueprint.post("/voice/bridged")
@twilio_signed
def bridged() -> Response:
    """The mediator's call to the person ended: reached, or not."""
    app = services()
    call = services().session.get(OutboundCall, query_number("o"))
    if call is None or call.callback_id is None:
        abort(404)
    _note(app.session, call.callback_id, form_text("DialCallStatus", 32))
    app.session.commit()
    response = VoiceResponse()
    response.hangup()
    return _twiml(response)


RESULTS = {  # DialCallStatus -> (status of the request, note in French)
    "completed": ("rappele", "Rappel : personne jointe."),
    "answered": ("rappele", "Rappel : personne jointe."),
    "no-answer": ("injoignable", "Rappel : pas de réponse."),
    "busy": ("injoignable", "Rappel : occupé."),
    "failed": ("injoignable", "Rappel : l'appel n'a pas pu partir."),
    "canceled": ("injoignable", "Rappel : appel annulé."),
}


def _note(session: Session, callback_id: int, outcome: str) -> None:
    callback = session.get(CallbackRequest, callback_id)
    if callback is None or outcome not in RESULTS:
        return
    status, note = RESULTS[outcome]
    if note not in callback.notes.splitlines()[-1:]:
        callback.notes = (callback.notes + "\n" + note).strip()
    callback.status, callback.updated_at = status, now()
