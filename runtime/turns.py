"""One turn of a conversation, the same for every channel: the engine's step, the effect of
each action applied once by the handler of its type (effects.py), the turns recorded, the
state saved. What comes back (`Turn`) is all a channel needs to render its reply without
touching anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models import Person, now
from core.phones import can_receive_sms
from core.store import Exchange
from core.web import Services
from dialogues.engine import Action, Ask, HandOff, Input, Say, SendProcedure, State, Words

from .effects import TEXT_CHANNELS, Handover, apply


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
    return Turn(conversation, state, actions, apply(app, conversation, actions))


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
    return Turn(conversation, state, actions, apply(app, conversation, actions))


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
