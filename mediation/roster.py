"""Mediators: adding one (with a dashboard password and a phone-line PIN, hashed with
argon2), listing them."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Mediator
from core.phones import e164

_hasher = PasswordHasher()


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def check_secret(hashed: str | None, secret: str) -> bool:
    if not hashed:
        return False
    try:
        return _hasher.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
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
