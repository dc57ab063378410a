"""A streamed call's turns, and the webhook that takes over when the stream ends.

Each input heard on the stream (a key, words, nothing) is one turn through the runtime,
as for every other channel, stored at once. Its reply is either prompts, played on the
stream and remembered for the new step, or TwiML for the rest of the call (a hand-off,
the end), rendered by the record mode's own rendering and remembered under the call's
leave key before the stream server closes the websocket: Twilio then asks `<Connect>`'s
action, POST /voice/streamed?c=ID, which answers that TwiML. A stream that ended any other way (a
server restart, a network cut) while the conversation is still active gets a new
`<Connect>`: the call resumes at the question it was at; after MAX_RESUMES, the question
is asked as record mode asks it, whose webhooks take the call on.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, abort, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from twilio.twiml.voice_response import VoiceResponse

from core.signature import twilio_signed
from core.store import Exchange
from core.web import Services, close_services, query_number, services
from dialogues.engine import ACTIVE, Action, Ask, Input, Say, State
from runtime import turns
from speech.service import Speech

from .routes import _rendering
from .stream_twiml import Prompts, connect, leave_key, prompts_key, remember_prompts
from .twiml import render

log = logging.getLogger(__name__)
blueprint = Blueprint("stream", __name__)

TRIES = 3  # a turn that lost a race with another webhook of the call is taken again
MAX_RESUMES = 3  # streams lost in one call before record mode takes it on


def stream_turn(
    flask_app: Flask,
    conversation_id: int,
    event: Input,
    kind: str,
    raw: str | None,
    recording: str | None = None,
) -> Prompts | None:
    """Take a turn heard on the stream; the prompts to play next, or None: leave the
    stream (its TwiML is remembered for the action webhook)."""
    for attempt in range(TRIES):
        with flask_app.app_context():
            try:
                return _turn(services(), conversation_id, event, kind, raw, recording)
            except (StaleDataError, IntegrityError):
                if attempt == TRIES - 1:
                    raise
                close_services()
    return None


def _turn(
    app: Services,
    conversation_id: int,
    event: Input,
    kind: str,
    raw: str | None,
    recording: str | None,
) -> Prompts | None:
    conversation = app.store.conversation(conversation_id)
    if conversation is None or State.from_dict(conversation.state).status != ACTIVE:
        return None
    turn = turns.take(app, conversation, event, kind, raw, recording)
    prompts = Prompts.of(turn.actions)
    if prompts is None:
        how = _rendering(conversation.id, conversation.step, turn.state.lang)
        body = render(turn.actions, how, turn.handover)
        key = leave_key(conversation.call_sid or "")
        app.store.remember_reply(key, body, conversation.person_id)
    else:
        remember_prompts(app.store, conversation, prompts)
    app.session.commit()
    return prompts


def current_prompts(flask_app: Flask, conversation_id: int, call_sid: str) -> Prompts | None:
    """What the conversation waits on, for a stream that (re)connects: the prompts of its
    current step; None when it is not this call's, or no longer waits on the stream."""
    with flask_app.app_context():
        app = services()
        conversation = app.store.conversation(conversation_id)
        if conversation is None or conversation.call_sid != call_sid:
            return None
        if State.from_dict(conversation.state).status != ACTIVE:
            return None
        body = app.store.reply(prompts_key(call_sid, conversation.step))
        return None if body is None else Prompts.loads(body)


def listening(flask_app: Flask, conversation_id: int) -> tuple[Speech, tuple[str, ...]]:
    """The speech of the conversation's language (its prompts, its model) and the words
    its current question may be answered with (its grammar)."""
    with flask_app.app_context():
        app = services()
        conversation = app.store.conversation(conversation_id)
        state = State.from_dict(conversation.state) if conversation else None
        language = app.speaking(state.lang if state else None)
        words = language.engine.expected_words(state) if state else ()
        return language.speech, words


@blueprint.post("/voice/streamed")
@twilio_signed
def streamed() -> Response:
    """`<Connect>`'s action: the stream has ended. The rest of the call as the stream
    left it, a new stream where the call was, or the end of a call already over."""
    app = services()
    conversation = app.store.conversation(query_number("c"))
    if conversation is None or conversation.call_sid != request.form.get("CallSid"):
        abort(404)
    left = app.store.reply(leave_key(conversation.call_sid))
    if left is not None:
        return Response(left, mimetype="text/xml")
    if State.from_dict(conversation.state).status != ACTIVE:
        response = VoiceResponse()
        response.hangup()
        return Response(str(response), mimetype="text/xml")
    for attempt in range(MAX_RESUMES):
        key = f"{leave_key(conversation.call_sid)}:resume:{attempt}"
        if app.store.reply(key) is None:
            log.info("stream of conversation %s ended early: connecting again", conversation.id)
            body = connect(conversation.id)
            app.store.remember_reply(key, body, conversation.person_id)
            app.session.commit()
            return Response(body, mimetype="text/xml")
    log.warning("stream of conversation %s lost again: record mode goes on", conversation.id)
    return Response(_in_record_mode(conversation), mimetype="text/xml")


def _in_record_mode(conversation: Exchange) -> str:
    """The question the conversation waits on, asked as record mode asks it (<Gather>,
    <Record>): its webhooks take the call on from this step."""
    body = services().store.reply(prompts_key(conversation.call_sid or "", conversation.step))
    prompts = Prompts.loads(body) if body else Prompts(())
    *said, (text, node) = prompts.texts or (("", None),)
    actions: list[Action] = [Say(each) for each, _ in said]
    actions.append(Ask(node or "", text, (), prompts.number))
    lang = State.from_dict(conversation.state).lang
    return render(actions, _rendering(conversation.id, conversation.step, lang))
