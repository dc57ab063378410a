"""One turn of a conversation, the same for every channel: the engine's step, the turns
recorded, the state saved."""

from __future__ import annotations

from dialogues.engine import Action, Ask, Engine, HandOff, Input, Say, SendProcedure, State, Words

from .models import Conversation
from .store import Store


def record_actions(store: Store, conversation: Conversation, actions: list[Action]) -> None:
    for action in actions:
        if isinstance(action, Ask):
            store.turn(conversation, "prompt", action.node, raw=action.text)
        elif isinstance(action, Say):
            store.turn(conversation, "prompt", conversation.state.get("node"), raw=action.text)
        elif isinstance(action, SendProcedure):
            store.turn(conversation, "sent", recognised=action.procedure)
        elif isinstance(action, HandOff):
            store.turn(conversation, "handoff", recognised=action.topic, raw=action.reason)


def take_turn(
    store: Store,
    engine: Engine,
    conversation: Conversation,
    event: Input,
    kind: str,
    raw: str | None,
    recording_ref: str | None = None,
) -> tuple[State, list[Action]]:
    """Feed one input to the engine, record it and what came back, save the state."""
    before = State.from_dict(conversation.state)
    state, actions = engine.step(before, event)
    if state.node != before.node:
        recognised = state.node
    else:
        recognised = state.pending["kind"] if state.pending else None
    store.turn(
        conversation,
        kind,
        before.node,
        raw=raw,
        recognised=recognised,
        confidence=event.confidence if isinstance(event, Words) else None,
        recording_ref=recording_ref,
    )
    store.save(conversation, state)
    record_actions(store, conversation, actions)
    return state, actions
