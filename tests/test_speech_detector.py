"""The stream's speech detector on frames of a known level: where an utterance starts,
where the caller pauses (what is recognised early) and where it ends."""

from __future__ import annotations

import numpy as np

from ivr.stream_audio import (
    END_SECONDS,
    FRAME_BYTES,
    FRAME_SECONDS,
    PAUSE_SECONDS,
    Paused,
    SpeechDetector,
    Utterance,
)

LOUD = (0.3 * np.sin(np.arange(FRAME_BYTES) * 2 * np.pi * 400 / 8000)).astype(np.float32)
QUIET = np.random.default_rng(0).normal(0, 3e-4, FRAME_BYTES).astype(np.float32)


def frames(seconds: float, frame: np.ndarray) -> list[np.ndarray]:
    return [frame] * round(seconds / FRAME_SECONDS)


def fed(*parts: list[np.ndarray]) -> list[tuple[int, object]]:
    """What the detector said, with the index of the frame that made it say it."""
    detector = SpeechDetector()
    said = []
    for index, frame in enumerate(f for part in parts for f in part):
        found = detector.feed(frame)
        if found is not None:
            said.append((index, found))
    return said


def test_a_short_pause_inside_an_answer_does_not_cut_it() -> None:
    """Two words with 160 ms between them are one answer: the first pause is recognised
    early, then speech comes back, and the answer recognised is both words."""
    said = fed(
        frames(0.5, QUIET),
        frames(0.4, LOUD),
        frames(0.16, QUIET),
        frames(0.4, LOUD),
        frames(0.6, QUIET),
    )
    kinds = [type(found).__name__ if not isinstance(found, str) else found for _, found in said]
    assert kinds == ["start", "Paused", "Paused", "Utterance"]
    first_pause, last_pause, utterance = said[1][1], said[2][1], said[3][1]
    assert isinstance(first_pause, Paused) and isinstance(last_pause, Paused)
    assert isinstance(utterance, Utterance)
    # The answer recognised is what was said up to the last pause, both words in it.
    assert np.array_equal(utterance.spoken, last_pause.spoken)
    assert len(first_pause.spoken) < len(last_pause.spoken)

    def loud(samples: np.ndarray) -> int:
        return int((np.abs(samples) > 0.1).sum())

    assert loud(utterance.spoken) == round(0.8 / FRAME_SECONDS) * loud(LOUD)  # both words


def test_the_answer_is_ready_to_recognise_before_the_utterance_ends() -> None:
    """The pause comes END_SECONDS - PAUSE_SECONDS before the end. What is recognised is
    the utterance up to it, then silence as long as the rest of the quiet; the recording
    kept is all of it."""
    said = fed(frames(0.5, QUIET), frames(0.6, LOUD), frames(1.0, QUIET))
    (_, start), (paused_at, paused), (ended_at, utterance) = said
    assert start == "start" and isinstance(paused, Paused) and isinstance(utterance, Utterance)
    rest = round((END_SECONDS - PAUSE_SECONDS) / FRAME_SECONDS)
    assert ended_at - paused_at == rest
    assert np.array_equal(utterance.spoken, paused.spoken)
    assert len(utterance.spoken) == len(utterance.samples)
    heard = len(utterance.samples) - rest * FRAME_BYTES
    assert np.array_equal(utterance.spoken[:heard], utterance.samples[:heard])
    assert not utterance.spoken[heard:].any()  # silence, where the line's quiet was
    assert utterance.samples[heard:].any()


def test_an_utterance_too_long_ends_with_all_of_it_recognised() -> None:
    said = fed(frames(0.5, QUIET), frames(9.0, LOUD))
    utterance = next(found for _, found in said if isinstance(found, Utterance))
    assert np.array_equal(utterance.spoken, utterance.samples)
