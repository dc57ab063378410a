"""Recognising a short spoken answer with Vosk, offline, against a grammar.

A model is loaded once per process and shared; each utterance gets its own recogniser,
created in the thread that uses it. The grammar is the question's expected words and the
global commands, dumped with ensure_ascii=False (Vosk silently drops escaped words as out
of vocabulary). A word the model does not know can never be recognised (see
`missing_words` and `relais check --speech`).

Vosk rejects off-list speech poorly: a grammar always yields its closest entry, often with
a high confidence. So the grammar also holds a few decoy words (common words of the
language, from the content, that absorb off-list speech): hearing one, or several answers
at once, is not understanding. Nor is hearing an answer that accounts for only part of
what was said: Kaldi readily explains the rest of a longer word as silence, so a short
answer (in the Korean tests, "넷") is otherwise heard, with full confidence, in many
off-list words. The words heard must cover SPEECH_MIN_COVERAGE of the recording's speech
(told by its level, not by the decoder). The confidence then decides, in the engine,
between accepting, asking "did you say ...?" and not understood.

Before decoding, an answer gets a noise floor (speech.audio): with espeak-ng's Korean words
through a phone line, it took the development words' answers right from 27 % to 50 %, and
left the held-out test words' at 7 of 12 (tests/test_speech.py measures it).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import vosk

from dialogues.matching import SPEECH_MIN_COVERAGE

from .audio import decode, pcm16, resample, speech_coverage, with_noise_floor

vosk.SetLogLevel(-1)

log = logging.getLogger(__name__)
UNKNOWN = "[unk]"
# An answer not understood is heard again with this much silence before it (seconds), and
# taken when every hearing agrees (chosen on the development words; README, "Two voice modes").
AGAIN_LATER = (0.01, 0.02)
_NOT_A_WORD = re.compile(r"[^\w'’-]+")


class Heard(NamedTuple):
    """A word the decoder heard, its confidence, and when (seconds)."""

    word: str
    conf: float
    start: float
    end: float


@dataclass(frozen=True)
class Recognition:
    text: str  # the answer understood ("" for none)
    confidence: float  # 0 to 1
    words: tuple[tuple[str, float], ...] = ()  # each word with its confidence
    alternatives: tuple[str, ...] = ()  # what else the grammar's first pass heard
    coverage: float = 0.0  # the share of the speech that the words heard account for

    @property
    def understood(self) -> bool:
        return bool(self.text)


def grammar_phrases(phrases: Iterable[str]) -> list[str]:
    """Phrases as a Vosk grammar wants them: lower case, words separated by one space."""
    out = []
    for phrase in phrases:
        words = _NOT_A_WORD.sub(" ", phrase.lower().replace("’", "'")).split()
        if words and " ".join(words) not in out:
            out.append(" ".join(words))
    return out


def model_rate(model_path: Path) -> int:
    conf = model_path / "conf" / "mfcc.conf"
    if conf.is_file():
        found = re.search(r"--sample-frequency=(\d+)", conf.read_text())
        if found:
            return int(found.group(1))
    return 16000


class Recogniser:
    """One Vosk model, loaded once, shared by every thread."""

    def __init__(self, model_path: Path):
        self.path = Path(model_path)
        if not (self.path / "am").is_dir() or not (self.path / "conf").is_dir():
            raise FileNotFoundError(f"no Vosk model in {self.path} (am/ and conf/ expected)")
        self.model = vosk.Model(str(self.path))  # a path, never a language to download
        self.rate = model_rate(self.path)
        self.knows_unknown = self.knows(UNKNOWN)

    def knows(self, word: str) -> bool:
        return self.model.vosk_model_find_word(word) >= 0

    def missing_words(self, phrases: Iterable[str]) -> list[str]:
        """The words of `phrases` the model does not know (never recognised)."""
        missing = []
        for phrase in grammar_phrases(phrases):
            missing += [w for w in phrase.split() if not self.knows(w) and w not in missing]
        return missing

    def _decode(self, pcm: bytes, phrases: Sequence[str]) -> list[Heard]:
        grammar = list(phrases) + ([UNKNOWN] if self.knows_unknown else [])
        recogniser = vosk.KaldiRecognizer(
            self.model, self.rate, json.dumps(grammar, ensure_ascii=False)
        )
        recogniser.SetWords(True)
        recogniser.AcceptWaveform(pcm)
        result = json.loads(recogniser.FinalResult())
        return [
            Heard(w["word"], float(w["conf"]), float(w["start"]), float(w["end"]))
            for w in result.get("result", [])
            if w["word"] != UNKNOWN
        ]

    def recognise(
        self, audio: bytes, expected: Iterable[str], decoys: Iterable[str] = ()
    ) -> Recognition:
        """The expected phrase said in `audio` (a WAV), if any. The grammar also holds the
        decoys: hearing one of them, several phrases at once, or a phrase that accounts for
        only part of the speech, is not understanding."""
        decoded, rate = decode(audio)
        samples = resample(decoded, rate, self.rate)
        phrases = [p for p in grammar_phrases(expected) if not self.missing_words([p])]
        if not phrases:
            return Recognition("", 0.0)
        decoys = [
            d for d in grammar_phrases(decoys) if d not in phrases and not self.missing_words([d])
        ]
        first = self._hear(samples, phrases, decoys)
        if first.understood:
            return first
        # What Kaldi hears in a short word turns on where its 10 ms frames fall: an answer
        # not understood is heard again a little later, and taken when every hearing
        # agrees. The hearings run side by side (Vosk decodes outside the GIL): the caller
        # waits for one decoding more, not two.
        with ThreadPoolExecutor(len(AGAIN_LATER) or 1) as pool:
            again = list(
                pool.map(
                    lambda s: self._hear(_later(samples, s, self.rate), phrases, decoys),
                    AGAIN_LATER,
                )
            )
        if not again or any(not r.understood or r.text != again[0].text for r in again):
            return first
        return Recognition(
            again[0].text,
            min(r.confidence for r in again),
            again[0].words,
            first.alternatives,
            min(r.coverage for r in again),
        )

    def _hear(self, samples: np.ndarray, phrases: list[str], decoys: list[str]) -> Recognition:
        """One decoding of `samples` (at the model's rate) against the phrases and decoys."""
        words = self._decode(pcm16(with_noise_floor(samples, self.rate)), phrases + decoys)
        heard = " ".join(w.word for w in words)
        confidences = tuple((w.word, w.conf) for w in words)
        coverage = speech_coverage(samples, self.rate, [(w.start, w.end) for w in words])
        if heard not in phrases or coverage < SPEECH_MIN_COVERAGE:
            # nothing, a decoy, several answers at once, or an answer heard in part of it
            return Recognition("", 0.0, confidences, (heard,) if heard else (), coverage)
        return Recognition(heard, min(w.conf for w in words), confidences, (heard,), coverage)

    def transcribe(self, audio: bytes) -> str:
        """Free transcription of a voice message (no grammar)."""
        samples, rate = decode(audio)
        free = vosk.KaldiRecognizer(self.model, self.rate)
        free.AcceptWaveform(pcm16(resample(samples, rate, self.rate)))
        return json.loads(free.FinalResult()).get("text", "")


def _later(samples: np.ndarray, seconds: float, rate: int) -> np.ndarray:
    """`samples` with `seconds` of silence before them."""
    return np.concatenate([np.zeros(round(seconds * rate), samples.dtype), samples])


class Recognisers:
    """The recogniser of each language, loaded on first use (or in advance) and kept."""

    def __init__(self, path_for: Callable[[str], Path]):
        self.path_for = path_for
        self._loaded: dict[str, Recogniser | None] = {}
        self._lock = threading.Lock()

    def available(self, lang: str) -> bool:
        """A model is there for `lang` (and did not fail to load)."""
        if lang in self._loaded and self._loaded[lang] is None:
            return False
        path = self.path_for(lang)
        return (path / "am").is_dir() and (path / "conf").is_dir()

    def get(self, lang: str) -> Recogniser | None:
        """The recogniser of `lang`; None when there is no model, or a broken one (then
        callers answer with keys, and are no longer asked to speak)."""
        with self._lock:
            if lang not in self._loaded:
                recogniser = None
                if self.available(lang):
                    try:
                        recogniser = Recogniser(self.path_for(lang))
                    except Exception:  # vosk raises a bare Exception on a broken model
                        log.exception("the speech model of %r cannot be loaded", lang)
                self._loaded[lang] = recogniser
            return self._loaded[lang]
