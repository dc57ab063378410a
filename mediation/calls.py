"""Calls Relais places (the domain of outbound calls; the voice channel renders them):
the missed-call mode's ring-back, and the mediators' click-to-call.

A ring-back is an `OutboundCall` of purpose "ring_back" created when a missed call is
taken (`take_as_missed`); a click-to-call is one of purpose "mediator" created from the
dashboard (`click_to_call`). The job "place_call" asks Twilio to place either; the voice
channel (ivr/ring_back.py) answers its webhooks and reports how it ended here
(`not_reached`, `note_outcome`).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioException

from core.jobs import JobContext, Retry, job, submit
from core.models import CallbackRequest, Mediator, OutboundCall, Person, now
from core.outbound import retryable, twilio_client
from core.phones import can_ring_back
from core.settings import Settings

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


def not_reached(session: Session, call: OutboundCall, outcome: str) -> None:
    """A placed call was not answered (no answer, busy, failed): a ring-back tries again
    later, up to MAX_TRIES; a click-to-call notes it on the request."""
    if call.purpose == "ring_back" and call.attempts < MAX_TRIES:
        call.status = "waiting"
        delay = RETRY_DELAYS[min(call.attempts, len(RETRY_DELAYS)) - 1]
        submit(session, "place_call", {"call_id": call.id}, delay=delay)
    else:
        call.status = "given_up" if call.purpose == "ring_back" else outcome
        if call.callback_id:
            note_outcome(session, call.callback_id, outcome)
    call.updated_at = now()


RESULTS = {  # DialCallStatus -> (status of the request, note in French)
    "completed": ("rappele", "Rappel : personne jointe."),
    "answered": ("rappele", "Rappel : personne jointe."),
    "no-answer": ("injoignable", "Rappel : pas de réponse."),
    "busy": ("injoignable", "Rappel : occupé."),
    "failed": ("injoignable", "Rappel : l'appel n'a pas pu partir."),
    "canceled": ("injoignable", "Rappel : appel annulé."),
}


def note_outcome(session: Session, callback_id: int, outcome: str) -> None:
    callback = session.get(CallbackRequest, callback_id)
    if callback is None or outcome not in RESULTS:
        return
    status, note = RESULTS[outcome]
    if note not in callback.notes.splitlines()[-1:]:
        callback.notes = (callback.notes + "\n" + note).strip()
    callback.status, callback.updated_at = status, now()
