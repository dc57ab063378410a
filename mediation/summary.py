"""A call or SMS exchange told in at most three short French sentences, for the mediator
who takes it: who and when, the subject and why a person is needed, what the person
chose and can do. The same text is spoken to the mediator before the call is put through.
"""

from __future__ import annotations

import re
from functools import reduce
from pathlib import Path

from sqlalchemy.orm import Session

from core.jobs import JobContext, job
from core.models import CallbackRequest, Turn
from core.store import Exchange
from dialogues.engine import ALONE, HELPED, NO_LINK, Engine, State
from dialogues.model import Content
from speech.voice import PromptCache

from .when import said_clock


def label(engine: Engine, target: str) -> str:
    """How the content names a topic or an answer, for the mediators. A target the content
    does not name (the topic of a danger hand-off, "urgence") is said as it is."""
    try:
        return engine.label(target)
    except KeyError:
        return target


def summarise(engine: Engine, conversation: Exchange, turns: list[Turn], reason: str) -> str:
    """At most three sentences, in the content's words (language.yaml, `summary_...`)."""
    state = State.from_dict(conversation.state)
    phrase = engine.content.phrase
    channel = phrase("summary_call" if conversation.channel == "voice" else "summary_sms")
    ending = conversation.person.phone[-2:]
    first = phrase(
        "summary_start",
        channel=channel,
        ending=ending,
        when=said_clock(engine.content, conversation.started_at),
    )
    topic = label(engine, state.topic) if state.topic else phrase("summary_no_topic")
    second = phrase("summary_topic", topic=topic, reason=reason)
    chosen = [
        label(engine, t.recognised)
        for t in turns
        if t.recognised and not t.recognised.startswith("@") and t.kind in ("key", "words", "text")
    ]
    said = [phrase("summary_quote", words=t.raw) for t in turns if t.kind == "words" and t.raw]
    facts = []
    if chosen:
        then = f", {phrase('summary_then')} "
        facts.append(phrase("summary_chose", choices=then.join(dict.fromkeys(chosen))))
    if said:
        facts.append(phrase("summary_said", words=", ".join(said[-2:])))
    if state.autonomy in AUTONOMY_FACTS:
        facts.append(phrase(AUTONOMY_FACTS[state.autonomy]))
    if state.sent:
        titles = [engine.content.procedures[p].title for p in state.sent]
        facts.append(phrase("summary_sent", titles=", ".join(titles)))
    third = ""
    if facts:
        joined = reduce(lambda told, fact: phrase("summary_and", first=told, next=fact), facts)
        third = phrase("summary_person", facts=joined)
    return " ".join(s for s in (first, second, third) if s)


AUTONOMY_FACTS = {ALONE: "summary_alone", HELPED: "summary_helped", NO_LINK: "summary_no_link"}


def without_spoken_words(summary: str, content: Content) -> str:
    """The summary without the words the person said (what the purge keeps of it)."""
    phrases = content.phrases
    quote = _pattern(phrases["summary_quote"], "words", ".*?")
    said = _pattern(phrases["summary_said"], "words", f"{quote}(?:, {quote})*")
    person = _pattern(phrases["summary_person"], "facts", said)
    between = re.escape(phrases["summary_and"].split("{first}")[1].split("{next}")[0])
    text = re.sub(" ?" + person, "", summary)  # the only fact told
    text = re.sub(said + between, "", text)  # told first, or between others
    return re.sub(between + said, "", text)  # told last


def _pattern(template: str, field: str, inner: str) -> str:
    """A regular expression for `template` with `inner` in place of {field}."""
    before, after = template.split("{" + field + "}")
    return re.escape(before) + inner + re.escape(after)


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
