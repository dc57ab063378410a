"""A call or SMS exchange told in at most three short French sentences, for the mediator
who takes it: who and when, the subject and why a person is needed, what the person
chose and can do. The same text is spoken to the mediator before the call is put through.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from core.hours import PARIS, day_fr
from core.jobs import JobContext, job
from core.models import CallbackRequest, Turn
from core.store import Exchange
from dialogues.engine import Engine, State
from speech.voice import PromptCache


def paris_time(at: datetime) -> datetime:
    """A stored time in Paris time. Relais stores UTC (core.models.now); SQLite gives it
    back without its time zone, PostgreSQL with it."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(PARIS)


def when_fr(at: datetime) -> str:
    local = paris_time(at)
    return f"{day_fr(local.date())} à {local.hour} h {local.minute:02d}"


def label(engine: Engine, target: str) -> str:
    """How the content names a topic or an answer, for the mediators. A target the content
    does not name (the topic of a danger hand-off, "urgence") is said as it is."""
    try:
        return engine.label(target)
    except KeyError:
        return target


def summarise(engine: Engine, conversation: Exchange, turns: list[Turn], reason: str) -> str:
    state = State.from_dict(conversation.state)
    channel = "Appel" if conversation.channel == "voice" else "SMS"
    ending = conversation.person.phone[-2:]
    first = f"{channel} du numéro qui finit par {ending}, {when_fr(conversation.started_at)}."
    topic = label(engine, state.topic) if state.topic else "pas de sujet choisi"
    second = f"Sujet : {topic}. {reason}"
    chosen = [
        label(engine, t.recognised)
        for t in turns
        if t.recognised and not t.recognised.startswith("@") and t.kind in ("key", "words", "text")
    ]
    said = [f"« {t.raw} »" for t in turns if t.kind == "words" and t.raw]
    parts = []
    if chosen:
        parts.append("a choisi " + ", puis ".join(dict.fromkeys(chosen)))
    if said:
        parts.append("a dit " + ", ".join(said[-2:]))
    if state.autonomy is not None:
        parts.append("peut ouvrir un lien" if state.autonomy else "ne peut pas ouvrir de lien")
    if state.sent:
        titles = [engine.content.procedures[p].title for p in state.sent]
        parts.append("a reçu par SMS " + ", ".join(titles))
    third = ("La personne " + " ; ".join(parts) + ".") if parts else ""
    return " ".join(s for s in (first, second, third) if s)


_SAID = r"a dit « [^»]* »(?:, « [^»]* »)*"


def without_spoken_words(summary: str) -> str:
    """The summary without the words the person said (what the purge keeps of it)."""
    text = re.sub(r" ?La personne " + _SAID + r"\.", "", summary)  # the only thing told
    text = re.sub(_SAID + " ; ", "", text)  # told first, or between others
    return re.sub(" ; " + _SAID, "", text)  # told last


def summary_audio_path(request_id: int) -> str:
    """Where a request's spoken summary is kept, under the data folder (by request, so
    that forgetting a person or the purge removes it)."""
    return f"summaries/{request_id}.wav"


def render_summary_audio(cache: PromptCache, data_dir: Path, request: CallbackRequest) -> Path:
    """The request's summary spoken by the synthetic voice, rendered if not yet."""
    path = data_dir / summary_audio_path(request.id)
    if not path.is_file():
        cache.render_to([(request.summary, path)])
    return path


@job("summary_audio")
def render_summary(context: JobContext, session: Session, args: dict) -> None:
    """Rendered as soon as the request opens, so that the dashboard plays it at once
    (rendering takes a moment). The whisper on the phone says the summary with Twilio's
    <Say>, which needs no waiting."""
    request = session.get(CallbackRequest, args["callback_id"])
    cache = context.speech.cache
    if request is not None and cache is not None:
        render_summary_audio(cache, context.settings.data_dir, request)
