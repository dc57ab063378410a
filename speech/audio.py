"""Audio decoding and resampling for speech.

A Twilio recording is a WAV at 8 kHz (mu-law or 16-bit PCM); Vosk models expect 16-bit PCM
at their own rate (16 kHz for the small models) and never upsample, so Relais decodes any
WAV (libsndfile through soundfile) and resamples it (soxr) to the model's rate.
"""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf
import soxr

PHONE_RATE = 8000


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
