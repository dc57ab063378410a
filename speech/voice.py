"""Voice prompts: every text Relais says, rendered once by pyttsx3 (espeak-ng) to an 8 kHz
mono WAV and cached by a hash of the spoken text, the voice and the rate.

pyttsx3's loop is not safe in web-server threads, so rendering runs in a separate process
(`python -m speech.synthesis`), fed a list of jobs. A pronunciation table from the content
rewrites text before synthesis (espeak-ng spells "CAF" letter by letter and reads "3949" as
a thousands number), and phone numbers are read in pairs (dialogues.pronounce).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from dialogues.pronounce import spoken

DEFAULT_RATE = 140  # words a minute: slower than espeak's 175, for people who listen hard


@dataclass(frozen=True)
class Voice:
    espeak_id: str  # espeak-ng's voice for pyttsx3 (language.yaml's voice.espeak)
    rate: int = DEFAULT_RATE

    def key(self, text: str) -> str:
        return hashlib.sha256(f"{self.espeak_id}|{self.rate}|{text}".encode()).hexdigest()[:32]


class PromptCache:
    """Rendered prompts under `<data dir>/audio/<hash>.wav`."""

    def __init__(self, directory: Path, voice: Voice, pronunciations: dict[str, str]):
        self.directory = directory
        self.voice = voice
        self.pronunciations = pronunciations
        # Every question of every call asks for its prompt's name: the pronunciation
        # table's substitutions and the hash are done once per text.
        self.name: Callable[[str], str] = lru_cache(maxsize=4096)(self._name)

    def _name(self, text: str) -> str:
        return self.voice.key(spoken(text, self.pronunciations)) + ".wav"

    def path(self, text: str) -> Path:
        return self.directory / self.name(text)

    def has(self, text: str) -> bool:
        return self.path(text).is_file()

    def missing(self, texts: Iterable[str]) -> list[str]:
        return list(dict.fromkeys(t for t in texts if t and not self.has(t)))

    def render(self, texts: Iterable[str], progress: Callable[[int], None] | None = None) -> int:
        """Render the texts not cached yet, in a separate process. The number rendered."""
        return self.render_to([(t, self.path(t)) for t in self.missing(texts)], progress)

    def render_to(
        self, items: list[tuple[str, Path]], progress: Callable[[int], None] | None = None
    ) -> int:
        """Render each text to its own file (in this voice), in a separate process. The
        number rendered."""
        if not items:
            return 0
        for _, path in items:
            path.parent.mkdir(parents=True, exist_ok=True)
        jobs = [{"text": spoken(t, self.pronunciations), "path": str(p)} for t, p in items]
        process = subprocess.Popen(
            [sys.executable, "-m", "speech.synthesis", self.voice.espeak_id, str(self.voice.rate)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdin and process.stdout
        process.stdin.write(json.dumps(jobs))
        process.stdin.close()
        done = 0
        for line in process.stdout:
            if line.startswith("done "):
                done += 1
                if progress:
                    progress(1)
        if process.wait() != 0:
            raise RuntimeError(f"prompt rendering failed: {process.stderr.read()[-500:]}")
        return done


def tts_available() -> bool:
    """pyttsx3 and the espeak-ng library can both be loaded."""
    try:
        import pyttsx3.drivers.espeak  # noqa: F401  (loads libespeak-ng)
    except (ImportError, OSError, RuntimeError):
        return False
    return True
