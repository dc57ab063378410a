"""A caller's voice message for the mediators: fetched from Twilio, kept on disk and
transcribed when a speech model listens, in a job (a webhook must answer at once); then
Twilio's copy is deleted."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from core.jobs import JobContext, Retry, job, submit
from core.models import CallbackRequest, now
from core.recordings import delete_at_twilio
from speech.audio import AudioError
from speech.recordings import RecordingRefused, RecordingUnavailable, fetch_recording

log = logging.getLogger(__name__)


def voicemail_path(callback_id: int) -> str:
    """Where a request's voice message is kept, under the data folder."""
    return f"recordings/voicemail/{callback_id}.wav"


def keep_voicemail(session: Session, callback: CallbackRequest, url: str) -> None:
    """Note the message's Twilio URL now; fetch and transcribe it in a job (whose
    arguments hold no URL: forgetting the request leaves none behind)."""
    delete_at_twilio(session, callback.voicemail_ref)  # an earlier message, not fetched yet
    callback.voicemail_ref, callback.updated_at = url, now()
    submit(session, "voicemail", {"callback_id": callback.id})


@job("voicemail")
def fetch_and_transcribe(context: JobContext, session: Session, args: dict) -> None:
    callback = session.get(CallbackRequest, args["callback_id"])
    url = callback.voicemail_ref if callback is not None else None
    if not url or "://" not in url:
        return  # forgotten or purged meanwhile, or fetched already
    settings = context.settings
    try:
        audio = fetch_recording(
            url, settings.account_sid, settings.auth_token, allowed=settings.recordings_url
        )
    except RecordingRefused as exc:
        log.warning("voice message %s not fetched: %s", callback.id, exc)
        callback.voicemail_ref = None
        return
    except RecordingUnavailable as exc:
        raise Retry(f"voice message {callback.id} not available yet: {exc}") from exc
    ref = voicemail_path(callback.id)
    path = settings.data_dir / ref
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(audio)
    text = None
    try:
        text = context.speech.transcribe(audio) or None
    except AudioError as exc:
        log.warning("voice message %s kept but not transcribed: %s", callback.id, exc)
    # The request's row is written only now: a write takes its lock until the job
    # commits, and a webhook about the same person (an SMS, a call) must not wait for the
    # transcription (seconds on a busy machine) behind it.
    callback.voicemail_ref, callback.voicemail_text = ref, text
    callback.updated_at = now()
    delete_at_twilio(session, url)  # Relais keeps its own copy now
    try:
        session.flush()  # the request may have been forgotten meanwhile: keep no file then
    except Exception:
        path.unlink(missing_ok=True)
        raise
