"""What a request handler needs: settings, the engine, and a database session with its
store, opened for the request and closed after it."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g
from sqlalchemy.orm import Session

from dialogues.engine import Engine
from speech.service import Speech

from .settings import Settings
from .store import Store


@dataclass
class Services:
    settings: Settings
    engine: Engine
    speech: Speech
    session: Session
    store: Store


def services() -> Services:
    if "relais" not in g:
        session = current_app.config["RELAIS_SESSIONS"]()
        g.relais = Services(
            settings=current_app.config["RELAIS"],
            engine=current_app.config["RELAIS_ENGINE"],
            speech=current_app.config["RELAIS_SPEECH"],
            session=session,
            store=Store(session),
        )
    return g.relais


def close_services(_exc: BaseException | None = None) -> None:
    relais = g.pop("relais", None)
    if relais is not None:
        relais.session.close()
