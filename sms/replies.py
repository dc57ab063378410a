"""The engine's actions as SMS replies, each within 2 segments and in GSM-7 where a plain
letter does it."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from dialogues.engine import Action, Ask, HandOff, Say, SendProcedure
from dialogues.model import Content
from dialogues.sms_encoding import sms_size, to_gsm7
from runtime.effects import Handover

MAX_SEGMENTS = 2
MAX_BODY_READ = 500  # characters of a text message that are read for matching


def clean_body(body: str) -> str:
    """The text without control or invisible characters, cut to what is worth reading."""
    kept = "".join(" " if unicodedata.category(c)[0] in "CZ" and c not in "\n" else c for c in body)
    return re.sub(r"[ \t]+", " ", kept).strip()[:MAX_BODY_READ]


def fit(text: str) -> list[str]:
    """`text` in GSM-7 where possible, split on line ends into messages of at most
    MAX_SEGMENTS segments each."""
    return list(_fit(text))


@lru_cache(maxsize=1024)  # the same questions and phrases, text after text
def _fit(text: str) -> tuple[str, ...]:
    text = to_gsm7(text).strip()
    if sms_size(text).segments <= MAX_SEGMENTS:
        return (text,) if text else ()
    messages, current = [], ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if current and sms_size(candidate).segments > MAX_SEGMENTS:
            messages.append(current)
            candidate = line
        current = candidate
    messages.append(current)
    return tuple(messages)


def render(
    content: Content, actions: list[Action], handover: Handover | None = None
) -> list[tuple[str, str | None]]:
    """(body, procedure id or None) for each SMS to send back; `handover` is what a
    hand-off became: what the person is told about being called back, and no "looking for
    a person" when no mediator is registered."""
    out: list[tuple[str, str | None]] = []
    lines: list[str] = []

    def flush() -> None:
        for body in fit("\n".join(lines)):
            out.append((body, None))
        lines.clear()

    for action in actions:
        if isinstance(action, Say | Ask):
            lines.append(action.text)
        elif isinstance(action, SendProcedure):
            flush()
            out.append((content.procedures[action.procedure].sms, action.procedure))
        elif isinstance(action, HandOff) and handover is not None:
            if action.text and handover.searching:
                lines.append(action.text)
            lines.append(handover.promise)
    flush()
    return out
