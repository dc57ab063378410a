"""What a request handler needs: settings, the engine, and a database session with its
store, opened for the request and closed after it; what a request brings, read so that the
database can keep it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import abort, current_app, g, has_request_context, request
from sqlalchemy.orm import Session

from dialogues.engine import Engine
from speech.service import Speech

from .phones import e164
from .settings import Settings
from .store import Store

MAX_NUMBER = 2**31 - 1  # the largest value of an Integer column (PostgreSQL's integer)
SID = re.compile(r"[A-Za-z0-9]{1,64}")  # Twilio's identifiers: CA…, SM…, 34 characters


@dataclass(frozen=True)
class Language:
    """One language served: its dialogue engine (content) and its speech."""

    engine: Engine
    speech: Speech


@dataclass
class Services:
    settings: Settings
    engine: Engine  # the first language's: the mediators' (their line, the dashboard)
    speech: Speech
    session: Session
    store: Store
    languages: dict[str, Language]

    def speaking(self, lang: str | None) -> Language:
        """A language served (a person's, a conversation's); the first one otherwise."""
        return self.languages.get(lang or "") or self.languages[self.settings.language]

    def reached_language(self) -> str:
        """The language of the service number this webhook's person reached (To)."""
        to = request.form.get("To", "") if has_request_context() else ""
        return self.settings.number_languages.get(e164(to), self.settings.language)


# Set in the WSGI environ of the webhooks the dashboard's simulator sends in-process (a
# client cannot set it: HTTP headers arrive as HTTP_*).
SANDBOX = "relais.sandbox"


def sandboxed(settings: Settings) -> Settings:
    """The settings of the simulator's webhooks: SMS kept in the outbox, never sent;
    no call placed (no ring-back, no Twilio account)."""
    return settings.replace(sms_transport="outbox", missed_call=False, account_sid="")


def _in_sandbox() -> bool:
    return has_request_context() and bool(request.environ.get(SANDBOX))


def services() -> Services:
    if "relais" not in g:
        session = current_app.config["RELAIS_SESSIONS"]()
        settings = current_app.config["RELAIS"]
        g.relais = Services(
            settings=sandboxed(settings) if _in_sandbox() else settings,
            engine=current_app.config["RELAIS_ENGINE"],
            speech=current_app.config["RELAIS_SPEECH"],
            session=session,
            store=Store(session),
            languages=current_app.config["RELAIS_LANGUAGES"],
        )
    return g.relais


def close_services(_exc: BaseException | None = None) -> None:
    relais = g.pop("relais", None)
    if relais is not None:
        relais.session.close()


def whole_number(value: str) -> int | None:
    """`value` as a whole number that the database can store (an id, a step, a position, a
    duration), or None when it is anything else: signs, spaces, other digits, too large."""
    if value.isascii() and value.isdigit() and len(value) <= len(str(MAX_NUMBER)):
        number = int(value)
        return number if number <= MAX_NUMBER else None
    return None


def query_number(name: str) -> int:
    """A whole number from the query string; a missing or odd one is a bad request (400)."""
    number = whole_number(request.args.get(name, ""))
    if number is None:
        abort(400)
    return number


def form_text(name: str, limit: int) -> str:
    """A form parameter cut to `limit` characters, without NUL characters (which PostgreSQL
    refuses, even in a query, and no Twilio parameter carries)."""
    return request.form.get(name, "").replace("\x00", "")[:limit]


def form_sid(name: str) -> str:
    """A Twilio identifier from the form (CallSid, MessageSid); "" for what cannot be one."""
    value = request.form.get(name, "")
    return value if SID.fullmatch(value) else ""
