"""The mediators' words (content/<lang>/dashboard.yaml): every word of the dashboard's
pages and error pages, the figures' titles and legends, the diagram's counts with their
plurals, the simulator's transcript, the requests' statuses, the lines Relais adds to their
notes, the messages after an action. Read once at start; a missing word stops the start
with the file and the word's name. The dashboard is in French: a content folder without
the file uses Relais's French one."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from core.content_dirs import DEFAULT_CONTENT_ROOT, operator_messages
from core.twilio_simulator import WORDS as SIMULATOR_WORDS
from dialogues.messages import OPERATOR

from .requests import Status

FILE = "dashboard.yaml"
# The error pages by HTTP status (and "other" for any other status).
ERRORS = {400: "bad_request", 401: "login", 404: "not_found", 409: "no_calls", 429: "too_many"}
ERROR_PAGES = (*ERRORS.values(), "other")
NEEDED = {
    "header": ("title", "tab", "queue", "stats", "simulator", "logout"),
    "shared": ("urgent", "taken_by"),
    "login": ("title", "phone", "password", "submit"),
    "queue": ("title", "open_only", "with_closed", "voicemail", "empty"),
    "request": (
        "tab",
        "title",
        "urgent",
        "received",
        "call_back",
        "call",
        "call_help",
        "summary",
        "listen_summary",
        "why",
        "voicemail",
        "listen_voicemail",
        "transcription",
        "path",
        "by_call",
        "by_sms",
        "relais",
        "person",
        "not_understood",
        "confidence",
        "listen_answer",
        "silence",
        "spoke",
        "sent",
        "handoff",
        "hung_up",
        "messages",
        "follow_up",
        "status",
        "note",
        "save",
    ),
    "stats": ("path", "path_help", "diagram"),
    "simulator_page": (
        "intro",
        "call",
        "listen",
        "keypad",
        "key",
        "hang_up",
        "start",
        "texts",
        "understood",
        "danger",
        "danger_line",
        "learnt",
        "keywords",
        "words",
        "no_words",
        "followup",
        "no_topic",
        "your_sms",
        "send",
    ),
    "errors": ("back_to_login", "back_to_queue", *ERROR_PAGES),
    "figures": ("per_day", "calls", "sms", "outcomes", "hang_ups", "no_data", "count"),
    "outcomes": ("sent", "handoff", "ended", "hangup", "ongoing"),
    "diagram": ("start", "handoff", "answers", "hang_ups"),
    "simulator": (*SIMULATOR_WORDS, "recorded"),
    "statuses": tuple(Status),
    "answers": (
        "@human",
        "@repeat",
        "@back",
        "@menu",
        "@yes",
        "@no",
        "@ask",
        "@phone",
        "@place",
        "@danger",
        "@bye",
        "@cannot_read",
        "@followup",
    ),
    "notes": (
        "taken_live",
        "previous",
        "by",
        "reached",
        "no-answer",
        "busy",
        "failed",
        "canceled",
        "machine",
    ),
    "flash": ("wrong_login", "saved", "calling"),
    "ages": ("now", "minutes", "hours", "days"),
}
# The words written in parts: a count's "one" and "many" forms, an error's title and message.
PARTS = {
    ("diagram", "answers"): ("one", "many"),
    ("diagram", "hang_ups"): ("one", "many"),
    **{("errors", error): ("title", "message") for error in ERROR_PAGES},
}


class WordsError(ValueError):
    """dashboard.yaml lacks a word, or a part of one (a plural form, an error's title)."""


@dataclass(frozen=True)
class Words:
    table: dict[str, dict]

    def __call__(self, section: str, name: str, /, **values: object) -> str:
        return str(self.table[section][name]).format(**values)

    def count(self, section: str, name: str, count: int) -> str:
        """ "1 réponse", "3 réponses": French takes the singular for 0 and 1."""
        form = "one" if count <= 1 else "many"
        return str(self.table[section][name][form]).format(count=count)


@cache
def load_words(content_dir: Path) -> Words:
    path = content_dir / FILE
    if not path.is_file():
        path = DEFAULT_CONTENT_ROOT / "fr" / FILE
    say = operator_messages(OPERATOR)
    try:
        table = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise WordsError(say("messages.words_unreadable", file=path, reason=exc)) from exc
    for section, names in NEEDED.items():
        for name in names:
            word = (table.get(section) or {}).get(name)
            parts = PARTS.get((section, name), ())
            if word is None or (parts and not all(part in word for part in parts)):
                named = f"{section}.{name}"
                if not parts:
                    raise WordsError(say("messages.word_missing", file=path, word=named))
                joined = f" {say('messages.and')} ".join(parts)
                raise WordsError(
                    say("messages.word_part_missing", file=path, word=named, parts=joined)
                )
    return Words(table)
