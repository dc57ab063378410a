"""Soak: steady paced load for a long time, watching the memory of every process serving.

Starts the stack of bench/load.py (`relais serve --workers W` on a fresh PostgreSQL
schema, a unique RQ queue on Redis, one `relais worker`, the Twilio API stand-in, the
voice prompts rendered beforehand), then for --minutes runs --concurrency paced callers
(bench/webhooks.py's calls 2, 2, 1, 2, each sending a link through the worker) and
--texters paced texters ("caf" then "1"), each waiting --think seconds after each answer.
Every --interval seconds it reads the resident memory (VmRSS in /proc/<pid>/status) of
each process: the server (gunicorn's master), its worker processes, and `relais worker`.

It prints one row per sample (memory of each process, and the webhooks, errors and p99
since the previous sample), then the growth of each process from the end of the warm-up
(--warm-up seconds, default the first minute) to the last sample, and the links the
worker sent against those expected.

    python bench/soak.py [--minutes 10] [--workers 2] [--concurrency 50] [--texters 10]
        [--think 1] [--interval 10] [--warm-up 60] [--postgres-url URL] [--redis-url URL]

Target (issue 6): no process grows by more than 10 % over the soak, after the warm-up.
The load generator shares the machine's cores with the server. Nothing is asserted: the
exit status is 0 unless the stack could not start.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import (
    POSTGRES_URL,
    REDIS_URL,
    Stack,
    drain,
    failures,
    render_prompts,
    stack,
    warm_up,
)
from bench.webhooks import (
    SMS_TEXTS,
    Abandoned,
    Level,
    Numbers,
    TimedSimulator,
    aligned,
    load_average,
    notes,
    one_call,
    percentile,
    run_level,
    server_kind,
    server_warnings,
)

GROWTH_TARGET = 10.0  # percent, after the warm-up


def rss_mb(pid: int) -> float | None:
    """A process's resident memory (VmRSS), in MB; None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def paced_texter(sim: TimedSimulator, number: str) -> bool:
    """SMS_TEXTS from one number, waiting the level's think time after each reply."""
    for body in SMS_TEXTS:
        response = sim.post(sim.public_url + "/sms", sim.sms_params(number, body))
        if not 200 <= response.status_code < 300:
            return False
        if sim.stop.wait(sim.level.think):
            raise Abandoned
    return True


@dataclass
class Sample:
    """One look at the processes, and the load since the previous look."""

    seconds: float  # since the load started
    rss: dict[str, float | None]  # MB by process name
    latencies: list[float]  # of the webhooks since the previous sample, sorted
    errors: int  # since the load started

    @property
    def webhooks(self) -> int:
        return len(self.latencies)

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 99) * 1000


@dataclass
class SoakResult:
    workers: int
    minutes: float
    concurrency: int
    texters: int
    think: float
    warm_up: float
    samples: list[Sample] = field(default_factory=list)
    calls: Level | None = None
    texts: Level | None = None
    sms_expected: int = 0
    sms_sent: int = 0
    log: list[str] = field(default_factory=list)  # the server's and worker's warnings
    load_before: str = ""
    load_after: str = ""

    @property
    def names(self) -> list[str]:
        return list(self.samples[0].rss) if self.samples else []

    def baseline(self) -> Sample | None:
        """The first sample after the warm-up."""
        return next((s for s in self.samples if s.seconds >= self.warm_up), None)

    def growth(self) -> dict[str, float | None]:
        """Percent growth of each process's memory, from the baseline to the last sample
        (None: the process was gone)."""
        first, last = self.baseline(), self.samples[-1] if self.samples else None
        found: dict[str, float | None] = {}
        for name in self.names:
            before = first.rss.get(name) if first else None
            after = last.rss.get(name) if last else None
            found[name] = 100 * (after - before) / before if before and after else None
        return found

    @property
    def errors(self) -> int:
        return sum(failures(level) for level in (self.calls, self.texts) if level)

    def met(self) -> bool | None:
        """Whether no process grew beyond the target (None: not measured)."""
        growth = self.growth()
        if self.baseline() is None or self.baseline() is self.samples[-1] or not growth:
            return None
        return all(value is not None and value <= GROWTH_TARGET for value in growth.values())


def sample(target: Stack, levels: list[Level], start: float, seen: list[int]) -> Sample:
    """Memory now, and the webhooks since the previous sample (`seen`: how many of each
    level's latencies were counted already, updated)."""
    rss = {name: rss_mb(pid) for name, pid in target.pids().items()}
    recent: list[float] = []
    errors = 0
    for n, level in enumerate(levels):
        with level.lock:
            recent += level.latencies[seen[n] :]
            seen[n] = len(level.latencies)
            errors += failures(level)
    return Sample(time.perf_counter() - start, rss, sorted(recent), errors)


