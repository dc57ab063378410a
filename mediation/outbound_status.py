"""The statuses of a call Relais places (`OutboundCall.status`) and the moves between them.

A call waits to be placed, then rings; from ringing it is answered (by a person, a
machine, a fax), not reached (a click-to-call keeps Twilio's word for it, a ring-back is
tried again, until it is given up), or failed. A call never placed fails from waiting.
Any other move is refused and changes nothing, as a status Twilio reports late does.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from core.models import OutboundCall, now

log = logging.getLogger(__name__)


class OutboundStatus(StrEnum):
    """An outbound call's status, as stored."""

    WAITING = "waiting"  # to be placed by the place_call job
    CALLING = "calling"  # placed: ringing at Twilio's
    ANSWERED = "answered"  # a person (or the mediator of a click-to-call) answered
    MACHINE = "machine"  # an answering machine: the ring-back's message was left on it
    FAX = "fax"
    NO_ANSWER = "no-answer"  # a click-to-call's mediator not reached, in Twilio's words
    BUSY = "busy"
    CANCELED = "canceled"
    FAILED = "failed"  # never placed, refused by Twilio, or unknown to it
    GIVEN_UP = "given_up"  # a ring-back not reached on any of its tries


UNDER_WAY = (OutboundStatus.WAITING, OutboundStatus.CALLING)  # a ring now is the same request

MOVES: dict[OutboundStatus, frozenset[OutboundStatus]] = {
    OutboundStatus.WAITING: frozenset({OutboundStatus.CALLING, OutboundStatus.FAILED}),
    OutboundStatus.CALLING: frozenset(
        {
            OutboundStatus.WAITING,  # a ring-back not reached, tried again later
            OutboundStatus.ANSWERED,
            OutboundStatus.MACHINE,
            OutboundStatus.FAX,
            OutboundStatus.NO_ANSWER,
            OutboundStatus.BUSY,
            OutboundStatus.CANCELED,
            OutboundStatus.FAILED,
            OutboundStatus.GIVEN_UP,
        }
    ),
}


def move(call: OutboundCall, status: OutboundStatus) -> bool:
    """Set the call's status if it may move there (the same status again, a webhook sent
    twice, is no move); whether it was set."""
    if status != call.status and status not in MOVES.get(call.status, ()):
        log.warning("call %s: %s -> %s refused", call.id, call.status, status)
        return False
    call.status, call.updated_at = status, now()
    return True
