"""The statuses of the calls Relais places, in-process: who answered, and the moves a
call may make (any other is refused and changes nothing)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.models import OutboundCall
from mediation.calls import who_answered
from mediation.outbound_status import MOVES, OutboundStatus, move

LONG_AGO = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _call(status: OutboundStatus) -> OutboundCall:
    return OutboundCall(id=1, purpose="ring_back", status=status, updated_at=LONG_AGO)


@pytest.mark.parametrize(
    ("answered_by", "status"),
    [
        ("human", OutboundStatus.ANSWERED),
        ("unknown", OutboundStatus.ANSWERED),  # nothing said: perhaps a person
        ("", OutboundStatus.ANSWERED),  # a mediator's call: no detection
        ("machine_end_beep", OutboundStatus.MACHINE),
        ("machine_end_silence", OutboundStatus.MACHINE),
        ("fax", OutboundStatus.FAX),
    ],
)
def test_who_answered_a_placed_call(answered_by: str, status: OutboundStatus) -> None:
    assert who_answered(answered_by) == status


def test_a_call_waits_rings_and_is_answered() -> None:
    call = _call(OutboundStatus.WAITING)
    assert move(call, OutboundStatus.CALLING) and call.status == OutboundStatus.CALLING
    assert call.updated_at > LONG_AGO
    assert move(call, OutboundStatus.ANSWERED) and call.status == "answered"
    assert move(call, OutboundStatus.ANSWERED)  # the same webhook again: no move


def test_a_ring_back_not_reached_waits_again() -> None:
    call = _call(OutboundStatus.CALLING)
    assert move(call, OutboundStatus.WAITING) and call.status == "waiting"


@pytest.mark.parametrize(
    ("current", "refused"),
    [
        (OutboundStatus.WAITING, OutboundStatus.ANSWERED),  # never rang
        (OutboundStatus.ANSWERED, OutboundStatus.CALLING),
        (OutboundStatus.GIVEN_UP, OutboundStatus.ANSWERED),  # a late webhook
        (OutboundStatus.FAILED, OutboundStatus.WAITING),
        (OutboundStatus.MACHINE, OutboundStatus.NO_ANSWER),
    ],
)
def test_an_unknown_move_is_refused_and_changes_nothing(
    current: OutboundStatus, refused: OutboundStatus
) -> None:
    call = _call(current)
    assert not move(call, refused)
    assert call.status == current and call.updated_at == LONG_AGO


def test_only_waiting_and_calling_move_on() -> None:
    assert set(MOVES) == {OutboundStatus.WAITING, OutboundStatus.CALLING}
    assert set(MOVES[OutboundStatus.CALLING]) == set(OutboundStatus) - {OutboundStatus.CALLING}
