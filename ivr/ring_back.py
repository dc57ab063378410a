"""The voice webhooks of the calls Relais places (mediation/calls.py places them;
runtime/placed_calls.py applies what the webhooks report): the missed-call mode's
ring-back, and mediators' click-to-call.

Missed-call mode (RELAIS_MISSED_CALL=1): the people Relais serves often have no phone
credit. A call from a French mobile or landline is rejected as busy (`<Reject>`: the
caller pays nothing), and Relais calls the number back a few seconds later through
Twilio's Calls API, with answering-machine detection. The person who answers hears who is
calling and why, then the same dialogue; an answering machine gets one short message on
how to reach Relais, and no dialogue. No answer or busy: up to MAX_TRIES calls, further
and further apart. Caller ID can be forged, so rings while a ring-back is under way are
the same request, a number gets at most one ring-back an hour and
RELAIS_RING_BACKS_PER_DAY a day; beyond that, and for foreign, premium-rate or hidden
numbers, which are never called, the call is answered as usual. Detection waits for the
end of a machine's greeting (DetectMessageEnd), so the message is recorded after the beep;
a fax is hung up on; "unknown" (nothing said, perhaps a person) gets the dialogue.

Click-to-call: Relais rings the mediator first and, once they answer and press 1 (so
that their voicemail is never put through), puts them through to the person with
`<Dial>` from the service's number, so the mediator's own number stays private. How it
went (reached, no answer, busy) is written on the callback request.

- POST /voice/outbound?o=ID          the placed call was answered (AnsweredBy: human...)
- POST /voice/outbound/confirm?o=ID  the mediator's key (1: call the person now)
- POST /voice/outbound/status?o=ID   its status callback (no-answer, busy, completed...):
                                     always 204; one that overtook the call's sid is kept
- POST /voice/bridged?o=ID           the <Dial> from the mediator to the person ended
"""

from __future__ import annotations

from flask import Blueprint, Response, abort
from twilio.twiml.voice_response import VoiceResponse

from core.models import CallbackRequest, OutboundCall, Person
from core.signature import twilio_signed
from core.web import form_sid, form_text, query_number, services
from mediation.calls import RING_SECONDS, who_answered
from mediation.outbound_status import OutboundStatus, move
from runtime import placed_calls

from .twiml import speaker

blueprint = Blueprint("ring_back", __name__)


def reject_busy() -> str:
    response = VoiceResponse()
    response.reject(reason="busy")
    return str(response)


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
    content = app.engine.content  # the mediators' language
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
        speaker().speak(gather, content.phrase("bridge_intro"))
        response.hangup()
        placed_calls.answered(app, call, OutboundStatus.ANSWERED)
        return _twiml(response)
    person = app.session.get(Person, call.person_id)
    content = app.speaking(person.language).engine.content  # the person's, from here
    status = who_answered(form_text("AnsweredBy", 32))
    if status != OutboundStatus.ANSWERED:
        response = VoiceResponse()
        if status == OutboundStatus.MACHINE:  # after the greeting: the message is recorded
            speaker(person.language).speak(response, content.phrase("ring_back_machine"))
        response.hangup()
        placed_calls.answered(app, call, status)
        return _twiml(response)
    replay = start_replay(call.call_sid)
    if replay is not None:
        return replay
    move(call, status)  # stored with the dialogue's first turn
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
    speaker().speak(response, app.engine.content.phrase("bridge_calling"))
    dial = response.dial(
        caller_id=app.settings.from_number,
        action=f"{app.settings.public_url}/voice/bridged?o={call.id}",
        method="POST",
        timeout=RING_SECONDS,
    )
    dial.number(callback.person.phone, **screened(app.settings.public_url))
    return _twiml(response)


def screened(public_url: str) -> dict[str, str]:
    """A <Number>'s attributes so that the person's voicemail is told from the person
    (Twilio's answering-machine detection on that leg, its result to /voice/dial/answered)."""
    return {
        "machine_detection": "Enable",
        "amd_status_callback": f"{public_url}/voice/dial/answered",
        "amd_status_callback_method": "POST",
    }


@blueprint.post("/voice/dial/answered")
@twilio_signed
def dial_answered() -> Response:
    """Who answered a dialled person's leg (human, machine_start, fax...)."""
    leg = form_sid("CallSid")
    if not leg:
        abort(400)
    placed_calls.leg_answered(services(), leg, form_text("AnsweredBy", 32))
    return Response("", status=204)


@blueprint.post("/voice/outbound/status")
@twilio_signed
def ended() -> Response:
    from .routes import status

    app = services()
    call_sid, outcome = form_sid("CallSid"), form_text("CallStatus", 32)
    if not call_sid:
        abort(400)
    applied = placed_calls.status_reported(app, query_number("o"), call_sid, outcome)
    if applied and app.store.call(call_sid) is not None:  # a dialogue took place: how it ended
        return status()
    return Response("", status=204)


@blueprint.post("/voice/bridged")
@twilio_signed
def bridged() -> Response:
    """The mediator's call to the person ended: reached, or not."""
    app = services()
    call = app.session.get(OutboundCall, query_number("o"))
    if call is None or call.callback_id is None:
        abort(404)
    dial_status, leg = form_text("DialCallStatus", 32), form_sid("DialCallSid")
    placed_calls.bridge_ended(app, call.callback_id, dial_status, leg)
    response = VoiceResponse()
    response.hangup()
    return _twiml(response)