def measure(args: argparse.Namespace) -> SoakResult:
    result = SoakResult(
        args.workers, args.minutes, args.concurrency, args.texters, args.think, args.warm_up
    )
    result.load_before = load_average()
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory(prefix="relais-soak-prompts-") as folder:
        prompts = render_prompts(Path(folder))
        with stack(args.workers, args.postgres_url, args.redis_url, prompts) as target:
            print(f"Soak at {target.url}: {server_kind(args.workers)}", flush=True)
            callers, texters = Numbers("+3361"), Numbers("+3362")
            warm_up(target.url, callers, texters)
            result.calls = Level("calls", args.concurrency, args.think)
            runs = [(result.calls, one_call, callers)]
            if args.texters:
                result.texts = Level("sms", args.texters, args.think)
                runs.append((result.texts, paced_texter, texters))
            threads = [
                threading.Thread(
                    target=run_level,
                    args=(level, target.url, seconds, session, numbers, target.server.pid),
                    daemon=True,
                )
                for level, session, numbers in runs
            ]
            start = time.perf_counter()
            for thread in threads:
                thread.start()
            levels = [level for level, _, _ in runs]
            seen = [0] * len(levels)
            result.samples.append(sample(target, levels, start, seen))
            next_at = args.interval
            while any(thread.is_alive() for thread in threads):
                time.sleep(min(0.5, max(0.0, next_at - (time.perf_counter() - start))))
                if time.perf_counter() - start >= next_at:
                    result.samples.append(sample(target, levels, start, seen))
                    print(f"  {memory_text(result.samples[-1])}", flush=True)
                    next_at += args.interval
            result.samples.append(sample(target, levels, start, seen))
            drain(target, 120)
            result.sms_expected = target.sms_counts()[0]
            result.sms_sent = target.api.counts()[0]
            result.log += [f"server: {line}" for line in server_warnings(target.server_log)]
            result.log += [f"worker: {line}" for line in server_warnings(target.worker_log)]
    result.load_after = load_average()
    return result


def memory_text(row: Sample) -> str:
    memory = ", ".join(f"{name} {mb(value)} MB" for name, value in row.rss.items())
    return f"{row.seconds:5.0f} s: {memory}; {row.webhooks} webhooks, p99 {row.p99_ms:.1f} ms"


def mb(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "-"


def report(result: SoakResult) -> None:
    print(
        f"\nSoak: {result.minutes:g} min, {server_kind(result.workers)}, PostgreSQL, Redis; "
        f"{result.concurrency} paced callers and {result.texters} paced texters, each "
        f"waiting {result.think:g} s after each answer"
    )
    names = result.names
    rows = [["s", *(f"{name} MB" for name in names), "webhooks", "errors so far", "p99 ms"]]
    for row in result.samples:
        rows.append(
            [
                f"{row.seconds:.0f}",
                *(mb(row.rss.get(name)) for name in names),
                str(row.webhooks),
                str(row.errors),
                f"{row.p99_ms:.1f}" if row.webhooks else "-",
            ]
        )
    for line in aligned(rows):
        print(line)
    baseline = result.baseline()
    if baseline is not None and result.samples:
        print(
            f"\nGrowth from {baseline.seconds:.0f} s (after the warm-up) to "
            f"{result.samples[-1].seconds:.0f} s:"
        )
        for name, value in result.growth().items():
            print(f"  {name}: {f'{value:+.1f} %' if value is not None else 'unknown'}")
    levels = [level for level in (result.calls, result.texts) if level]
    latencies = sorted(t for level in levels for t in level.latencies)
    print(
        f"Webhooks: {len(latencies)}, errors {result.errors}, p50 "
        f"{percentile(latencies, 50) * 1000:.1f} ms, p99 {percentile(latencies, 99) * 1000:.1f} ms"
    )
    print(f"Links sent by the worker: {result.sms_sent} of {result.sms_expected} expected")
    for note in notes("soak", levels):
        print(f"  {note}")
    for line in result.log:
        print(f"  {line}")
    print(
        f"Machine: {os.cpu_count()} cores, shared with the load generator; load average "
        f"{result.load_before} before, {result.load_after} after"
    )
    verdict = {True: "met", False: "NOT met", None: "not measured"}[result.met()]
    print(f"Target: no process grows by more than {GROWTH_TARGET:g} % ({verdict})")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="(default: 10)")
    parser.add_argument("--workers", type=int, default=2, help="(default: 2)")
    parser.add_argument("--concurrency", type=int, default=50, help="paced callers (50)")
    parser.add_argument("--texters", type=int, default=10, help="paced texters (10)")
    parser.add_argument("--think", type=float, default=1.0, help="seconds after an answer (1)")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument(
        "--warm-up", type=float, default=60.0, help="seconds before the baseline (60)"
    )
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help=f"default: {POSTGRES_URL}")
    parser.add_argument("--redis-url", default=REDIS_URL, help=f"default: {REDIS_URL}")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.interval <= 0 or args.think <= 0 or args.concurrency < 1:
        parser.error("--minutes, --interval, --think, --concurrency: more than 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        result = measure(args)
    except RuntimeError as exc:
        print(f"soak: {exc}", file=sys.stderr)
        return 1
    report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
