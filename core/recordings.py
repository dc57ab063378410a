"""Twilio's copies of call recordings. Twilio keeps a recording until someone deletes it
through its Recordings API, and a recording is personal data: once Relais has its own
copy (or has given up fetching it), a job deletes Twilio's. Purge and forget ask for the
same deletion of any copy still there."""

from __future__ import annotations

import logging
import re

from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioException, TwilioRestException

from .jobs import JobContext, Retry, job, submit
from .outbound import retryable, twilio_client

log = logging.getLogger(__name__)

RECORDING_SID = re.compile(r"/Recordings/(RE[0-9a-fA-F]{32})(?:\.\w+)?/?$")


def recording_sid(url: str | None) -> str | None:
    """The sid of the Twilio recording at `url` (a RecordingUrl Twilio sent), if it is one."""
    found = RECORDING_SID.search(url or "")
    return found.group(1) if found else None


def delete_at_twilio(session: Session, url: str | None) -> None:
    """Have Twilio's copy of the recording at `url` deleted, once this transaction commits
    (nothing when `url` is not a Twilio recording URL, such as a file Relais keeps)."""
    sid = recording_sid(url)
    if sid is not None:
        submit(session, "delete_recording", {"sid": sid}, key=f"delete_recording:{sid}")


@job("delete_recording")
def delete_recording(context: JobContext, session: Session, args: dict) -> None:
    settings = context.settings
    if not settings.account_sid:  # no account to delete it with (a local test setup)
        log.warning("recording %s left at Twilio: TWILIO_ACCOUNT_SID is not set", args["sid"])
        return
    try:
        twilio_client(settings).recordings(args["sid"]).delete()
    except TwilioRestException as exc:
        if exc.status == 404:  # deleted already
            return
        if retryable(exc):
            raise Retry(f"recording {args['sid']} not deleted yet: {exc}") from exc
        log.warning("recording %s not deleted at Twilio: %s", args["sid"], exc)
    except (TwilioException, OSError) as exc:
        raise Retry(f"recording {args['sid']} not deleted yet: {exc}") from exc
