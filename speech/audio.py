"""Audio decoding and resampling for speech.

A Twilio recording is a WAV at 8 kHz (mu-law or 16-bit PCM); Vosk models expect 16-bit PCM
at their own rate (16 kHz for the small models) and never upsample, so Relais decodes any
WAV (libsndfile through soundfile) and resamples it (soxr) to the model's rate. It also
tells which parts of a recording hold speech, so that recognition can check that the words
it heard account for all of it.

Before decoding, a recording gets a noise floor: white noise NOISE_FLOOR_DB below the level
of its speech. The model was trained on 16 kHz microphone recordings, where every band of
its filterbank (up to 7.6 kHz) always holds some noise; a phone recording upsampled from
8 kHz has nothing above 4 kHz, and synthetic or VoIP audio may hold digital silence, so a
quarter of the filterbank's log energies fall far below anything seen in training. Below
4 kHz, a real recording's own line noise is usually louder than the floor.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import numpy as np
import soundfile as sf
import soxr

PHONE_RATE = 8000
FRAME = 0.01  # seconds: the step at which speech is told from silence
SPEECH_WITHIN_DB = 20.0  # a frame this close to the loudest one of a short answer is speech
NOISE_FLOOR_DB = 45.0  # below the speech: chosen on the development words (tests/test_speech.py)


class AudioError(ValueError):
    """Audio that cannot be decoded."""


def decode(data: bytes) -> tuple[np.ndarray, int]:
    """Mono float samples in [-1, 1] and their rate, from a WAV (any subtype) in memory."""
    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(f"not a readable audio file ({exc})") from None
    return samples.mean(axis=1), rate


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    return samples if rate == target else soxr.resample(samples, rate, target)


def pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def wav_bytes(samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> bytes:
    out = io.BytesIO()
    sf.write(out, samples, rate, subtype=subtype, format="WAV")
    return out.getvalue()


def through_phone_line(samples: np.ndarray, rate: int) -> bytes:
    """The WAV a phone line would deliver: 8 kHz mu-law, as Twilio records a call."""
    return wav_bytes(resample(samples, rate, PHONE_RATE), PHONE_RATE, "ULAW")


def speech_frames(samples: np.ndarray, rate: int) -> np.ndarray:
    """Which frames (of FRAME seconds) hold speech: those whose level is within
    SPEECH_WITHIN_DB of the loudest frame. A short answer after a beep is the loudest thing
    in its recording; silence, breath and line noise are well below it."""
    size = max(1, int(rate * FRAME))
    count = len(samples) // size
    if count == 0:
        return np.zeros(0, dtype=bool)
    frames = samples[: count * size].astype(np.float64).reshape(count, size)
    level = np.sqrt((frames**2).mean(axis=1))
    if level.max() <= 0:
        return np.zeros(count, dtype=bool)
    return level >= level.max() * 10 ** (-SPEECH_WITHIN_DB / 20)


def speech_coverage(samples: np.ndarray, rate: int, spans: Iterable[tuple[float, float]]) -> float:
    """The share of the speech in `samples` that falls within `spans` (start and end in
    seconds): 0 when there is no speech."""
    speech = speech_frames(samples, rate)
    if not speech.any():
        return 0.0
    inside = np.zeros_like(speech)
    for start, end in spans:
        inside[int(start / FRAME) : int(np.ceil(end / FRAME))] = True
    return float((speech & inside).sum() / speech.sum())


def speech_level(samples: np.ndarray, rate: int) -> float:
    """The RMS level of the frames that hold speech (0 when there is none)."""
    speech = speech_frames(samples, rate)
    if not speech.any():
        return 0.0
    size = max(1, int(rate * FRAME))
    frames = samples[: len(speech) * size].astype(np.float64).reshape(len(speech), size)
    return float(np.sqrt((frames[speech] ** 2).mean()))


def with_noise_floor(samples: np.ndarray, rate: int) -> np.ndarray:
    """`samples` with white noise NOISE_FLOOR_DB below their speech level added (the same
    noise each time, so that a recording is always decoded alike)."""
    level = speech_level(samples, rate) * 10 ** (-NOISE_FLOOR_DB / 20)
    noise = np.random.default_rng(0).normal(0.0, level, len(samples))
    return (samples + noise).astype(samples.dtype)
