"""The X-Twilio-Signature check every Twilio-facing route goes through.

The URL signed by Twilio is the public one (RELAIS_PUBLIC_URL), not what the server sees
behind a reverse proxy, so the check rebuilds it from the setting plus path and query.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, current_app, request
from twilio.request_validator import RequestValidator


def public_request_url() -> str:
    query = request.query_string.decode("latin-1")
    return current_app.config["RELAIS"].public_url + request.path + (f"?{query}" if query else "")


def twilio_signed(view: Callable) -> Callable:
    """Refuse (403, nothing stored) a request without a valid Twilio signature."""

    @wraps(view)
    def checked(*args, **kwargs):
        signature = request.headers.get("X-Twilio-Signature", "")
        validator = RequestValidator(current_app.config["RELAIS"].auth_token)
        if not signature or not validator.validate(public_request_url(), request.form, signature):
            abort(403)
        return view(*args, **kwargs)

    checked.twilio_signed = True
    return checked
