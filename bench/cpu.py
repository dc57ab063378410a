"""CPU per webhook and per SMS job, from the kernel's accounting, beside a floor.

For each stack (a database kind and `relais serve --workers N`; bench/stack.py), in one run:

- webhooks: the CPU the server's processes used (user + system, from the CPU clocks of
  the process and its children) over whole calls to Relais's /voice (keys 2, 2, 1, 2: a
  procedure, its link by SMS, goodbye, then the status callback), over SMS conversations
  ("caf" then "1") to /sms, and over webhooks to the floor's /voice and /sms (bench/floor.py:
  signature, one read, one write, TwiML) sent at the same moments, their sessions mixed
  evenly in one order (bench.stack.serve_cpu), divided by the webhooks;
- SMS jobs (the link of one call each): `relais worker` is stopped (SIGSTOP) while calls
  queue their links, then let go; its processes' CPU is read until every link is sent.
  The embedded runner (core.jobs.Runner, a thread of the server) runs the same jobs in
  this process, on this thread's CPU clock; the Twilio library's request alone is timed so.
- profiles (cProfile on the thread's CPU clock, own time by package): the webhooks served
  in this process through Flask's test client (no HTTP server), the jobs run in this
  process by the worker (core.jobs.work, burst, as `relais worker --burst`) and by the runner.

Each is measured in ROUNDS rounds, and a ratio or a job's CPU is the median of its rounds,
with their range: on this shared machine the CPU of the same work moves by up to a third
from one second to the next (other machines share the host), so Relais and the floor are
measured at the same moments, and a median of rounds moves far less than one long
measurement. Wall times depend on the load, so none is given.

    python -m bench.cpu [--stacks sqlite:1,postgresql:2] [--calls 40] [--texts 60] ...
    python -m bench.cpu --jobs-only  # the SMS jobs alone, in a minute or two
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

from flask import Flask

from bench.floor import create_floor
from bench.stack import (
    ROOT,
    TOKEN,
    Served,
    Session,
    Stack,
    call,
    cpu_seconds,
    floor_sms,
    floor_voice,
    new_mobile,
    render_prompts,
    serve_cpu,
    texts,
)
from bench.tables import table
from core.db import make_engine, session_factory
from core.jobs import wire_jobs, work
from core.outbound import twilio_client
from core.twilio_simulator import InProcessHttp, TwilioSimulator
from relais.app import create_app, load_job_handlers

RATIO_TARGET = 2.0  # Relais at most 2x the floor's CPU per webhook (issue 15)
JOB_TARGET_MS = 3.0  # at most 3 ms of CPU per SMS job (issue 15)
STARTED = time.monotonic()
ROUNDS = 7  # rounds of each measurement (see the docstring)


@dataclass
class Jobs:
    """The CPU a way of running jobs used per SMS job."""

    name: str
    jobs: int
    cpu: float  # seconds

    @property
    def ms(self) -> float:
        return 1000 * self.cpu / self.jobs if self.jobs else float("nan")


def spread(values: list[float], unit: str) -> str:
    """The median of rounds, and their range: "2.10x (1.90x-2.40x)"."""
    low, high = min(values), max(values)
    return f"{median(values):.2f}{unit} ({low:.2f}{unit}-{high:.2f}{unit})"


@dataclass
class StackResult:
    database: str
    workers: int
    served: list[Served] = field(default_factory=list)  # every round's, in order
    jobs: list[Jobs] = field(default_factory=list)  # every round's, in order
    profiles: dict[str, tuple[pstats.Stats, int]] = field(default_factory=dict)  # and count

    @property
    def name(self) -> str:
        server = "waitress" if self.workers == 1 else f"gunicorn, {self.workers} waitress"
        return f"{'SQLite' if self.database == 'sqlite' else 'PostgreSQL'}, {server}"

    def ratios(self, path: str) -> list[float]:
        """Relais's CPU per webhook over the floor's, in each round."""
        relais = [s.ms for s in self.served if s.name == f"Relais {path}"]
        floor = [s.ms for s in self.served if s.name == f"floor {path}"]
        return [mine / theirs for mine, theirs in zip(relais, floor, strict=True)]

    def ratio(self, path: str) -> float:
        return median(self.ratios(path))

    def job_ms(self, runner: str) -> list[float]:
        """CPU per SMS job of a runner, in each round."""
        return [j.ms for j in self.jobs if j.name == runner]


def profiled(run: Callable[[], object]) -> pstats.Stats:
    profiler = cProfile.Profile(time.thread_time)
    profiler.runcall(run)
    return pstats.Stats(profiler)


def thread_cpu(run: Callable[[], object]) -> float:
    start = time.thread_time()
    run()
    return time.thread_time() - start


def worker_jobs(stack: Stack, count: int) -> Jobs:
    """`relais worker`'s processes' CPU from when it is let go with `count` links waiting
    to when every link is sent."""
    group = stack.worker.process.pid
    os.killpg(group, signal.SIGSTOP)
    try:
        waiting = stack.queue_links(count)
        before = cpu_seconds(group)
    finally:
        os.killpg(group, signal.SIGCONT)
    stack.settled()
    return Jobs(WORKER, waiting, cpu_seconds(group) - before)


WORKER, EMBEDDED, REQUEST = (
    "`relais worker`",
    "embedded runner",
    "of which the Twilio library's request",
)


def measure_jobs(stack: Stack, count: int, result: StackResult) -> None:
    for _ in range(ROUNDS):
        result.jobs.append(worker_jobs(stack, count))
    stack.worker.stop()
    load_job_handlers()
    settings = stack.settings()

    def worker_burst() -> None:  # `relais worker --burst`
        work(settings, burst=True)

    stack.queue_links(3)
    worker_burst()  # untimed: the first jobs of a process
    waiting = stack.queue_links(count // 2)
    result.profiles["job, worker"] = (profiled(worker_burst), waiting)
    embedded = settings.replace(redis_url="")
    runner = wire_jobs(embedded, session_factory(make_engine(embedded.database_url)))
    assert runner is not None

    def run_due() -> None:
        while runner.run_due():
            pass

    stack.queue_links(3)
    run_due()  # untimed: the runner's first jobs (its database connection)
    for _ in range(ROUNDS):
        waiting = stack.queue_links(count)
        result.jobs.append(Jobs(EMBEDDED, waiting, thread_cpu(run_due)))
    waiting = stack.queue_links(count // 2)
    result.profiles["job, embedded"] = (profiled(run_due), waiting)

    def messages_create() -> None:
        for _ in range(count):
            twilio_client(settings).messages.create(
                to=new_mobile(), from_=settings.from_number, body="Lien : https://example.org"
            )

    for _ in range(ROUNDS):
        result.jobs.append(Jobs(REQUEST, count, thread_cpu(messages_create)))


def profile_webhooks(stack: Stack, count: int, result: StackResult) -> None:
    """Profiles of Relais's and the floor's webhooks served in this process."""
    settings = stack.settings()
    relais = create_app(settings)
    floor = create_floor(stack.floor_db, settings.public_url, TOKEN)
    cases: list[tuple[str, Flask, Session, int]] = [
        ("Relais /voice", relais, call, 6),
        ("Relais /sms", relais, texts, 2),
        ("floor /voice", floor, floor_voice, 1),
        ("floor /sms", floor, floor_sms, 1),
    ]
    for name, app, session, webhooks in cases:
        sim = TwilioSimulator(settings.public_url, TOKEN, http=InProcessHttp(app))
        session(sim)  # untimed: the first request of an app
        stats = profiled(lambda sim=sim, session=session: [session(sim) for _ in range(count)])
        result.profiles[name] = (stats, count * webhooks)
    relais.config["RELAIS_DB"].dispose()


def progress(text: str) -> None:
    print(f"bench: {time.monotonic() - STARTED:4.0f} s, {text}", file=sys.stderr, flush=True)


def measure_stack(database: str, workers: int, prompts: Path | None, args) -> StackResult:
    result = StackResult(database, workers)
    progress(f"{result.name}: starting")
    with tempfile.TemporaryDirectory(prefix="relais-bench-") as folder:
        stack = Stack(Path(folder), database, workers, prompts)
        try:
            serve_cpu(  # warm-up: connections, caches
                stack.relais("warm-up", call, 8),
                stack.relais("warm-up", texts, 8),
                stack.floor_load("warm-up", floor_voice, 8),
                stack.floor_load("warm-up", floor_sms, 8),
            )
            stack.settled()
            if not args.jobs_only:
                progress("webhooks")
                for _ in range(ROUNDS):
                    result.served += serve_cpu(
                        stack.floor_load("floor /voice", floor_voice, args.floor),
                        stack.relais("Relais /voice", call, args.calls),
                    )
                    result.served += serve_cpu(
                        stack.floor_load("floor /sms", floor_sms, args.floor),
                        stack.relais("Relais /sms", texts, args.texts),
                    )
                    stack.settled()
            progress("SMS jobs")
            measure_jobs(stack, args.jobs, result)
            if not args.jobs_only:
                progress("profiles of webhooks")
                profile_webhooks(stack, args.profiled, result)
        finally:
            stack.close()
    return result


def measure(args: argparse.Namespace) -> list[StackResult]:
    with tempfile.TemporaryDirectory(prefix="relais-prompts-") as folder:
        progress("rendering the voice prompts")
        prompts = render_prompts(Path(folder))
        results = []
        for database, workers in args.stacks:
            results.append(measure_stack(database, workers, prompts, args))
    return results


# -- tables -------------------------------------------------------------------------------


def webhooks_table(results: list[StackResult]) -> str:
    """Each route's webhooks and CPU, its rounds added up."""
    rows = []
    for r in results:
        for name in dict.fromkeys(s.name for s in r.served):
            rounds = [s for s in r.served if s.name == name]
            webhooks, cpu = sum(s.webhooks for s in rounds), sum(s.cpu for s in rounds)
            sessions, failed = sum(s.sessions for s in rounds), sum(s.failed for s in rounds)
            ms = f"{1000 * cpu / webhooks:.2f}" if webhooks else "nan"
            rows.append([r.name, name, str(sessions), str(failed), str(webhooks), ms])
    header = ["stack", "served", "sessions", "not as scripted", "webhooks", "CPU ms/webhook"]
    return table(header, rows)


