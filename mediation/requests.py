"""Callback requests: their statuses and the moves between them, the queue mediators work
through (on the dashboard and on their phone line), and the notes Relais adds to a request
(in the dashboard's words, content/<lang>/dashboard.yaml `notes`)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy import Select, and_, case, select

from core.models import CallbackRequest, Person, now

from .when import paris_time

URGENT = 2  # priority of a person in danger: above a call (1) and an SMS (0)


class Status(StrEnum):
    """A request's status, as stored (the dashboard shows each in its words)."""

    NEW = "nouveau"  # nobody has taken it yet
    IN_PROGRESS = "en_cours"  # a mediator took it (live, on their line, on the dashboard)
    CALLED_BACK = "rappele"  # the person was reached
    UNREACHABLE = "injoignable"  # called, not reached: to call again
    CLOSED = "clos"


OPEN = (Status.NEW, Status.IN_PROGRESS, Status.UNREACHABLE)  # still waits for a call
UNTAKEN = (Status.NEW, Status.UNREACHABLE)  # waits, and no mediator is on it
TAKEN = (Status.IN_PROGRESS, Status.CALLED_BACK)  # someone is, or was, on it


def callback_queue(statuses: Sequence[str] | None = OPEN) -> Select[tuple[CallbackRequest]]:
    """The requests mediators work through, on the dashboard and on their phone line (with
    these statuses; None: all): a person in danger first while their request is open, then
    the new ones, by priority and age. The dashboard simulator's requests never show."""
    query = (
        select(CallbackRequest)
        .where(CallbackRequest.person.has(Person.sandbox.is_(False)))
        .order_by(
            case(
                (
                    and_(CallbackRequest.priority >= URGENT, CallbackRequest.status.in_(OPEN)),
                    0,
                ),
                (CallbackRequest.status == Status.NEW, 1),
                else_=2,
            ),
            CallbackRequest.priority.desc(),
            CallbackRequest.created_at,
        )
    )
    return query if statuses is None else query.where(CallbackRequest.status.in_(statuses))


def is_urgent(request: CallbackRequest) -> bool:
    return request.priority >= URGENT


def is_open(request: CallbackRequest) -> bool:
    return request.status in OPEN


def take(request: CallbackRequest, mediator_id: int, note: str = "") -> None:
    """A mediator takes the request: live, from their line, or from the dashboard."""
    request.status, request.taken_by = Status.IN_PROGRESS, mediator_id
    _touched(request, note)


def close(request: CallbackRequest) -> None:
    request.status = Status.CLOSED
    _touched(request)


def called(request: CallbackRequest, reached: bool, note: str = "") -> None:
    """How a call to the person ended: reached, or to call again."""
    request.status = Status.CALLED_BACK if reached else Status.UNREACHABLE
    _touched(request, note)


def set_status(request: CallbackRequest, status: Status, mediator_id: int) -> None:
    """A mediator sets the status on the dashboard; one who says the request is in
    progress or done takes it, if nobody had."""
    request.status = status
    if status in TAKEN and request.taken_by is None:
        request.taken_by = mediator_id
    _touched(request)


def add_note(request: CallbackRequest, note: str, stamped: bool = False) -> None:
    """A line at the end of the request's notes (after the day and time, `stamped`); the
    same line twice in a row is written once (a webhook or a job repeated)."""
    if stamped:
        note = f"{paris_time(now()).strftime('%d/%m %H:%M')} {note}"
    if note and note not in request.notes.splitlines()[-1:]:
        request.notes = f"{request.notes}\n{note}".strip()
    request.updated_at = now()


def _touched(request: CallbackRequest, note: str = "") -> None:
    if note:
        add_note(request, note)
    request.updated_at = now()
