"""Mediators: adding one (with a dashboard password and a phone-line PIN, hashed with
argon2), listing them, checking a PIN typed on the phone line."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Mediator
from core.phones import e164

_hasher = PasswordHasher()
log = logging.getLogger(__name__)


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def check_secret(hashed: str | None, secret: str) -> bool:
    if not hashed:
        return False
    try:
        return _hasher.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False


MIN_PIN = 6  # digits of a mediator's PIN for the phone line
PIN_FAILURES = 5  # wrong PINs in a row, over any number of calls, lock the line...
PIN_LOCK = timedelta(minutes=30)  # ...for this long


def valid_pin(pin: str) -> bool:
    return pin.isascii() and pin.isdigit() and len(pin) >= MIN_PIN


def pin_locked(mediator: Mediator, at: datetime) -> bool:
    locked = mediator.pin_locked_until
    if locked is not None and locked.tzinfo is None:  # SQLite gives naive UTC
        locked = locked.replace(tzinfo=UTC)
    return locked is not None and locked > at


def check_pin(mediator: Mediator, digits: str, at: datetime) -> bool:
    """Whether `digits` is the mediator's PIN, counting wrong ones across calls: after
    PIN_FAILURES in a row the line is locked for PIN_LOCK, whatever is typed."""
    if pin_locked(mediator, at):
        return False
    if check_secret(mediator.pin_hash, digits):
        mediator.pin_failures = 0
        return True
    mediator.pin_failures = (mediator.pin_failures or 0) + 1
    if mediator.pin_failures >= PIN_FAILURES:
        mediator.pin_failures, mediator.pin_locked_until = 0, at + PIN_LOCK
        log.warning(
            "mediator line: %d wrong PINs for mediator %d, locked until %s",
            PIN_FAILURES,
            mediator.id,
            mediator.pin_locked_until.isoformat(timespec="minutes"),
        )
    return False


def add_mediator(
    session: Session,
    name: str,
    phone: str,
    password: str,
    topics: list[str],
    languages: list[str],
    pin: str | None = None,
) -> Mediator:
    if pin is not None and not valid_pin(pin):
        raise ValueError(f"a PIN is {MIN_PIN} digits or more")
    mediator = Mediator(
        name=name,
        phone=e164(phone),
        password_hash=hash_secret(password),
        pin_hash=hash_secret(pin) if pin else None,
        topics=topics,
        languages=languages,
    )
    session.add(mediator)
    session.flush()
    return mediator


def mediators(session: Session) -> list[Mediator]:
    return list(session.scalars(select(Mediator).order_by(Mediator.name)))
