"""One turn of a conversation, the same for every channel: the engine's step, the effect of
each action applied once (a procedure sent by SMS, a hand-off to a mediator), the turns
recorded, the state saved. What comes back (`Turn`) is all a channel needs to render its
reply without touching anything.

Two things differ between channels, and only here: a text channel's reply carries the
procedure's SMS itself (a call's procedure is sent as an SMS), and only a live channel (a
call) can be put through to a mediator now.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models import Mediator, Person, now
from core.outbound import send_sms
from core.phones import can_receive_sms, e164
from core.store import Exchange
from core.web import Services
from dialogues.engine import (
    Action,
    Ask,
    Engine,
    HandOff,
    Input,
    Say,
    SendProcedure,
    State,
    Words,
)
from dialogues.model import ANY_TOPIC
from mediation.handoff import available_mediators, has_mediators, open_request, take_a_message

TEXT_CHANNELS = frozenset({"sms"})  # the reply itself is the text: a procedure goes in it
LIVE_CHANNELS = frozenset({"voice"})  # a person on the line can be put through now


@dataclass(frozen=True)
class Handover:
    """What a hand-off became: its callback request, the mediators to ring now (a call in
    opening hours; none: the person leaves a message), and what the person is told."""

    request_id: int
    urgent: bool
    searching: bool  # a mediator is registered: "Je cherche une personne..." is true
    ring: tuple[Mediator, ...]  # to ring one after the other, with the whisper
    promise: str  # when they will be called back, or where to find help ("" : nothing)


@dataclass(frozen=True)
class Turn:
    """A turn taken: the conversation, its new state, what to say, and the hand-off."""

    conversation: Exchange
    state: State
    actions: list[Action]
    handover: Handover | None = None


def start(
    app: Services,
    person: Person,
    channel: str,
    call_sid: str | None = None,
    opening: str | None = None,
) -> Turn:
    """A new conversation at the dialogue's start, in the person's language: what Relais
    says first (after `opening`, the reason of a call Relais placed), recorded. (A text
    that opens a conversation answers its first question itself: `open_with`.)"""
    state, actions = _start(app, person, channel)
    if opening:
        actions = [Say(opening), *actions]
    conversation = app.store.start(person, channel, state, call_sid=call_sid)
    app.store.add_turns(conversation.id, _action_turns(state.node, actions), _later(actions))
    return Turn(conversation, state, actions, _apply(app, conversation, actions))


def _start(app: Services, person: Person, channel: str) -> tuple[State, list[Action]]:
    return app.speaking(person.language).engine.start(
        channel,
        autonomy=person.known_autonomy(now(), app.settings.autonomy_months),
        can_sms=channel in TEXT_CHANNELS
        or can_receive_sms(person.phone, app.settings.sms_countries),
    )


def open_with(
    app: Services, person: Person, channel: str, event: Input, kind: str, raw: str
) -> Turn:
    """A new conversation whose first input is there already (a text that opens an SMS
    exchange answers the dialogue's first question itself, which is never sent): the
    same as a conversation started, its first question not said, then `take`, stored
    with one statement fewer."""
    before, _ = _start(app, person, channel)
    state, actions = app.speaking(before.lang).engine.step(before, event)
    conversation = app.store.start(person, channel, state, before=before)
    return _recorded(app, conversation, before, state, event, actions, kind, raw)


def take(
    app: Services,
    conversation: Exchange,
    event: Input,
    kind: str,
    raw: str | None,
    recording_ref: str | None = None,
) -> Turn:
    """Feed one input to the engine of the conversation's language, apply what comes
    back, record both, save the state."""
    before = State.from_dict(conversation.state)
    state, actions = app.speaking(before.lang).engine.step(before, event)
    app.store.save(conversation, before, state)
    return _recorded(app, conversation, before, state, event, actions, kind, raw, recording_ref)


def _recorded(
    app: Services,
    conversation: Exchange,
    before: State,
    state: State,
    event: Input,
    actions: list[Action],
    kind: str,
    raw: str | None,
    recording_ref: str | None = None,
) -> Turn:
    """A turn taken: its input and actions recorded, then the actions applied (after the
    turns: a hand-off's summary tells what was just said)."""
    turns = _turns_of(before, state, event, kind, raw, actions, recording_ref)
    app.store.add_turns(conversation.id, turns, _later(actions))
    return Turn(conversation, state, actions, _apply(app, conversation, actions))


def _turns_of(
    before: State,
    state: State,
    event: Input,
    kind: str,
    raw: str | None,
    actions: list[Action],
    recording_ref: str | None = None,
) -> list[dict]:
    """The turns of one input: what was received, then what Relais did."""
    received = {
        "kind": kind,
        "node": before.node,
        "raw": raw,
        "recognised": state.understood,
        "confidence": event.confidence if isinstance(event, Words) else None,
        "recording_ref": recording_ref,
    }
    return [received, *_action_turns(state.node, actions)]


def _later(actions: list[Action]) -> bool:
    """The turns may wait for the reply: no hand-off's summary reads them before."""
    return not any(isinstance(action, HandOff) for action in actions)


def _apply(app: Services, conversation: Exchange, actions: list[Action]) -> Handover | None:
    handover = None
    engine = app.speaking(conversation.state.get("lang")).engine
    for action in actions:
        if isinstance(action, SendProcedure) and conversation.channel not in TEXT_CHANNELS:
            _send_procedure(app, engine, conversation, action)
        elif isinstance(action, HandOff):
            handover = _hand_off(app, engine, conversation, action)
    return handover


def _send_procedure(
    app: Services, engine: Engine, conversation: Exchange, action: SendProcedure
) -> None:
    procedure = engine.content.procedures[action.procedure]
    to = e164(action.to) if action.to else conversation.person.phone
    person = conversation.person
    send_sms(app.session, app.settings, person, to, procedure.sms, conversation.id, procedure.id)


def _hand_off(app: Services, engine: Engine, conversation: Exchange, action: HandOff) -> Handover:
    """The callback request, then who to ring now; when nobody can take the call now, the
    person is told when they will be called back (by SMS too, after a call). A person in
    danger with nobody to call back has had their line already: nothing is added."""
    request = open_request(app.session, engine, conversation, action, app.settings)
    searching = has_mediators(app.session)
    ring: tuple[Mediator, ...] = ()
    if conversation.channel in LIVE_CHANNELS:
        # A person in danger is put through to any mediator on duty, whatever their topics.
        topic = ANY_TOPIC if action.urgent else action.topic
        lang = engine.content.lang
        ring = tuple(available_mediators(app.session, app.settings, topic, lang, conversation.id))
    promise = ""
    if not ring and (searching or not action.urgent or conversation.channel in LIVE_CHANNELS):
        on_call = conversation.channel in LIVE_CHANNELS
        promise = take_a_message(app.session, app.settings, engine, request, on_call)
    return Handover(request.id, action.urgent, searching, ring, promise)


def _action_turns(node: str | None, actions: list[Action]) -> list[dict]:
    turns: list[dict[str, str | None]] = []
    for action in actions:
        if isinstance(action, Ask):
            turns.append({"kind": "prompt", "node": action.node, "raw": action.text})
        elif isinstance(action, Say):
            turns.append({"kind": "prompt", "node": node, "raw": action.text})
        elif isinstance(action, SendProcedure):
            turns.append({"kind": "sent", "node": node, "recognised": action.procedure})
        elif isinstance(action, HandOff):
            turns.append(
                {"kind": "handoff", "node": node, "recognised": action.topic, "raw": action.reason}
            )
    return turns
