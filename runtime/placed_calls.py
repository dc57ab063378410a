"""The calls Relais places, as the voice webhooks report them, applied and committed (the
voice channel parses them and renders its reply; mediation/calls.py owns the calls): a
missed call to ring back, who answered when no dialogue follows, who answered a dialled
person's leg, how a placed call ended, how a mediator's call to the person ended."""

from __future__ import annotations

from core.models import OutboundCall, Person
from core.twilio_status import keep_early, reported
from core.web import Services
from mediation.calls import (
    answered_by_machine,
    call_ended,
    dial_outcome,
    note_outcome,
    take_as_missed,
)
from mediation.outbound_status import OutboundStatus, move
from mediation.words import load_words


def rung_back(app: Services, person: Person) -> bool:
    """In missed-call mode, whether this incoming call is rejected (free for the caller)
    because Relais rings back: a new ring-back placed, or one under way already."""
    if not take_as_missed(app.session, app.settings, person):
        return False
    app.session.commit()
    return True


def answered(app: Services, call: OutboundCall, status: OutboundStatus) -> None:
    """A placed call answered with no dialogue to follow: the mediator of a click-to-call
    (who presses a key next), an answering machine, a fax. (A person who answers a
    ring-back has their status stored with the dialogue's first turn.)"""
    move(call, status)
    app.session.commit()


def leg_answered(app: Services, leg_sid: str, answered_by: str) -> None:
    """Who answered a dialled person's leg (answering-machine detection)."""
    answered_by_machine(app.session, leg_sid, answered_by)
    app.session.commit()


def status_reported(app: Services, call_id: int, call_sid: str, outcome: str) -> bool:
    """A placed call's status callback; whether it was applied to the call. One that
    overtook the call's sid (place_call has not written it yet) is kept and committed for
    that job, and applied here only if the sid has been written meanwhile, with any others
    kept for it."""
    call = app.session.get(OutboundCall, call_id)
    if call is None or call.call_sid != call_sid:
        # Before place_call has written the sid (or a call forgotten since): kept for it.
        keep_early(app.session, call_sid, outcome)
        app.session.commit()
        call = app.session.get(OutboundCall, call_id)
        if call is None or call.call_sid != call_sid:
            return False
        outcomes = [early.status for early in reported(app.session, call_sid)]
    else:
        outcomes = [outcome]
    words = load_words(app.settings.content_dir)
    for each in outcomes:
        call_ended(app.session, call, each, words)
    app.session.commit()
    return True


def bridge_ended(app: Services, callback_id: int, dial_status: str, leg_sid: str) -> None:
    """The mediator's call to the person of a request ended: reached or not, on the request."""
    outcome = dial_outcome(app.session, dial_status, leg_sid)
    note_outcome(app.session, callback_id, outcome, load_words(app.settings.content_dir))
    app.session.commit()
