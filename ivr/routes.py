"""Twilio voice webhooks.

- POST /voice          an incoming call: a new conversation, the welcome question
- POST /voice/key      the key(s) a caller pressed (Gather action)
- POST /voice/record   a spoken answer (Record action); a key that ended it counts as a key
- POST /voice/silence  nothing pressed, nothing said
- POST /voice/status   the call status callback: where and how the call ended (204)

Each question's URLs carry the conversation id and its step (`?c=12&s=3`): a webhook that
Twilio sends again for a step already handled gets the same TwiML and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, Response, abort, request

from core.models import Person
from core.phones import can_receive_sms
from core.signature import twilio_signed
from core.store import Exchange
from core.web import form_sid, form_text, query_number, services, whole_number
from dialogues.engine import Digits, Input, Key, NoInput
from runtime import placed_calls, spoken_answers, status_reports, turns
from runtime.spoken_answers import Heard

from .handoff import render_handover
from .mediator_line import welcome
from .ring_back import reject_busy
from .stream_twiml import Prompts, connect_call
from .twiml import CallRendering, render, speaker

log = logging.getLogger(__name__)

blueprint = Blueprint("ivr", __name__)

MAX_RECORDING_URL = 1000


def _twiml(body: str) -> Response:
    return Response(body, mimetype="text/xml")


def _rendering(conversation_id: int, step: int, lang: str | None = None) -> CallRendering:
    """How a call in `lang` renders, at this step of its conversation."""
    app = services()
    base = app.settings.public_url
    language = app.speaking(lang)

    def url(kind: str) -> str:
        return f"{base}/voice/{kind}?c={conversation_id}&s={step}"

    return CallRendering(
        url,
        language.engine.content,
        speaker(lang),
        language.speech.listening,
        render_handover,
    )


def _respond(turn: turns.Turn, key: str) -> Response:
    """The turn's TwiML (its effects are applied already), remembered for a replay."""
    app = services()
    conversation = turn.conversation
    how = _rendering(conversation.id, conversation.step, turn.state.lang)
    body = render(turn.actions, how, turn.handover)
    app.store.remember_reply(key, body, conversation.person_id)
    app.session.commit()
    return _twiml(body)


@blueprint.post("/voice")
@twilio_signed
def incoming() -> Response:
    call_sid = form_sid("CallSid")
    caller = request.form.get("From", "")
    if not call_sid:
        abort(400)
    app = services()
    arrival = app.store.call_arrival(_start_key(call_sid), caller, app.reached_language())
    if arrival.mediator_id is not None:  # a mediator calling in for the callback queue
        return _twiml(welcome())
    if arrival.replay is not None:  # Twilio sent the call's start again
        return _twiml(arrival.replay)
    person = arrival.person
    assert person is not None
    if placed_calls.rung_back(app, person):  # free for the caller: Relais rings back
        return _twiml(reject_busy())
    return begin_call(call_sid, person)


def start_replay(call_sid: str) -> Response | None:
    """The first question already given to this call, if Twilio sends its start again."""
    replay = services().store.reply(_start_key(call_sid))
    return None if replay is None else _twiml(replay)


def _start_key(call_sid: str) -> str:
    return f"voice:{call_sid}:start"


def begin_call(call_sid: str, person: Person, opening: str | None = None) -> Response:
    """The dialogue's first question, for a call coming in or a call Relais placed (which
    opens with who is calling and why); the caller has checked `start_replay` first."""
    app = services()
    turn = turns.start(app, person, "voice", call_sid, opening)
    prompts = Prompts.of(turn.actions)
    if app.settings.voice_mode == "stream" and prompts is not None:  # heard on a Media Stream
        return _twiml(connect_call(turn.conversation, prompts, _start_key(call_sid)))
    return _respond(turn, _start_key(call_sid))


def _step(hear: Callable[[Exchange], Heard]) -> Response:
    app = services()
    conversation_id, step = query_number("c"), query_number("s")
    conversation = app.store.conversation(conversation_id)
    if conversation is None or conversation.call_sid != request.form.get("CallSid"):
        abort(404)
    key = f"voice:{conversation.call_sid}:{step}"
    if step < conversation.step:  # a step handled already: Twilio sent it again
        replay = app.store.reply(key)
        return _twiml(replay) if replay is not None else abort(409)
    if step > conversation.step:
        abort(409)  # a step that was never asked
    event, kind, raw, recording = hear(conversation)
    return _respond(turns.take(app, conversation, event, kind, raw, recording), key)


def _fixed(event: Input, kind: str, raw: str | None = None) -> Callable[[Exchange], Heard]:
    return lambda _conversation: (event, kind, raw, None)


def _keys_event(digits: str) -> Input:
    if len(digits) == 1:
        return Key(digits)
    number = digits.rstrip("#")
    return Digits(number, can_receive_sms(number, services().settings.sms_countries))


@blueprint.post("/voice/key")
@twilio_signed
def key() -> Response:
    digits = form_text("Digits", 32).strip()
    if not digits:
        return _step(_fixed(NoInput(), "no_input"))
    return _step(_fixed(_keys_event(digits), "key", digits))


@blueprint.post("/voice/record")
@twilio_signed
def record() -> Response:
    digits = form_text("Digits", 32).strip()
    if digits and digits != "hangup":  # a key ended the recording
        return _step(_fixed(_keys_event(digits), "key", digits))
    url = form_text("RecordingUrl", MAX_RECORDING_URL)
    if not url:
        return _step(_fixed(NoInput(), "no_input"))
    return _step(lambda conversation: _listen(conversation, url))


def _listen(conversation: Exchange, url: str) -> Heard:
    return spoken_answers.heard_recording(services(), conversation, url)


@blueprint.post("/voice/silence")
@twilio_signed
def silence() -> Response:
    return _step(_fixed(NoInput(), "no_input"))


@blueprint.post("/voice/status")
@twilio_signed
def status() -> Response:
    """How a call ended (runtime/status_reports.py), always answered 204."""
    call_sid = form_sid("CallSid")
    if not call_sid:
        abort(400)
    call_status = form_text("CallStatus", 32)
    duration = whole_number(request.form.get("CallDuration", ""))
    status_reports.call_status(services(), call_sid, call_status, duration)
    return Response("", status=204)
