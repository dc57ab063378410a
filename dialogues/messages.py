"""Messages for the people who run Relais and write its content, kept in content rather
than in code: content/<lang>/operator.yaml (the `relais` command, the start, the settings,
the speech models) and content/<lang>/checks.yaml (the content check). A file is sections
of named messages with {placeholders} (str.format); a message is named "section.name".

Relais's own French files are the reference: they hold every message. Another language's
file says any of them in its words, and a message it leaves out is said in French. A
message it names that French lacks, or whose placeholders differ from French's, stops the
load with the file and the message's name, as does a message that is not a text."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

OPERATOR = "operator.yaml"
CHECKS = "checks.yaml"
REFERENCE = "fr"  # the language every message is written in first
RELAIS_CONTENT = Path(__file__).resolve().parent.parent / "content"  # Relais's own content


class MessagesError(ValueError):
    """A messages file that cannot be used, with the file and the message's name."""


class KeyedError(Exception):
    """An error whose words are a message: its name and values, said in the language of
    whoever catches it (`Messages.of`)."""

    def __init__(self, key: str, /, **values: object) -> None:
        super().__init__(key)
        self.key, self.values = key, values


@dataclass(frozen=True)
class Messages:
    table: Mapping[str, str]

    def __call__(self, key: str, /, **values: object) -> str:
        return self.table[key].format(**values)

    def of(self, error: KeyedError) -> str:
        return self(error.key, **error.values)

    def get(self, key: str, default: str) -> str:
        """A message without placeholders, or `default` when there is none by that name
        (argparse's own texts, a status Twilio may add)."""
        return self.table.get(key, default)


def placeholders(text: str) -> frozenset[str]:
    """The names between braces of a message ("{count}", "{size:7.1f}": count, size)."""
    fields = (field for _, field, _, _ in string.Formatter().parse(text) if field is not None)
    return frozenset(field.split(".")[0].split("[")[0] for field in fields)


def _flat(path: Path) -> dict[str, object]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {
        f"{section}.{name}": text
        for section, names in data.items()
        for name, text in (names or {}).items()
    }


@cache
def _reference(name: str) -> Messages:
    """Relais's French file `name`, every message a text with readable braces (a broken
    one is Relais's own bug: the tests read these files)."""
    table = _flat(RELAIS_CONTENT / REFERENCE / name)
    for text in table.values():
        placeholders(str(text))
    return Messages({key: str(text) for key, text in table.items()})


@cache
def load_messages(name: str, folder: Path | None = None) -> Messages:
    """The messages of `name` (OPERATOR, CHECKS) in a language's content `folder`, over
    Relais's French ones; only the French ones without a folder, or when it has no such
    file."""
    reference = _reference(name)
    path = None if folder is None else folder / name
    if path is None or not path.is_file():
        return reference
    words = _reference(OPERATOR)

    def refused(why: str, key: str = "", /, **values: object) -> MessagesError:
        return MessagesError(words(f"messages.{why}", file=path, key=key, **values))

    try:
        table = _flat(path)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError) as exc:
        raise refused("unreadable", reason=exc) from None
    for key, text in table.items():
        if key not in reference.table:
            raise refused("unknown", key)
        if not isinstance(text, str):
            raise refused("not_text", key)
        try:
            found = placeholders(text)
        except ValueError as exc:
            raise refused("braces", key, reason=exc) from None
        wanted = placeholders(reference.table[key])
        if found != wanted:
            names = ", ".join("{" + p + "}" for p in sorted(wanted)) or "-"
            raise refused("placeholders", key, wanted=names)
    return Messages({**reference.table, **{key: str(text) for key, text in table.items()}})
