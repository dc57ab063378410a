"""Shared test helpers: the small test content and ways to break it on purpose."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MINI = ROOT / "tests" / "data" / "mini"
FRENCH = ROOT / "content" / "fr"


def make_content(folder: Path, edits: dict[str, list[tuple[str, str]]] | None = None) -> Path:
    """A copy of the test content (with the real French language.yaml) in `folder`/fr,
    each file changed by (old, new) text replacements that must apply."""
    target = folder / "fr"
    target.mkdir(parents=True, exist_ok=True)
    for name in ("dialogue.yaml", "procedures.yaml", "places.yaml"):
        shutil.copy(MINI / name, target / name)
    shutil.copy(FRENCH / "language.yaml", target / "language.yaml")
    for name, replacements in (edits or {}).items():
        path = target / name
        text = path.read_text(encoding="utf-8")
        for old, new in replacements:
            assert old in text, f"test edit does not apply to {name}: {old!r}"
            text = text.replace(old, new, 1)
        path.write_text(text, encoding="utf-8")
    return target


@pytest.fixture
def mini_dir(tmp_path: Path) -> Path:
    return make_content(tmp_path)
