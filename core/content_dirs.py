"""Where the content lives: one folder per language under the content root."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_CONTENT_ROOT = Path(__file__).resolve().parent.parent / "content"


def content_root() -> Path:
    return Path(os.environ.get("RELAIS_CONTENT_DIR") or DEFAULT_CONTENT_ROOT)


def language_dirs(path: Path) -> list[Path]:
    """`path` itself when it is one language's folder, else its language subfolders."""
    if (path / "dialogue.yaml").is_file():
        return [path]
    return sorted(p for p in path.iterdir() if p.is_dir() and (p / "dialogue.yaml").is_file())
