"""One turn of a conversation, the same for every channel: the engine's step, the turns
recorded, the state saved."""

from __future__ import annotations

from dialogues.engine import Action, Ask, Engine, HandOff, Input, Say, SendProcedure, State, Words

from .store import Exchange, Store


def _action_turns(node: str | None, actions: list[Action]) -> list[dict]:
    turns = []
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


def record_actions(store: Store, conversation: Exchange, actions: list[Action]) -> None:
    store.add_turns(conversation.id, _action_turns(conversation.state.get("node"), actions))


def take_turn(
    store: Store,
    engine: Engine,
    conversation: Exchange,
    event: Input,
    kind: str,
    raw: str | None,
    recording_ref: str | None = None,
) -> tuple[State, list[Action]]:
    """Feed one input to the engine, record it and what came back, save the state."""
    before = State.from_dict(conversation.state)
    state, actions = engine.step(before, event)
    received = {
        "kind": kind,
        "node": before.node,
        "raw": raw,
        "recognised": state.understood,
        "confidence": event.confidence if isinstance(event, Words) else None,
        "recording_ref": recording_ref,
    }
    store.save(conversation, before, state)
    store.add_turns(conversation.id, [received, *_action_turns(state.node, actions)])
    return state, actions
