"""The X-Twilio-Signature check every Twilio-facing route goes through.

The URL signed by Twilio is the public one (RELAIS_PUBLIC_URL), not what the server sees
behind a reverse proxy, so the check rebuilds it from the setting plus path and query.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, current_app, request
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from twilio.request_validator import RequestValidator

from .web import close_services

CONFLICT_TRIES = 3  # a webhook that lost a race, or its connection, is handled again


def public_request_url() -> str:
    query = request.query_string.decode("latin-1")
    return current_app.config["RELAIS"].public_url + request.path + (f"?{query}" if query else "")


def _worth_another_try(exc: Exception) -> bool:
    """A lost race (StaleDataError: the conversation changed; IntegrityError: the reply is
    stored already) or a connection found dead."""
    if isinstance(exc, (StaleDataError, IntegrityError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def twilio_signed(view: Callable) -> Callable:
    """Refuse (403, nothing stored) a request without a valid Twilio signature.

    Two webhooks of one conversation may arrive at once (Twilio retrying one, two texts
    sent together): the one whose transaction loses (the conversation changed under it, or
    its step's reply is stored already) is rolled back and handled again from the start,
    where it finds the new state, or the reply to send again. So is one whose database
    connection turned out dead (the server restarted since): the pool has dropped its
    connections by then, and the next attempt opens a new one."""

    @wraps(view)
    def checked(*args, **kwargs):
        signature = request.headers.get("X-Twilio-Signature", "")
        validator = RequestValidator(current_app.config["RELAIS"].auth_token)
        if not signature or not validator.validate(public_request_url(), request.form, signature):
            abort(403)
        for attempt in range(CONFLICT_TRIES):
            try:
                return view(*args, **kwargs)
            except (StaleDataError, DBAPIError) as exc:
                if attempt == CONFLICT_TRIES - 1 or not _worth_another_try(exc):
                    raise
                close_services()  # a new session, in a new transaction

    checked.twilio_signed = True
    return checked