def ratio_table(results: list[StackResult]) -> str:
    """Relais over the floor: the median of the rounds, and their range."""
    paths = ("/voice", "/sms")
    rows = [[r.name, *(spread(r.ratios(path), "x") for path in paths)] for r in results]
    return table(["stack", "Relais / floor, /voice", "Relais / floor, /sms"], rows)


def jobs_table(results: list[StackResult]) -> str:
    """CPU per SMS job of each runner: the median of the rounds, and their range."""
    rows = [
        [r.name, runner, str(sum(j.jobs for j in r.jobs if j.name == runner)), spread(ms, " ms")]
        for r in results
        for runner in (WORKER, EMBEDDED, REQUEST)
        if (ms := r.job_ms(runner))
    ]
    return table(["stack", "runner", "SMS jobs", "CPU per job"], rows)


def profile_table(result: StackResult, top: int = 10) -> str:
    """Own CPU time by package, in each profile: share of the profile, the biggest first."""
    shares = {name: by_package(stats) for name, (stats, _) in result.profiles.items()}
    totals: dict[str, float] = {}
    for share in shares.values():
        for package, part in share.items():
            totals[package] = totals.get(package, 0.0) + part
    packages = sorted(totals, key=lambda p: -totals[p])[:top]
    rows = [[p, *(f"{100 * s.get(p, 0.0):.0f} %" for s in shares.values())] for p in packages]
    return table(["package (own time)", *shares], rows)


