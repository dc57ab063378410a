"""The X-Twilio-Signature check every Twilio-facing route goes through.

The URL signed by Twilio is the public one (RELAIS_PUBLIC_URL, path prefix included), not
what the server sees behind a reverse proxy, so the check rebuilds it from the setting
plus path and query.

Twilio signs with the account's auth token and HMAC-SHA1, unless a Webhook Rule applies a
Webhook Setting that signs with one of the account's SharedKeys: then it adds the header
X-Twilio-Webhooks-Signature-Settings ("key=<SharedKey id>,algorithm=HMAC_SHA256") and
signs the same string (the URL, then the sorted form parameters) with that key's secret
and that algorithm. Relais knows the secrets by id (TWILIO_WEBHOOK_SHARED_KEYS); a key it
does not know, or an algorithm the twilio library does not, is refused like a bad
signature.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import wraps

from flask import abort, current_app, request
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from twilio.request_validator import (
    HMAC_SHA1,
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from .settings import Settings
from .web import close_services

log = logging.getLogger(__name__)

CONFLICT_TRIES = 3  # a webhook that lost a race, or its connection, is handled again


def public_request_url() -> str:
    query = request.query_string.decode("latin-1")
    return current_app.config["RELAIS"].public_url + request.path + (f"?{query}" if query else "")


def signed_by_twilio() -> bool:
    """The request carries a valid Twilio signature, with the auth token or a SharedKey."""
    return valid_signature(
        current_app.config["RELAIS"],
        public_request_url(),
        request.form,
        request.headers.get(SIGNATURE_HEADER, ""),
        request.headers.get(SIGNATURE_SETTINGS_HEADER),
    )


def valid_signature(
    settings: Settings, url: str, params: Mapping, signature: str, signing: str | None
) -> bool:
    """`signature` (X-Twilio-Signature) is Twilio's for `url` and `params`, made with the
    auth token, or with the SharedKey that `signing` (X-Twilio-Webhooks-Signature-Settings)
    names. Also for requests outside Flask: the upgrade to a Media Stream's websocket."""
    if not signature:
        return False
    if signing is None:
        secret, algorithm = settings.auth_token, HMAC_SHA1
    else:
        fields = dict(part.strip().partition("=")[::2] for part in signing.split(","))
        secret = settings.shared_keys.get(fields.get("key", ""), "")
        algorithm = get_signature_algorithm(signing)
        if not secret:
            log.warning(
                "webhook signed with the SharedKey %r, which TWILIO_WEBHOOK_SHARED_KEYS "
                "does not list: refused",
                fields.get("key", "")[:64],
            )
            return False
    validator = RequestValidator(secret)
    return validator.validate(url, params, signature, algorithm)


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
        if not signed_by_twilio():
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
