"""The mediators' phone line (its TwiML; runtime/mediator_line.py applies what the mediator
does): a mediator calling the service number from their registered phone types their PIN,
then hears the callback queue: each request's spoken summary, then 1 to call the person
now (the person sees the service number), 2 for the next one, 3 when it is done, 9 to
hear it again.

- POST /voice/mediator/pin          the PIN (3 tries)
- POST /voice/mediator/queue?i=N    the request at position N of the open queue
- POST /voice/mediator/choice?r=ID&i=N
- POST /voice/mediator/called?r=ID&i=N   the <Dial> to the person ended
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from sqlalchemy import select
from twilio.twiml.voice_response import Gather, VoiceResponse

from core.models import CallbackRequest, Mediator, now
from core.phones import e164
from core.signature import twilio_signed
from core.store import MEDIATOR_CALLING
from core.web import form_sid, form_text, query_number, services
from mediation import requests
from mediation.roster import PIN_LOCK, pin_locked
from runtime import mediator_line

from .ring_back import screened
from .twiml import speaker

blueprint = Blueprint("mediator_line", __name__)

PIN_TRIES = 3


# One Core statement, and the mediator's row loaded only for a mediator.
_MEDIATOR_CALLING = select(Mediator.__table__.c.id).where(MEDIATOR_CALLING)


def mediator_calling(caller: str) -> Mediator | None:
    """The active mediator whose registered phone is calling, if any."""
    session = services().session
    found = session.connection().execute(_MEDIATOR_CALLING, {"phone": e164(caller)}).first()
    return None if found is None else session.get(Mediator, found.id)


def _say(verb: VoiceResponse | Gather, phrase_name: str, **values: str) -> None:
    """Say one of the content's phrases (language.yaml, `line_...`)."""
    speaker().say(verb, services().engine.content.phrase(phrase_name, **values))


def _url(path: str, **query: int) -> str:
    tail = "&".join(f"{k}={v}" for k, v in query.items())
    return f"{services().settings.public_url}/voice/mediator/{path}" + (f"?{tail}" if tail else "")


def _twiml(response: VoiceResponse) -> Response:
    return Response(str(response), mimetype="text/xml")


def welcome(tries: int = 0) -> str:
    """TwiML asking a mediator for their PIN (again after a wrong one)."""
    response = VoiceResponse()
    gather = response.gather(
        input="dtmf", finish_on_key="#", timeout=10, method="POST", action=_url("pin", t=tries)
    )
    _say(gather, "line_pin_again" if tries else "line_welcome")
    response.hangup()
    return str(response)


def _caller() -> Mediator:
    mediator = mediator_calling(request.form.get("From", ""))
    if mediator is None:
        abort(403)
    return mediator


@blueprint.post("/voice/mediator/pin")
@twilio_signed
def pin() -> Response:
    mediator = _caller()
    tries = query_number("t") + 1
    if mediator_line.pin_entered(services(), mediator, request.form.get("Digits", "")):
        return queue_at(0)
    if pin_locked(mediator, now()):
        response = VoiceResponse()
        minutes = int(PIN_LOCK.total_seconds() // 60)
        _say(response, "line_locked", minutes=str(minutes))
        response.hangup()
        return _twiml(response)
    if tries >= PIN_TRIES:
        response = VoiceResponse()
        _say(response, "line_pin_wrong")
        response.hangup()
        return _twiml(response)
    return Response(welcome(tries), mimetype="text/xml")


def _open_queue() -> list[CallbackRequest]:
    return list(services().session.scalars(requests.callback_queue(requests.UNTAKEN)))


def queue_at(position: int) -> Response:
    """The request at `position` of the open queue; past the end, back to the start."""
    waiting = _open_queue()
    response = VoiceResponse()
    if not waiting:
        _say(response, "line_empty")
        response.hangup()
        return _twiml(response)
    if position >= len(waiting):
        _say(response, "line_restart")
        position = 0
    current = waiting[position]
    gather = response.gather(
        input="dtmf",
        num_digits=1,
        timeout=10,
        method="POST",
        action=_url("choice", r=current.id, i=position),
    )
    _say(
        gather,
        "line_request",
        position=str(position + 1),
        count=str(len(waiting)),
        summary=current.summary,
    )
    _say(gather, "line_keys")
    response.redirect(_url("queue", i=position), method="POST")
    return _twiml(response)


@blueprint.post("/voice/mediator/queue")
@twilio_signed
def queue() -> Response:
    _caller()
    return queue_at(query_number("i"))


@blueprint.post("/voice/mediator/choice")
@twilio_signed
def choice() -> Response:
    mediator = _caller()
    app = services()
    callback = app.session.get(CallbackRequest, query_number("r")) or abort(404)
    position, key = query_number("i"), request.form.get("Digits", "")
    if key == "1":
        mediator_line.take(app, callback, mediator)
        response = VoiceResponse()
        _say(response, "line_calling")
        # The person sees the service number, never the mediator's own.
        dial = response.dial(
            caller_id=e164(request.form.get("To", "")) or None,
            timeout=30,
            method="POST",
            action=_url("called", r=callback.id, i=position),
        )
        dial.number(callback.person.phone, **screened(app.settings.public_url))
        return _twiml(response)
    if key == "3":
        mediator_line.done(app, callback)
        return queue_at(position)  # the next one moves up to this place
    if key == "2":
        return queue_at(position + 1)
    return queue_at(position)


@blueprint.post("/voice/mediator/called")
@twilio_signed
def called() -> Response:
    _caller()
    app = services()
    callback = app.session.get(CallbackRequest, query_number("r")) or abort(404)
    dial_status, leg = form_text("DialCallStatus", 32), form_sid("DialCallSid")
    reached = mediator_line.called(app, callback, dial_status, leg)
    return queue_at(query_number("i") if reached else query_number("i") + 1)
