"""Twilio voice webhooks.

- POST /voice          an incoming call: a new conversation, the welcome question
- POST /voice/key      the key(s) a caller pressed (Gather action)
- POST /voice/record   a spoken answer (Record action); a key that ended it counts as a key
- POST /voice/silence  nothing pressed, nothing said
- POST /voice/status   the call status callback: where and how the call ended

Each question's URLs carry the conversation id and its step (`?c=12&s=3`): a webhook that
Twilio sends again for a step already handled gets the same TwiML and changes nothing.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request

from dialogues.engine import Digits, HangUp, Input, Key, NoInput, SendProcedure, State, Words
from relais.conversations import record_actions, take_turn
from relais.outbound import send_sms
from relais.phones import can_receive_sms, e164
from relais.signature import twilio_signed
from relais.web import services

from .twiml import render

blueprint = Blueprint("ivr", __name__)

MAX_RECORDING_URL = 1000


def _twiml(body: str) -> Response:
    return Response(body, mimetype="text/xml")


def _urls(conversation_id: int, step: int):
    base = current_app.config["RELAIS"].public_url

    def url(kind: str) -> str:
        return f"{base}/voice/{kind}?c={conversation_id}&s={step}"

    return url


def _respond(conversation, actions, key: str) -> Response:
    """Render the actions, perform their side effects, remember the reply."""
    app = services()
    content = app.engine.content
    for action in actions:
        if isinstance(action, SendProcedure):
            procedure = content.procedures[action.procedure]
            to = e164(action.to) if action.to else conversation.person.phone
            send_sms(
                app.session,
                app.settings,
                conversation.person,
                to,
                procedure.sms,
                conversation.id,
                procedure.id,
            )
    body = render(actions, _urls(conversation.id, conversation.step), content.phrase("callback"))
    app.store.remember_reply(key, body)
    app.session.commit()
    return _twiml(body)


@blueprint.post("/voice")
@twilio_signed
def incoming() -> Response:
    call_sid = request.form.get("CallSid", "")
    caller = request.form.get("From", "")
    if not call_sid:
        abort(400)
    app = services()
    key = f"voice:{call_sid}:start"
    replay = app.store.reply(key)
    if replay is not None:
        return _twiml(replay)
    person = app.store.person(caller)
    state, actions = app.engine.start(
        "voice", autonomy=person.autonomy, can_sms=can_receive_sms(person.phone)
    )
    conversation = app.store.start(person, "voice", state, call_sid=call_sid)
    record_actions(app.store, conversation, actions)
    return _respond(conversation, actions, key)


def _step(event: Input, kind: str, raw: str | None, recording_ref: str | None = None) -> Response:
    app = services()
    try:
        conversation_id, step = int(request.args["c"]), int(request.args["s"])
    except (KeyError, ValueError):
        abort(400)
    conversation = app.store.conversation(conversation_id)
    if conversation is None or conversation.call_sid != request.form.get("CallSid"):
        abort(404)
    key = f"voice:{conversation.call_sid}:{step}"
    replay = app.store.reply(key)
    if replay is not None:
        return _twiml(replay)
    if step != conversation.step:
        abort(409)  # a step that was never asked
    _, actions = take_turn(app.store, app.engine, conversation, event, kind, raw, recording_ref)
    return _respond(conversation, actions, key)


def _keys_event(digits: str) -> Input:
    if len(digits) == 1:
        return Key(digits)
    number = digits.rstrip("#")
    return Digits(number, can_receive_sms(number))


@blueprint.post("/voice/key")
@twilio_signed
def key() -> Response:
    digits = request.form.get("Digits", "").strip()[:32]
    if not digits:
        return _step(NoInput(), "no_input", None)
    return _step(_keys_event(digits), "key", digits)


@blueprint.post("/voice/record")
@twilio_signed
def record() -> Response:
    digits = request.form.get("Digits", "").strip()[:32]
    if digits and digits != "hangup":
        return _step(_keys_event(digits), "key", digits)
    recording = request.form.get("RecordingUrl", "")[:MAX_RECORDING_URL]
    if not recording:
        return _step(NoInput(), "no_input", None)
    # Recognition comes with the speech module; until then a recording is a no-match.
    return _step(Words("", 0.0), "recording", None, recording_ref=recording)


@blueprint.post("/voice/silence")
@twilio_signed
def silence() -> Response:
    return _step(NoInput(), "no_input", None)


@blueprint.post("/voice/status")
@twilio_signed
def status() -> Response:
    app = services()
    conversation = app.store.call(request.form.get("CallSid", ""))
    if conversation is None:
        abort(404)
    key = f"voice:{conversation.call_sid}:status:{request.form.get('CallStatus', '')}"
    if app.store.reply(key) is None:
        state = State.from_dict(conversation.state)
        if state.status == "active":
            take_turn(app.store, app.engine, conversation, HangUp(), "hangup", None)
        try:
            duration = int(request.form.get("CallDuration", ""))
        except ValueError:
            duration = None
        app.store.end_call(conversation, request.form.get("CallStatus", "")[:32], duration)
        app.store.remember_reply(key, "")
        app.session.commit()
    return Response("", status=204)
