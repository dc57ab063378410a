"""The voice side of handing a caller to a mediator.

In opening hours, the mediators of the topic are rung at once (<Dial> with a <Number> each).
Each hears a whisper first: the spoken summary of the call, then "press 1 to take the
call"; the first who presses 1 is put through. If nobody takes it, or out of hours, the
caller hears when they will be called back and may leave a short voice message; the
callback request waits in the queue and a mobile caller gets an SMS confirmation. With no
mediator registered, nobody is promised a callback: the caller hears where to find help.
A person in danger (an urgent hand-off) is put through to any mediator on duty, who hears
"Urgent" before the summary.

- POST /voice/whisper?r=ID          a mediator answered: the whisper
- POST /voice/whisper/answer?r=ID   the mediator's key
- POST /voice/dialed?r=ID           the <Dial> ended (taken, or nobody)
- POST /voice/voicemail?r=ID        the caller's voice message (fetched and transcribed in a job)
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, request
from twilio.twiml.voice_response import VoiceResponse

from core.models import CallbackRequest, Mediator, now
from core.phones import e164
from core.signature import twilio_signed
from core.web import form_text, query_number, services
from dialogues.engine import HandOff
from mediation.handoff import (
    available_mediators,
    callback_promise,
    confirm_by_sms,
    has_mediators,
    is_urgent,
    open_request,
)
from mediation.voicemail import keep_voicemail

from .twiml import CallRendering, say_language, speak

blueprint = Blueprint("handoff", __name__)
log = logging.getLogger(__name__)

DIAL_TIMEOUT = 20  # seconds of ringing before nobody is taken as an answer
VOICEMAIL_SECONDS = 60


def _twiml(response: VoiceResponse) -> Response:
    return Response(str(response), mimetype="text/xml")


def hand_off(
    response: VoiceResponse, action: HandOff, how: CallRendering, conversation_id: int
) -> None:
    app = services()
    conversation = app.store.conversation(conversation_id)
    callback = open_request(app.session, app.engine, conversation, action, app.settings)
    if action.text and has_mediators(app.session):  # "Je cherche une personne..."
        speak(response, action.text, how)
    # A person in danger is put through to any mediator on duty, whatever their topics.
    topic = "humain" if action.urgent else action.topic
    mediators = available_mediators(app.session, app.settings, topic, app.engine.content.lang)
    if not mediators:
        _take_a_message(response, callback, how)
        return
    base = app.settings.public_url
    dial = response.dial(
        action=f"{base}/voice/dialed?r={callback.id}", method="POST", timeout=DIAL_TIMEOUT
    )
    for mediator in mediators:
        dial.number(mediator.phone, url=f"{base}/voice/whisper?r={callback.id}", method="POST")


def _take_a_message(
    response: VoiceResponse, callback: CallbackRequest, how: CallRendering | None = None
) -> None:
    """Nobody can take the call: when they will be called back, a voice message. With no
    mediator registered at all, nobody would ever call back or hear the message: the
    caller is told so, and where to find help instead (and gets it by SMS too)."""
    app = services()
    content = app.engine.content
    language = say_language(content.lang)

    def say(text: str) -> None:
        if how:
            speak(response, text, how)
        else:
            response.say(text, language=language)

    if not has_mediators(app.session):
        say(callback_promise(app.session, app.settings, content, now(), "voice"))
        say(content.phrase("goodbye"))
        response.hangup()
        confirm_by_sms(app.session, app.settings, app.engine, callback)
        return
    say(content.phrase("nobody_free"))
    say(callback_promise(app.session, app.settings, content, now(), "voice"))
    say(content.phrase("voicemail_invite"))
    response.record(
        action=f"{app.settings.public_url}/voice/voicemail?r={callback.id}",
        method="POST",
        max_length=VOICEMAIL_SECONDS,
        timeout=5,
        finish_on_key="#",
        play_beep=True,
    )
    say(content.phrase("voicemail_thanks"))
    response.hangup()
    confirm_by_sms(app.session, app.settings, app.engine, callback)


def _request() -> CallbackRequest:
    app = services()
    callback = app.session.get(CallbackRequest, query_number("r"))
    if callback is None:
        abort(404)
    return callback


@blueprint.post("/voice/whisper")
@twilio_signed
def whisper() -> Response:
    app = services()
    callback = _request()
    response = VoiceResponse()
    language = say_language(app.engine.content.lang)
    gather = response.gather(
        input="dtmf",
        num_digits=1,
        timeout=10,
        method="POST",
        action=f"{app.settings.public_url}/voice/whisper/answer?r={callback.id}",
    )
    if is_urgent(callback):
        gather.say(app.engine.content.phrase("whisper_urgent"), language=language)
    gather.say(callback.summary, language=language)
    gather.say(app.engine.content.phrase("whisper_accept"), language=language)
    response.hangup()  # no key: the call is not taken by this mediator
    return _twiml(response)


@blueprint.post("/voice/whisper/answer")
@twilio_signed
def whisper_answer() -> Response:
    app = services()
    callback = _request()
    response = VoiceResponse()
    mediator = (
        app.session.query(Mediator).filter_by(phone=e164(request.form.get("To", ""))).one_or_none()
    )
    if (
        request.form.get("Digits") != "1"
        or mediator is None
        or (callback.taken_by not in (None, mediator.id))
    ):
        response.hangup()
        return _twiml(response)
    callback.taken_by, callback.status, callback.updated_at = mediator.id, "en_cours", now()
    app.session.commit()
    return _twiml(response)  # an empty answer: the two calls are joined


@blueprint.post("/voice/dialed")
@twilio_signed
def dialed() -> Response:
    app = services()
    callback = _request()
    response = VoiceResponse()
    if callback.taken_by is not None:  # a mediator took the call, which has now ended
        callback.status, callback.updated_at = "clos", now()
        callback.notes = (callback.notes + "\nPris en direct.").strip()
        response.hangup()
    else:
        _take_a_message(response, callback)
    app.session.commit()
    return _twiml(response)


@blueprint.post("/voice/voicemail")
@twilio_signed
def voicemail() -> Response:
    app = services()
    callback = _request()
    url = form_text("RecordingUrl", 1000)
    if url and callback.voicemail_ref is None:
        keep_voicemail(app.session, callback, url)
        app.session.commit()
    response = VoiceResponse()
    response.say(
        app.engine.content.phrase("voicemail_thanks"),
        language=say_language(app.engine.content.lang),
    )
    response.hangup()
    return _twiml(response)
