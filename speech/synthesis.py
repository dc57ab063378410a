"""Prompt rendering, run as its own process: `python -m speech.synthesis VOICE RATE` reads a
JSON list of {"text", "path"} on standard input, renders each with pyttsx3 (espeak-ng) and
writes an 8 kHz mono 16-bit WAV atomically at "path", printing "done PATH" for each."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import time
import wave
from pathlib import Path

PROMPT_RATE = 8000  # what a phone line carries; Twilio plays it as it is
PADDING = 0.15  # seconds of silence before and after
WAIT = 10.0  # seconds to wait for pyttsx3's file
HEADER = 44  # bytes before the audio in a WAV that Python's wave writes


def _synthesise(engine, text: str, path: str) -> None:
    """pyttsx3 2.99's espeak driver writes the file from espeak's own thread at the end of
    the utterance, and runAndWait may return before that: starting the next text then
    would have this audio written under the next name. So wait until the engine is idle
    and the file is there; try once more if it never comes."""
    for _attempt in range(2):
        with contextlib.redirect_stdout(io.StringIO()):  # it prints "Audio saved to"
            engine.save_to_file(text, path)
            engine.runAndWait()
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline:
                if not engine.isBusy() and whole(path):
                    return
                time.sleep(0.02)
    raise RuntimeError(f"pyttsx3 wrote no audio for {text[:60]!r}")


def whole(path: str) -> bool:
    """pyttsx3's WAV is there and written to its end. Its writer (Python's wave) puts the
    audio's length in the header before the audio: on a loaded machine, a file merely there
    was read half written, and a prompt was rendered as silence."""
    try:
        with wave.open(path, "rb") as wav:
            length = wav.getnframes() * wav.getsampwidth() * wav.getnchannels()
        return length > 0 and os.path.getsize(path) >= HEADER + length
    except (OSError, EOFError, wave.Error):
        return False


def render(jobs: list[dict], voice: str, rate: int) -> None:
    import numpy as np
    import pyttsx3

    from .audio import decode, resample, wav_bytes

    engine = pyttsx3.init("espeak")
    engine.setProperty("voice", voice)
    engine.setProperty("rate", rate)
    with tempfile.TemporaryDirectory() as work:
        for number, job in enumerate(jobs):
            raw = os.path.join(work, f"{number}.wav")
            _synthesise(engine, job["text"], raw)
            samples, source_rate = decode(Path(raw).read_bytes())
            samples = resample(samples, source_rate, PROMPT_RATE)
            silence = np.zeros(int(PROMPT_RATE * PADDING), dtype=samples.dtype)
            target = Path(job["path"])
            # Its own partial file: another process may be rendering the same prompt.
            partial = target.with_name(f"{target.stem}.{os.getpid()}.part")
            partial.write_bytes(wav_bytes(np.concatenate([silence, samples, silence]), PROMPT_RATE))
            partial.replace(target)
            print(f"done {target}", flush=True)


if __name__ == "__main__":
    render(json.load(sys.stdin), sys.argv[1], int(sys.argv[2]))
