"""The mediators' words (content/<lang>/dashboard.yaml): the figures' titles and
legends, the diagram's counts with their plurals, the simulator's speakers, the requests'
statuses, the lines Relais adds to their notes, the messages after an action. Read once at
start; a missing word stops the start with the file and the word's name. The dashboard is
in French (its pages too): a content folder without the file uses Relais's French one."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from core.content_dirs import DEFAULT_CONTENT_ROOT
from core.twilio_simulator import WORDS as SIMULATOR_WORDS

from .requests import Status

FILE = "dashboard.yaml"
NEEDED = {
    "figures": ("per_day", "calls", "sms", "outcomes", "hang_ups", "no_data", "count"),
    "outcomes": ("sent", "handoff", "ended", "hangup", "ongoing"),
    "diagram": ("start", "handoff", "answers", "hang_ups"),
    "simulator": (*SIMULATOR_WORDS, "recorded"),
    "too_many": ("title", "message"),
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
COUNTED = {"diagram": ("answers", "hang_ups")}  # a "one" and a "many" form each


class WordsError(ValueError):
    """dashboard.yaml lacks a word or a plural form."""


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
    try:
        table = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise WordsError(f"{path}: {exc}") from exc
    for section, names in NEEDED.items():
        for name in names:
            word = (table.get(section) or {}).get(name)
            forms = ("one", "many") if name in COUNTED.get(section, ()) else ()
            if word is None or (forms and not all(f in word for f in forms)):
                wanted = f" ({' et '.join(forms)})" if forms else ""
                raise WordsError(f"{path} : le mot '{section}.{name}'{wanted} manque")
    return Words(table)
