"""The effect of each action of a turn, applied once, by the handler of its type: a
procedure sent by SMS, a hand-off to a mediator, the end. A new action is one more
handler in HANDLERS (a turn with an action that has none fails loudly).

Two things differ between channels, and only here: a text channel's reply carries the
procedure's SMS itself (a call's procedure is sent as an SMS), and only a live channel (a
call) can be put through to a mediator now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.models import Mediator
from core.outbound import send_sms
from core.phones import e164
from core.store import Exchange
from core.web import Services
from dialogues.engine import Action, Ask, End, Engine, HandOff, Say, SendProcedure
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


# A handler applies one action of a conversation, in its language's engine; a hand-off's
# says what it became.
Handler = Callable[[Services, Engine, Exchange, Any], Handover | None]


def apply(app: Services, conversation: Exchange, actions: list[Action]) -> Handover | None:
    """Each action's effect, once, in order; what the turn's hand-off became, if any."""
    handover = None
    engine = app.speaking(conversation.state.get("lang")).engine
    for action in actions:
        handover = HANDLERS[type(action)](app, engine, conversation, action) or handover
    return handover


def _spoken(app: Services, engine: Engine, conversation: Exchange, action: Say | Ask) -> None:
    """Said or asked in the channel's reply: no effect of its own."""


def _send_procedure(
    app: Services, engine: Engine, conversation: Exchange, action: SendProcedure
) -> None:
    """A call's procedure, sent by SMS (a text channel's reply carries it itself)."""
    if conversation.channel in TEXT_CHANNELS:
        return
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


def _end(app: Services, engine: Engine, conversation: Exchange, action: End) -> None:
    """The end is in the conversation's state, which the store saves with the turn (its
    outcome and when it ended): nothing more to apply."""


HANDLERS: dict[type, Handler] = {
    Say: _spoken,
    Ask: _spoken,
    SendProcedure: _send_procedure,
    HandOff: _hand_off,
    End: _end,
}
