"""Personal data kept no longer than needed: `purge` deletes recordings and transcripts
older than the retention period (what was typed, texted or said, voice messages, the words
quoted in a summary); `forget` deletes everything about one person. Both remove the files
on disk as well as the rows, and have Twilio delete any copy of a recording it still
keeps. The purge runs as a daily job, at night."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from core.db import flush_deleted
from core.hours import PARIS
from core.jobs import JobContext, forget_finished_jobs, job, submit
from core.models import (
    CallbackRequest,
    Conversation,
    OutboundMessage,
    Person,
    Turn,
    WebhookReply,
    now,
)
from core.phones import e164
from core.recordings import delete_at_twilio
from dialogues.model import Content

from .summary import summary_audio_path, without_spoken_words
from .voicemail import voicemail_path

PURGE_HOUR = 3  # Paris time: the daily purge runs at night


def _remove(data_dir: Path, reference: str | None) -> None:
    """Delete a kept recording (a path under the data folder; a URL is not a file)."""
    if reference and "://" not in reference:
        path = (data_dir / reference).resolve()
        if path.is_relative_to(data_dir.resolve()):
            path.unlink(missing_ok=True)


def purge(
    session: Session, data_dir: Path, retention_days: int, content: Callable[[], Content]
) -> int:
    """Delete what people typed, texted and said, their recordings (here and at Twilio),
    voice messages and spoken summaries, when older than `retention_days`; the choices
    made and the requests stay, for the figures and the queue. `content` gives the words
    of the summaries, loaded only when a summary quotes a person. How many went."""
    limit = now() - timedelta(days=retention_days)
    count = 0
    kept = or_(Turn.raw.is_not(None), Turn.recording_ref.is_not(None), Turn.reply.is_not(None))
    old_turns = session.scalars(select(Turn).where(Turn.created_at < limit, kept))
    for turn in old_turns:  # keys, SMS bodies, words heard, recordings, the replies
        _remove(data_dir, turn.recording_ref)
        delete_at_twilio(session, turn.recording_ref)  # one never fetched is still there
        turn.recording_ref, turn.raw, turn.reply_key, turn.reply = None, None, None, None
        count += 1
    # The other webhooks' replies (kept for a retry, which comes within minutes).
    count += session.execute(delete(WebhookReply).where(WebhookReply.created_at < limit)).rowcount
    old_requests = session.scalars(
        select(CallbackRequest).where(CallbackRequest.created_at < limit)
    )
    for request in old_requests:
        if request.voicemail_ref or request.voicemail_text:
            _remove(data_dir, request.voicemail_ref)
            delete_at_twilio(session, request.voicemail_ref)
            request.voicemail_ref, request.voicemail_text = None, None
            count += 1
        if "«" in request.summary:  # words the person said, quoted
            summary = without_spoken_words(request.summary, content())
            if summary != request.summary:
                request.summary = summary  # the rest of it stays with the request
                count += 1
        spoken = data_dir / summary_audio_path(request.id)
        if spoken.is_file():  # the summary's audio
            spoken.unlink()
            count += 1
    session.commit()
    for folder in (data_dir / "recordings").glob("*/"):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return count


def forget(session: Session, data_dir: Path, phone: str) -> bool:
    """Delete the person with this number and all that is kept about them."""
    person = session.scalar(select(Person).where(Person.phone == e164(phone)))
    if person is None:
        return False
    conversations = list(
        session.scalars(select(Conversation).where(Conversation.person_id == person.id))
    )
    requests = list(
        session.scalars(select(CallbackRequest).where(CallbackRequest.person_id == person.id))
    )
    for conversation in conversations:
        if conversation.call_sid:
            shutil.rmtree(data_dir / "recordings" / conversation.call_sid, ignore_errors=True)
    ids = [c.id for c in conversations]
    for url in session.scalars(select(Turn.recording_ref).where(Turn.conversation_id.in_(ids))):
        delete_at_twilio(session, url)
    for request in requests:
        delete_at_twilio(session, request.voicemail_ref)
    session.execute(delete(Turn).where(Turn.conversation_id.in_(ids)))
    session.execute(delete(WebhookReply).where(WebhookReply.person_id == person.id))
    session.execute(delete(CallbackRequest).where(CallbackRequest.person_id == person.id))
    session.execute(delete(OutboundMessage).where(OutboundMessage.person_id == person.id))
    session.execute(delete(Conversation).where(Conversation.person_id == person.id))
    _elsewhere(session, person.phone)
    session.delete(person)
    session.commit()
    flush_deleted(session.get_bind())
    for request in requests:  # by its name too: a job may have kept it meanwhile
        _remove(data_dir, request.voicemail_ref)
        _remove(data_dir, voicemail_path(request.id))
        _remove(data_dir, summary_audio_path(request.id))
    return True


def number_forms(number: str) -> list[str]:
    """How a French number may be written in what Relais kept: its digits after the
    leading 0 or +33 ("698765432"), and in pairs as Relais says and writes it
    ("98 76 54 32")."""
    digits = number.removeprefix("+33")
    pairs = " ".join(digits[i : i + 2] for i in range(len(digits) % 2 or 2, len(digits), 2))
    return [f for f in dict.fromkeys([digits, pairs]) if len(f) >= 8]


def _elsewhere(session: Session, number: str) -> None:
    """The number in what others left: an SMS sent to it when someone typed it, the digits
    typed, the conversation waiting to send to it, the replies kept for retries."""
    forms = number_forms(number)
    if not forms:
        return
    session.execute(delete(OutboundMessage).where(OutboundMessage.to == number))
    written = [OutboundMessage.body.contains(f) for f in forms]
    session.execute(delete(OutboundMessage).where(or_(*written)))
    replies = [WebhookReply.body.contains(f) for f in forms]
    session.execute(delete(WebhookReply).where(or_(*replies)))
    with_turns = [Turn.reply.contains(f) for f in forms]
    session.execute(update(Turn).where(or_(*with_turns)).values(reply_key=None, reply=None))
    typed = [Turn.raw.contains(f) for f in forms]
    session.execute(update(Turn).where(or_(*typed)).values(raw=None))
    for conversation in session.scalars(select(Conversation)):
        kept = json.dumps(conversation.state, ensure_ascii=False)
        if any(f in kept for f in forms):
            conversation.state = _without(conversation.state, forms)


def _without(value, forms: list[str]):
    """`value` (a conversation's state) with every text holding the number emptied."""
    if isinstance(value, dict):
        return {k: _without(v, forms) for k, v in value.items()}
    if isinstance(value, list):
        return [_without(v, forms) for v in value]
    if isinstance(value, str) and any(f in value.replace("+33", "") for f in forms):
        return ""
    return value


def schedule_purge(session: Session, day: date | None = None) -> None:
    """The purge of `day`, once whoever asks: today's at once, a later day's at night."""
    today = now().astimezone(PARIS).date()
    day = day or today
    at = datetime.combine(day, time(PURGE_HOUR), PARIS)
    delay = max(0.0, (at - now()).total_seconds()) if day > today else 0
    submit(session, "purge", {"day": day.isoformat()}, delay=delay, key=f"purge:{day}")


@job("purge")
def daily_purge(context: JobContext, session: Session, args: dict) -> None:
    """The day's purge; finished jobs older than a week go too; then the next day's."""
    settings = context.settings
    purge(session, settings.data_dir, settings.retention_days, lambda: context.engine.content)
    forget_finished_jobs(session)
    schedule_purge(session, date.fromisoformat(args["day"]) + timedelta(days=1))
