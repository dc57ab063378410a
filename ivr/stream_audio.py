"""The audio of a Media Stream: 8 kHz mu-law, mono, in 20 ms frames of 160 bytes.

mu-law is G.711 as libsndfile implements it (audioop is gone from Python 3.13): decoding a
frame is a lookup in a table of the 256 values, read once from libsndfile; a prompt is
encoded once (libsndfile too) and cut in frames. The level of a frame tells speech from
silence, cheaply enough to run on every frame of every call (`SpeechDetector`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf

from speech.audio import PHONE_RATE, decode, resample, wav_bytes

FRAME_SECONDS = 0.02  # Twilio sends, and plays, 20 ms of audio per media message
FRAME_BYTES = int(PHONE_RATE * FRAME_SECONDS)  # 160 mu-law samples
SILENCE_BYTE = 0xFF  # mu-law's zero


def _raw_ulaw(data: bytes) -> np.ndarray:
    samples, _ = sf.read(
        io.BytesIO(data),
        samplerate=PHONE_RATE,
        channels=1,
        format="RAW",
        subtype="ULAW",
        dtype="float32",
    )
    return samples


_TABLE = _raw_ulaw(bytes(range(256)))


def ulaw_decode(payload: bytes) -> np.ndarray:
    """Float samples in [-1, 1] from mu-law bytes."""
    return _TABLE[np.frombuffer(payload, dtype=np.uint8)]


def ulaw_encode(samples: np.ndarray) -> bytes:
    """mu-law bytes from float samples at 8 kHz."""
    out = io.BytesIO()
    sf.write(out, np.clip(samples, -1.0, 1.0), PHONE_RATE, format="RAW", subtype="ULAW")
    return out.getvalue()


def frames_of(ulaw: bytes) -> list[bytes]:
    """`ulaw` cut into 20 ms frames, the last one padded with silence."""
    padded = ulaw + bytes([SILENCE_BYTE]) * (-len(ulaw) % FRAME_BYTES)
    return [padded[i : i + FRAME_BYTES] for i in range(0, len(padded), FRAME_BYTES)]


def wav_frames(wav: bytes) -> tuple[bytes, ...]:
    """A prompt's WAV (any rate or subtype) as mu-law frames."""
    samples, rate = decode(wav)
    return tuple(frames_of(ulaw_encode(resample(samples, rate, PHONE_RATE))))


def prompt_frames(path: Path) -> tuple[bytes, ...]:
    """A prompt file's frames, encoded once while the file stays the same."""
    return _file_frames(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=256)
def _file_frames(path: str, _mtime: int) -> tuple[bytes, ...]:
    return wav_frames(Path(path).read_bytes())


def utterance_wav(samples: np.ndarray) -> bytes:
    """An utterance the detector found, as it is recognised and kept: a WAV at 8 kHz."""
    return wav_bytes(samples, PHONE_RATE)


def level_db(samples: np.ndarray) -> float:
    """The RMS level of `samples` in dB below full scale (-120 for silence)."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    return 20 * np.log10(rms) if rms > 1e-6 else -120.0


# Speech is a frame SPEECH_ABOVE_DB above the line's noise (and louder than SPEECH_MIN_DB),
# for START_FRAMES frames in a row; it ends after END_SECONDS below that.
SPEECH_MIN_DB = -45.0
SPEECH_ABOVE_DB = 15.0
START_FRAMES = 3
END_SECONDS = 0.3
# After PAUSE_SECONDS below it, what was said so far is the answer if the pause lasts: it
# is recognised then, while the detector waits for the end, not after it, with silence for
# the rest of END_SECONDS (the decoder hears the quiet it would have heard).
PAUSE_SECONDS = 0.1
PRE_ROLL_FRAMES = 10  # kept from before the start: the word's first sounds
MAX_UTTERANCE_SECONDS = 8.0
PAUSE_FRAMES = round(PAUSE_SECONDS / FRAME_SECONDS)
END_FRAMES = round(END_SECONDS / FRAME_SECONDS)
assert PAUSE_FRAMES < END_FRAMES  # a pause comes before the end


@dataclass(frozen=True)
class Paused:
    """The caller paused: `spoken`, the utterance so far and silence for the rest of
    END_SECONDS, is what is recognised if the pause lasts until the end."""

    spoken: np.ndarray


@dataclass(frozen=True)
class Utterance:
    """An utterance found: all its samples (kept as the caller's recording), and `spoken`,
    what is recognised: the utterance up to its last pause (PAUSE_SECONDS into the quiet
    that ended it) and silence for the rest of END_SECONDS, or all of it when it ended for
    being too long with no pause under way."""

    samples: np.ndarray
    spoken: np.ndarray


@dataclass
class SpeechDetector:
    """Finds utterances in a caller's frames, by level. `feed` says "start" when speech
    starts (for barge-in), gives what was said so far when the caller pauses (`Paused`),
    and the utterance when it ends (`Utterance`)."""

    noise_db: float = -70.0  # the line's noise, followed slowly
    _loud: int = 0
    _quiet: int = 0
    _recent: list[np.ndarray] = field(default_factory=list)
    _utterance: list[np.ndarray] | None = None

    @property
    def in_speech(self) -> bool:
        return self._utterance is not None

    def feed(self, samples: np.ndarray) -> str | Paused | Utterance | None:
        level = level_db(samples)
        loud = level >= max(SPEECH_MIN_DB, self.noise_db + SPEECH_ABOVE_DB)
        if not loud and self._utterance is None:  # the noise floor follows quiet frames
            self.noise_db += (level - self.noise_db) * (0.2 if level < self.noise_db else 0.02)
        if self._utterance is None:
            self._recent = [*self._recent[-PRE_ROLL_FRAMES:], samples]
            self._loud = self._loud + 1 if loud else 0
            if self._loud >= START_FRAMES:
                self._utterance, self._recent, self._quiet = list(self._recent), [], 0
                return "start"
            return None
        self._utterance.append(samples)
        self._quiet = 0 if loud else self._quiet + 1
        seconds = len(self._utterance) * FRAME_SECONDS
        if self._quiet * FRAME_SECONDS >= END_SECONDS or seconds >= MAX_UTTERANCE_SECONDS:
            return self.finish()
        if self._quiet == PAUSE_FRAMES:
            return Paused(_until_pause(self._utterance))
        return None

    def finish(self) -> Utterance | None:
        """The utterance under way, ended now (None if there is none)."""
        utterance, self._utterance, self._loud = self._utterance, None, 0
        if utterance is None:
            return None
        samples = np.concatenate(utterance)
        if self._quiet < PAUSE_FRAMES:  # too long, no pause at its end
            return Utterance(samples, samples)
        return Utterance(
            samples, _until_pause(utterance[: len(utterance) - self._quiet + PAUSE_FRAMES])
        )

    def reset(self) -> None:
        self._utterance, self._recent, self._loud = None, [], 0


def _until_pause(frames: list[np.ndarray]) -> np.ndarray:
    """An utterance's frames up to a pause, and silence for the rest of END_SECONDS."""
    rest = np.zeros((END_FRAMES - PAUSE_FRAMES) * FRAME_BYTES, dtype=frames[0].dtype)
    return np.concatenate([*frames, rest])
