"""Where the content lives: one folder per language under the content root; and the
messages for the people who run Relais, in their language (RELAIS_OPERATOR_LANGUAGE,
French by default: see dialogues.messages)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dialogues.messages import REFERENCE, RELAIS_CONTENT, Messages, load_messages

DEFAULT_CONTENT_ROOT = RELAIS_CONTENT


def content_root() -> Path:
    return Path(os.environ.get("RELAIS_CONTENT_DIR") or DEFAULT_CONTENT_ROOT)


def operator_messages(name: str, env: Mapping[str, str] | None = None) -> Messages:
    """The messages of `name` (operator.yaml, checks.yaml) in the operator's language:
    its folder under the content root (`env`'s settings, else the process's)."""
    env = os.environ if env is None else env
    root = Path(env.get("RELAIS_CONTENT_DIR") or content_root())
    language = env.get("RELAIS_OPERATOR_LANGUAGE", "").strip() or REFERENCE
    return load_messages(name, root / language)


def language_dirs(path: Path) -> list[Path]:
    """`path` itself when it is one language's folder, else its language subfolders."""
    if (path / "dialogue.yaml").is_file():
        return [path]
    return sorted(p for p in path.iterdir() if p.is_dir() and (p / "dialogue.yaml").is_file())
