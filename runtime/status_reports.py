"""Twilio's status callbacks for calls and texts, applied and committed (the channels
parse them and answer 204): how a call ended, how a message went."""

from __future__ import annotations

from core.outbound import note_status, status_before_sid
from core.twilio_status import CallStatus, keep_early
from core.web import Services
from dialogues.engine import ACTIVE, HangUp, State

from . import turns


def call_status(app: Services, call_sid: str, status: str, duration: int | None) -> None:
    """How a call ended. A call without a conversation (a missed call rejected for a
    ring-back, a mediator's call to their line, a sid Relais does not know) is kept; a
    status that does not move on in Twilio's order (a callback late, repeated, or a second
    end) changes nothing. A caller who hung up in the middle of the dialogue is a turn."""
    conversation = app.store.call(call_sid)
    if conversation is None:
        keep_early(app.session, call_sid, status, duration)
        app.session.commit()
        return
    ended = CallStatus.known(status)
    if ended is None or not ended.ended or not CallStatus.moves_on(conversation.call_status, ended):
        return
    if State.from_dict(conversation.state).status == ACTIVE:
        turns.take(app, conversation, HangUp(), "hangup", None)
    app.store.end_call(conversation, status, duration)
    app.session.commit()


def message_status(app: Services, sid: str, status: str, error: str) -> None:
    """How a message Relais sent went. One that overtook the message's sid (Twilio's answer
    to the send request) is kept for it; one for an unknown sid is kept and logged; a
    status earlier in Twilio's order than the message's changes nothing."""
    message = app.store.message(sid)
    if message is not None:
        note_status(message, status, error)
    else:
        status_before_sid(app.session, sid, status, error)
    app.session.commit()
