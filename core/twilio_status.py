"""What Twilio's status callbacks report, in Twilio's order, and the callbacks that came
before Relais knew their sid.

Twilio sends a status callback once and in no guaranteed order: a late "sent" may come
after "delivered", a second callback of a call after its "completed". A status moves on
only to a later one in Twilio's order (`TwilioStatus.moves_on`), so a late or repeated
callback changes nothing. A callback for a sid Relais has no row for (yet) is kept as an
`EarlyStatus`: the SMS or the call it belongs to may be committed a moment later (its sid
comes back in the answer to the REST request, which the callback can overtake), and takes
it then (`reported`). Kept ones are forgotten after KEEP_EARLY.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from enum import StrEnum
from typing import Self

from sqlalchemy import Row, bindparam, delete
from sqlalchemy.orm import Session

from .models import EarlyStatus, now

log = logging.getLogger(__name__)

KEEP_EARLY = timedelta(days=1)


class TwilioStatus(StrEnum):
    """A status Twilio reports, with its rank in Twilio's order (equal ranks: the ends)."""

    rank: int

    def __new__(cls, value: str, rank: int) -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.rank = rank
        return member

    @classmethod
    def known(cls, value: str | None) -> Self | None:
        try:
            return cls(value)
        except ValueError:
            return None

    @classmethod
    def moves_on(cls, current: str | None, reported: str) -> bool:
        """Whether the `reported` status may replace `current`: a status of Twilio's later
        in its order; anything Twilio reports replaces what Relais wrote itself (none,
        "stored", "sending" before the request was answered...)."""
        new, old = cls.known(reported), cls.known(current)
        return new is not None and (old is None or new.rank > old.rank)


class CallStatus(TwilioStatus):
    QUEUED = "queued", 0
    RINGING = "ringing", 1
    IN_PROGRESS = "in-progress", 2
    COMPLETED = "completed", 3
    BUSY = "busy", 3
    NO_ANSWER = "no-answer", 3
    FAILED = "failed", 3
    CANCELED = "canceled", 3

    @property
    def ended(self) -> bool:
        return self.rank == 3


class MessageStatus(TwilioStatus):
    ACCEPTED = "accepted", 0
    SCHEDULED = "scheduled", 0
    QUEUED = "queued", 1
    SENDING = "sending", 2
    SENT = "sent", 3
    DELIVERED = "delivered", 4
    UNDELIVERED = "undelivered", 4
    FAILED = "failed", 4
    CANCELED = "canceled", 4


def keep_early(
    session: Session, sid: str, status: str, duration: int | None = None, error: str = ""
) -> None:
    """Keep a status callback whose sid Relais does not know (yet)."""
    session.execute(delete(EarlyStatus).where(EarlyStatus.created_at < now() - KEEP_EARLY))
    session.add(EarlyStatus(sid=sid, status=status, duration=duration, error=error or None))
    log.info("status %s of %s, which Relais does not know (yet): kept", status, sid)


_early_statuses = EarlyStatus.__table__
_taken = (
    delete(_early_statuses)
    .where(_early_statuses.c.sid == bindparam("sid"))
    .returning(*(_early_statuses.c[name] for name in ("id", "status", "duration", "error")))
)


def reported(session: Session, sid: str) -> list[Row]:
    """The status callbacks that came for `sid` before its row, oldest first (taken:
    deleted in the same statement, so they are applied once)."""
    return sorted(session.execute(_taken, {"sid": sid}), key=lambda row: row.id)
