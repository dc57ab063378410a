"""Fetching a call recording from Twilio: only from Twilio's API host (the URL comes in a
webhook: it must never make Relais send its credentials elsewhere, or reach an address
inside its own network), credentials, short timeouts within one deadline for all tries (a
webhook waits for it, and Twilio waits 15 s for the webhook), a few retries (the file may
appear a moment after the webhook), a bounded size, no redirect."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import requests

MAX_BYTES = 2 * 1024 * 1024  # a spoken answer of a few seconds is far smaller
TRIES = 4
WAIT = 0.3  # seconds before the second try, doubling after
DEADLINE = 8.0  # seconds for all tries together


class RecordingUnavailable(Exception):
    pass


class RecordingRefused(RecordingUnavailable):
    """A recording URL that is not Twilio's: never fetched, never worth another try."""


TWILIO_API = "https://api.twilio.com"


def from_host(url: str, base: str) -> bool:
    """Whether `url` is served by the same scheme, host and port as `base`."""
    got, allowed = urlsplit(url), urlsplit(base)
    return (got.scheme, got.hostname, got.port) == (allowed.scheme, allowed.hostname, allowed.port)


def fetch_recording(
    url: str,
    account_sid: str,
    auth_token: str,
    session: requests.Session | None = None,
    allowed: str = TWILIO_API,
    deadline: float = DEADLINE,
) -> bytes:
    """The recording at `url`, which must be on `allowed` (Twilio's API, or its stand-in),
    within `deadline` seconds."""
    if not from_host(url, allowed):
        raise RecordingRefused(f"not a recording of {allowed}: refused")
    http = session or requests
    auth = (account_sid, auth_token) if account_sid else None
    wait, last = WAIT, ""
    end = time.monotonic() + deadline
    for attempt in range(TRIES):
        if attempt:
            time.sleep(min(wait, max(0.0, end - time.monotonic())))
            wait *= 2
        left = end - time.monotonic()
        if left <= 0.1:
            last = f"no answer within {deadline:g} s"
            break
        try:
            with http.get(
                url,
                auth=auth,
                timeout=(min(2, left), min(5, left)),
                stream=True,
                allow_redirects=False,
            ) as response:
                if response.status_code == 404:  # not there yet
                    last = "404"
                    continue
                response.raise_for_status()
                data = bytearray()
                for chunk in response.iter_content(64 * 1024):
                    data += chunk
                    if time.monotonic() > end:  # a host that trickles it
                        raise RecordingUnavailable(f"recording too slow (over {deadline:g} s)")
                    if len(data) > MAX_BYTES:
                        raise RecordingUnavailable(f"recording larger than {MAX_BYTES} bytes")
                return bytes(data)
        except requests.RequestException as exc:
            last = str(exc)
    raise RecordingUnavailable(f"recording not available after {TRIES} tries ({last})")
