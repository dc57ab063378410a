"""Calls Relais places (the domain of outbound calls; the voice channel renders them):
the missed-call mode's ring-back, and the mediators' click-to-call.

A ring-back is an `OutboundCall` of purpose "ring_back" created when a missed call is
taken (`take_as_missed`); a click-to-call is one of purpose "mediator" created from the
dashboard (`click_to_call`). The job "place_call" asks Twilio to place either; the voice
channel (ivr/ring_back.py) answers its webhooks and reports how it ended here
(`call_ended`, `note_outcome`).

A call waiting to be placed or ringing counts as under way (a ring during it is the same
request) only within its lease, derived from the call's own timeouts: the place_call job's
delay and retries, then the Timeout Relais gives Twilio and the time answering-machine
detection takes, each with a margin. Twilio does not send a status callback again, so one
lost (Relais down when it came) would leave the call under way for ever: when a lease ends,
the job "sweep_calls" asks Twilio's Calls API how the call went and applies it (a call never
placed, its job given up, has failed).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioException

from core.jobs import BACKOFF, MAX_ATTEMPTS, JobContext, Retry, job, submit
from core.models import CallbackRequest, EarlyStatus, Mediator, OutboundCall, Person, now
from core.outbound import retryable, twilio_client
from core.phones import can_ring_back
from core.settings import Settings
from core.twilio_status import CallStatus, keep_early, reported

from . import requests
from .outbound_status import UNDER_WAY, OutboundStatus, move
from .words import Words, load_words

log = logging.getLogger(__name__)

RING_BACK_DELAY = 3  # seconds: the caller has hung up and can take the call
RETRY_DELAYS = (120, 600)  # seconds before the 2nd and the 3rd try
MAX_TRIES = 3
ONE_RING_BACK_PER = timedelta(hours=1)  # a number rings again sooner: answered as usual
RING_SECONDS = 25  # how long a placed call rings before it counts as no answer (Timeout)
DETECTION_SECONDS = 30  # Twilio's MachineDetectionTimeout: AnsweredBy comes within it
LEASE_MARGIN = 60  # seconds for the webhooks and the jobs around a call
PLACING = sum(BACKOFF[: MAX_ATTEMPTS - 1])  # seconds a failing place_call job is retried
RINGING_LEASE = RING_SECONDS + DETECTION_SECONDS + LEASE_MARGIN  # answered or not by then
# What answering-machine detection (DetectMessageEnd) says once a machine's greeting has
# ended, by a beep, a silence or otherwise: a message said now is recorded whole.
AFTER_GREETING = ("machine_end_beep", "machine_end_silence", "machine_end_other")
# What answering-machine detection (Enable) says when no person answered.
MACHINES = ("machine_start", *AFTER_GREETING, "fax")
NOT_REACHED = ("no-answer", "busy", "failed", "canceled")


def take_as_missed(session: Session, settings: Settings, person: Person) -> bool:
    """In missed-call mode, whether this incoming call is rejected (free for the caller)
    because Relais rings back: a new ring-back, or one under way already."""
    if not settings.missed_call or not can_ring_back(person.phone):
        return False
    mine = select(
        OutboundCall.status,
        OutboundCall.lease_until > now(),
        OutboundCall.created_at >= now() - ONE_RING_BACK_PER,
    ).where(
        OutboundCall.person_id == person.id,
        OutboundCall.purpose == "ring_back",
        OutboundCall.created_at >= now() - timedelta(days=1),
    )
    today = list(session.execute(mine))  # (status, within its lease, within the last hour)
    if any(status in UNDER_WAY and leased for status, leased, _ in today):
        return True  # another ring while we are about to call: the same request
    if len(today) >= settings.ring_backs_per_day or any(recent for _, _, recent in today):
        return False  # answered as usual (the caps hold against forged numbers)
    call = OutboundCall(person_id=person.id, purpose="ring_back")
    session.add(call)
    session.flush()
    _place(session, call, RING_BACK_DELAY)
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
    _place(session, call)


def _place(session: Session, call: OutboundCall, delay: float = 0) -> None:
    """Place the call in `delay` seconds; it waits under a lease until the job gives up."""
    move(call, OutboundStatus.WAITING)
    submit(session, "place_call", {"call_id": call.id}, delay=delay)
    lease(session, call, delay + PLACING + LEASE_MARGIN)


def lease(session: Session, call: OutboundCall, seconds: float) -> None:
    """The call counts as under way for `seconds`; then the sweep of that minute looks."""
    call.lease_until = now() + timedelta(seconds=seconds)
    sweep_at = call.lease_until.replace(second=0, microsecond=0) + timedelta(minutes=1)
    key = f"sweep_calls:{sweep_at:%Y-%m-%dT%H:%M}"  # one sweep a minute, whatever expires
    submit(session, "sweep_calls", {}, delay=(sweep_at - now()).total_seconds(), key=key)


@job("place_call")
def place_call(context: JobContext, session: Session, args: dict) -> None:
    call = session.get(OutboundCall, args["call_id"])
    if call is None or call.status != OutboundStatus.WAITING:
        return  # forgotten, or placed already
    settings = context.settings
    if call.purpose == "mediator":
        mediator = session.get(Mediator, call.mediator_id) if call.mediator_id else None
        if mediator is None:
            move(call, OutboundStatus.FAILED)
            return
        to = mediator.phone
    else:
        to = session.get(Person, call.person_id).phone
    base = settings.public_url
    # Answering machines matter for ring-backs only (a mediator must press a key anyway).
    # DetectMessageEnd: a machine is reported once its greeting ends, so that the message
    # is recorded rather than said over the greeting; a person is reported at once.
    detection = {"machine_detection": "DetectMessageEnd"} if call.purpose == "ring_back" else {}
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
        _failed(session, call, load_words(settings.content_dir))
        return
    move(call, OutboundStatus.CALLING)
    call.call_sid = placed.sid
    call.attempts += 1
    lease(session, call, RINGING_LEASE)
    session.commit()  # then its status callbacks that came before the sid was known
    for early in reported(session, placed.sid):
        call_ended(session, call, early.status, load_words(settings.content_dir))


def who_answered(answered_by: str) -> OutboundStatus:
    """A placed call's status once answered, from answering-machine detection (AnsweredBy,
    a ring-back's only): a machine once its greeting has ended, a fax, or a person ("human",
    or "unknown": nothing said, perhaps a person)."""
    if answered_by == "fax":
        return OutboundStatus.FAX
    return OutboundStatus.MACHINE if answered_by in AFTER_GREETING else OutboundStatus.ANSWERED


def call_ended(session: Session, call: OutboundCall, outcome: str, words: Words) -> None:
    """What Twilio reports of how a placed call ended (its status callback, or the sweep),
    while it was ringing: not reached; or answered without Relais answering its webhook
    (Relais was down: its fallback apologised), which is tried again the same way. Nothing
    once answered, or for a status that is not an end."""
    status = CallStatus.known(outcome)
    if call.status != OutboundStatus.CALLING or status is None or not status.ended:
        return
    not_reached(session, call, "failed" if status == CallStatus.COMPLETED else outcome, words)


def not_reached(session: Session, call: OutboundCall, outcome: str, words: Words) -> None:
    """A placed call was not answered (no answer, busy, failed): a ring-back tries again
    later, up to MAX_TRIES; a click-to-call notes it on the request (in `words`)."""
    if call.purpose == "ring_back" and call.attempts < MAX_TRIES:
        _place(session, call, RETRY_DELAYS[min(call.attempts, len(RETRY_DELAYS)) - 1])
        return
    ring_back = call.purpose == "ring_back"
    move(call, OutboundStatus.GIVEN_UP if ring_back else OutboundStatus(outcome))
    if call.callback_id:
        note_outcome(session, call.callback_id, outcome, words)


def _failed(session: Session, call: OutboundCall, words: Words) -> None:
    move(call, OutboundStatus.FAILED)
    if call.callback_id:
        note_outcome(session, call.callback_id, "failed", words)


@job("sweep_calls")
def sweep_calls(context: JobContext, session: Session, _args: dict) -> None:
    """The calls under way past their lease: one never placed (its job gave up) has failed;
    for one placed, Twilio's Calls API says how it went. Still ringing at Twilio's, or
    Twilio out of reach: a new lease."""
    expired = select(OutboundCall).where(
        OutboundCall.status.in_(UNDER_WAY),
        or_(OutboundCall.lease_until.is_(None), OutboundCall.lease_until <= now()),
    )
    words = load_words(context.settings.content_dir)
    for call in session.scalars(expired).all():
        if call.status == OutboundStatus.WAITING:
            log.warning("call %s was never placed: failed", call.id)
            _failed(session, call, words)
            continue
        try:
            found = twilio_client(context.settings).calls(call.call_sid).fetch()
        except (TwilioException, OSError) as exc:
            if retryable(exc):
                log.info("call %s: Twilio not reached (%s); asked again later", call.id, exc)
                lease(session, call, RINGING_LEASE)
            else:  # unknown to Twilio (404): it never rang
                log.warning("call %s unknown to Twilio: %s", call.id, exc)
                _failed(session, call, words)
            continue
        status = CallStatus.known(found.status)
        if status is not None and status.ended:
            log.info("call %s: its lost status callback was %s", call.id, status)
            call_ended(session, call, found.status, words)
        else:
            lease(session, call, RINGING_LEASE)


REACHED = ("completed", "answered")  # DialCallStatus of a person reached
NOTED = (*REACHED, *NOT_REACHED, "machine")  # outcomes noted on the request (words: notes)


def answered_by_machine(session: Session, leg_sid: str, answered_by: str) -> None:
    """Twilio's answering-machine detection on a dialled person's leg: a machine is kept
    with the leg's sid (Relais has no row for a <Dial>'s leg), for `dial_outcome`."""
    if answered_by in MACHINES:
        keep_early(session, leg_sid, "machine")


def dial_outcome(session: Session, dial_status: str, leg_sid: str) -> str:
    """How a mediator's <Dial> to a person ended: a DialCallStatus, or "machine" when the
    leg was completed by the person's voicemail (which Twilio counts as completed)."""
    if dial_status == "completed" and leg_sid:
        machine = select(EarlyStatus.id).where(
            EarlyStatus.sid == leg_sid, EarlyStatus.status == "machine"
        )
        if session.scalar(machine) is not None:
            return "machine"
    return dial_status


def note_outcome(session: Session, callback_id: int, outcome: str, words: Words) -> None:
    """How a mediator's call to the person ended, on the request: its status and a note."""
    callback = session.get(CallbackRequest, callback_id)
    if callback is None or outcome not in NOTED:
        return
    reached = outcome in REACHED
    requests.called(callback, reached, words("notes", "reached" if reached else outcome))
