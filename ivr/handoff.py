"""The voice side of handing a caller to a mediator (its TwiML; runtime/live_handoff.py
applies what these webhooks report).

In opening hours, the mediators of the topic are rung one after the other, in turn from
call to call (`available_mediators`). Each hears a whisper first (call screening): the
spoken summary of the call, then "press 1 to take the call". Only a key puts the caller
through: a mediator's phone that is off sends the call to their voicemail, which answers,
hears the whisper, presses nothing and is hung up; then the next mediator is rung. If
nobody takes it, or out of hours, the caller hears when they will be called back and may
leave a short voice message; the callback request waits in the queue and a mobile caller
gets an SMS confirmation. With no mediator registered, nobody is promised a callback: the
caller hears where to find help. A person in danger (an urgent hand-off) is put through
to any mediator on duty, who hears "Urgent" before the summary.

- POST /voice/whisper?r=ID&m=M          mediator M answered: the whisper
- POST /voice/whisper/answer?r=ID&m=M   their key (1: taken, recorded at once)
- POST /voice/dialed?r=ID&m=M&next=N.O  the <Dial> to M ended: taken, or ring N, then O
- POST /voice/voicemail?r=ID            the caller's voice message (fetched and transcribed
                                        in a job)
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from twilio.twiml.voice_response import VoiceResponse

from core.models import CallbackRequest, Mediator
from core.signature import twilio_signed
from core.web import form_sid, form_text, query_number, services, whole_number
from dialogues.engine import HandOff
from mediation import requests
from runtime import live_handoff
from runtime.effects import Handover

from .twiml import CallRendering, speaker

blueprint = Blueprint("handoff", __name__)

DIAL_TIMEOUT = 20  # seconds a mediator's phone rings before the next one is tried
WHISPER_KEY_TIMEOUT = 10  # seconds after the whisper to press 1
VOICEMAIL_SECONDS = 60


def _twiml(response: VoiceResponse) -> Response:
    return Response(str(response), mimetype="text/xml")


def render_handover(
    response: VoiceResponse, action: HandOff, handover: Handover, how: CallRendering
) -> None:
    """Ring the first mediator who can take the call, or take a message."""
    if action.text and handover.searching:  # "Je cherche une personne..."
        how.speaker.speak(response, action.text)
    if handover.ring:
        _ring(response, handover.request_id, list(handover.ring))
    else:
        _take_a_message(
            response, handover.request_id, handover.searching, handover.promise, how.content.lang
        )


def _ring(response: VoiceResponse, request_id: int, mediators: list[Mediator]) -> None:
    """Ring the first of `mediators`, with the whisper; the <Dial>'s action rings the next
    one when this one does not take the call."""
    base = services().settings.public_url
    mediator, rest = mediators[0], ".".join(str(m.id) for m in mediators[1:])
    dial = response.dial(
        action=f"{base}/voice/dialed?r={request_id}&m={mediator.id}&next={rest}",
        method="POST",
        timeout=DIAL_TIMEOUT,
    )
    dial.number(
        mediator.phone, url=f"{base}/voice/whisper?r={request_id}&m={mediator.id}", method="POST"
    )


def _take_a_message(
    response: VoiceResponse, request_id: int, searching: bool, promise: str, lang: str
) -> None:
    """Nobody can take the call: when they will be called back, a voice message, in the
    caller's language `lang`. With no mediator registered at all (`searching` False),
    nobody would ever call back or hear the message: `promise` says so, and where to find
    help instead."""
    app = services()
    content, say = app.speaking(lang).engine.content, speaker(lang).speak
    if not searching:
        say(response, promise)
        say(response, content.phrase("goodbye"))
        response.hangup()
        return
    say(response, content.phrase("nobody_free"))
    say(response, promise)
    say(response, content.phrase("voicemail_invite"))
    response.record(
        action=f"{app.settings.public_url}/voice/voicemail?r={request_id}",
        method="POST",
        max_length=VOICEMAIL_SECONDS,
        timeout=5,
        finish_on_key="#",
        play_beep=True,
    )
    say(response, content.phrase("voicemail_thanks"))
    response.hangup()


def _request() -> CallbackRequest:
    app = services()
    callback = app.session.get(CallbackRequest, query_number("r"))
    if callback is None:
        abort(404)
    return callback


def _mediator() -> Mediator:
    mediator = services().session.get(Mediator, query_number("m"))
    if mediator is None:
        abort(404)
    return mediator


@blueprint.post("/voice/whisper")
@twilio_signed
def whisper() -> Response:
    """The mediator's leg answered (a person, or their voicemail): the summary, then a key
    to take the call; no key and the leg hangs up, so the <Dial> moves on."""
    app = services()
    callback, mediator = _request(), _mediator()
    response = VoiceResponse()
    gather = response.gather(
        input="dtmf",
        num_digits=1,
        timeout=WHISPER_KEY_TIMEOUT,
        method="POST",
        action=f"{app.settings.public_url}/voice/whisper/answer?r={callback.id}&m={mediator.id}",
    )
    # In the person's language, as their summary: the mediators rung speak it. One voice:
    # the summary cannot be rendered in advance.
    lang = callback.person.language
    say, content = speaker(lang).say, app.speaking(lang).engine.content
    if requests.is_urgent(callback):
        say(gather, content.phrase("whisper_urgent"))
    say(gather, callback.summary)
    say(gather, content.phrase("whisper_accept"))
    response.hangup()  # no key: the call is not taken by this mediator
    return _twiml(response)


@blueprint.post("/voice/whisper/answer")
@twilio_signed
def whisper_answer() -> Response:
    """The mediator's key: 1 takes the call, which is recorded now (a voicemail presses
    nothing, so a leg that answered does not mean that someone took the call)."""
    callback, mediator = _request(), _mediator()
    leg = form_sid("CallSid")
    response = VoiceResponse()
    if not leg or form_text("Digits", 8) != "1" or not mediator.active:
        response.hangup()
        return _twiml(response)
    live_handoff.taken_live(services(), callback, mediator, leg, str(response))
    return _twiml(response)  # an empty answer: the two calls are joined


@blueprint.post("/voice/dialed")
@twilio_signed
def dialed() -> Response:
    """The <Dial> to one mediator ended. Taken (their key came on the leg that answered):
    the call has ended, the request is closed. Otherwise the next mediator still on duty
    is rung, and after the last the caller may leave a message."""
    callback = _request()
    next_ids = _next_ids(request.args.get("next", ""))
    handover = live_handoff.dial_ended(services(), callback, form_sid("DialCallSid"), next_ids)
    response = VoiceResponse()
    if handover is None:
        response.hangup()
    elif handover.ring:
        _ring(response, callback.id, list(handover.ring))
    else:
        lang = callback.person.language
        _take_a_message(response, callback.id, handover.searching, handover.promise, lang)
    return _twiml(response)


def _next_ids(ids: str) -> list[int]:
    """The mediators still to ring, in order (`next` of the action URL, which Relais wrote
    and Twilio signed)."""
    numbers = [whole_number(part) for part in ids.split(".") if part]
    if None in numbers:
        abort(400)
    return [number for number in numbers if number is not None]


@blueprint.post("/voice/voicemail")
@twilio_signed
def voicemail() -> Response:
    app = services()
    callback = _request()
    live_handoff.voicemail_left(app, callback, form_text("RecordingUrl", 1000))
    response = VoiceResponse()
    lang = callback.person.language
    speaker(lang).speak(response, app.speaking(lang).engine.content.phrase("voicemail_thanks"))
    response.hangup()
    return _twiml(response)