def by_package(stats: pstats.Stats) -> dict[str, float]:
    """Each package's share of the profile's own time; a built-in function's (C code: the
    database driver, sockets) goes to the package that called it."""
    found: dict[str, float] = {}
    for (path, _line, _name), (_cc, _nc, own, _cum, callers) in stats.stats.items():
        if path != "~":
            found[package(path)] = found.get(package(path), 0.0) + own
            continue
        for (caller, _, _), (_, _, spent, _) in callers.items():
            found[package(caller)] = found.get(package(caller), 0.0) + spent
    total = sum(found.values()) or 1.0
    return {name: seconds / total for name, seconds in found.items()}


def package(path: str) -> str:
    """The package a source file belongs to: a library, Relais's own, or Python's."""
    parts = Path(path).parts
    if path == "~":
        return "Python's built-ins"
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    if path.startswith(str(ROOT)):
        return f"Relais: {Path(path).relative_to(ROOT).parts[0]}/"
    return "Python's standard library"


def report(results: list[StackResult]) -> str:
    parts = [jobs_table(results)]
    if all(r.served for r in results):
        parts[:0] = [webhooks_table(results), ratio_table(results)]
    for result in results:
        parts.append(f"Profiles, {result.name}:\n\n{profile_table(result)}")
    return "\n\n".join(parts)


def stacks(text: str) -> list[tuple[str, int]]:
    """ "sqlite:1,postgresql:2" -> [("sqlite", 1), ("postgresql", 2)]."""
    return [(kind, int(n or 1)) for kind, _, n in (s.partition(":") for s in text.split(","))]


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", type=stacks, default=stacks("sqlite:1,postgresql:2"))
    parser.add_argument("--calls", type=int, default=20, help="calls to /voice a round")
    parser.add_argument("--texts", type=int, default=60, help="SMS conversations a round")
    parser.add_argument("--floor", type=int, default=100, help="floor webhooks a round")
    parser.add_argument("--jobs", type=int, default=60, help="SMS jobs each way a round")
    parser.add_argument("--profiled", type=int, default=10, help="sessions each profile")
    parser.add_argument(
        "--jobs-only", action="store_true", help="only the SMS jobs (no webhooks measured)"
    )
    return parser


if __name__ == "__main__":
    print(report(measure(parser().parse_args())))
