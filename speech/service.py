"""What the voice channel asks of speech: is anyone listening in this language, what did
the caller say, and is there audio for this prompt."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path

from dialogues.model import Content

from .recognition import Recognisers, Recognition
from .voice import PromptCache, Voice, tts_available

log = logging.getLogger(__name__)


class Speech:
    def __init__(
        self,
        content: Content,
        data_dir: Path,
        content_dir: Path,
        recognisers: Recognisers,
        voice_rate: int,
    ):
        self.lang = content.lang
        self.decoys = content.decoys
        self.recognisers = recognisers
        self.human_dir = content_dir / "audio"
        # Read with the content, once: the nodes recorded by a person.
        self._human = frozenset(p.stem for p in self.human_dir.glob("*.wav"))
        self._rendered: dict[str, str] = {}  # prompts found rendered (never deleted)
        self.cache = (
            PromptCache(
                data_dir / "audio", Voice(content.voice.espeak, voice_rate), content.pronunciations
            )
            if tts_available()
            else None
        )

    @property
    def listening(self) -> bool:
        """A speech model is installed for the content's language."""
        return self.recognisers.available(self.lang)

    def recognise(self, audio: bytes, expected: Iterable[str]) -> Recognition:
        recogniser = self.recognisers.get(self.lang)
        if recogniser is None:
            return Recognition("", 0.0)
        return recogniser.recognise(audio, expected, self.decoys)

    def transcribe(self, audio: bytes) -> str:
        """A voice message as text, when a model listens in this language."""
        recogniser = self.recognisers.get(self.lang)
        return recogniser.transcribe(audio) if recogniser else ""

    def audio(self, text: str, node: str | None = None) -> str | None:
        """The path under /audio/ of a recording of this prompt: a human recording of the
        node (content/<lang>/audio/<node>.wav, served as human/<lang>/<node>.wav) wins over
        the synthetic voice."""
        if node in self._human:
            return f"human/{self.lang}/{node}.wav"
        name = self._rendered.get(text)
        if name is None and self.cache and self.cache.has(text):
            name = self._rendered[text] = self.cache.name(text)
        return name

    def prepare(self, texts: Iterable[str]) -> threading.Thread:
        """In the background: load the speech model and render the prompts not rendered
        yet (until then, calls hear Twilio's <Say>)."""
        texts = list(texts)

        def work() -> None:
            try:
                self.recognisers.get(self.lang)
                if self.cache:
                    self.cache.render(texts)
            except Exception:  # a call still works with <Say> and keys
                log.exception("preparing speech failed")

        thread = threading.Thread(target=work, daemon=True, name="speech-prepare")
        thread.start()
        return thread
