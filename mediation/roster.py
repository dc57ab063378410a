"""Mediators: adding one (with a dashboard password and a phone-line PIN, hashed with
argon2), listing them, checking a PIN typed on the phone line."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from functools import cache

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
# Wrong secrets in a row, over any number of calls, addresses or server processes (they
# are counted in the database), lock that secret for a while, whatever is then typed:
PIN_FAILURES, PIN_LOCK = 5, timedelta(minutes=30)  # the phone line's PIN
LOGIN_FAILURES, LOGIN_LOCK = 5, timedelta(minutes=15)  # the dashboard's password


def valid_pin(pin: str) -> bool:
    return pin.isascii() and pin.isdigit() and len(pin) >= MIN_PIN


def _later(locked: datetime | None, at: datetime) -> bool:
    if locked is not None and locked.tzinfo is None:  # SQLite gives naive UTC
        locked = locked.replace(tzinfo=UTC)
    return locked is not None and locked > at


def pin_locked(mediator: Mediator, at: datetime) -> bool:
    return _later(mediator.pin_locked_until, at)


@cache
def _nobody() -> str:
    """A hash to check a secret against when there is no account, so that an unknown
    phone number takes as long to refuse as a known one."""
    return hash_secret("nobody has this secret")


def _guarded(mediator: Mediator, kind: str, hashed: str | None, given: str, at: datetime) -> bool:
    failures, lock = (PIN_FAILURES, PIN_LOCK) if kind == "pin" else (LOGIN_FAILURES, LOGIN_LOCK)
    if _later(getattr(mediator, f"{kind}_locked_until"), at):
        check_secret(_nobody(), given)  # the same time as a real check
        return False
    if check_secret(hashed, given):
        setattr(mediator, f"{kind}_failures", 0)
        return True
    count = (getattr(mediator, f"{kind}_failures") or 0) + 1
    if count >= failures:
        count = 0
        setattr(mediator, f"{kind}_locked_until", at + lock)
        log.warning(
            "%d wrong %s for mediator %d in a row: locked for %d minutes",
            failures,
            "PINs" if kind == "pin" else "passwords",
            mediator.id,
            lock.total_seconds() // 60,
        )
    setattr(mediator, f"{kind}_failures", count)
    return False


def check_pin(mediator: Mediator, digits: str, at: datetime) -> bool:
    """Whether `digits` is the mediator's PIN (wrong ones counted across calls)."""
    return _guarded(mediator, "pin", mediator.pin_hash, digits, at)


def check_login(mediator: Mediator | None, password: str, at: datetime) -> bool:
    """Whether `password` opens this mediator's dashboard (wrong ones counted per account,
    whatever the address); an unknown or inactive account takes the same time."""
    if mediator is None or not mediator.active:
        check_secret(_nobody(), password)
        return False
    return _guarded(mediator, "login", mediator.password_hash, password, at)


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
