"""Load test of Relais scaled out: concurrent simulated calls and an SMS storm against
`relais serve --workers W`, PostgreSQL, Redis and one `relais worker`.

For each --workers W (1: waitress in one process, as `relais serve --workers 1` runs;
more: gunicorn with W worker processes), a stack of its own: a fresh PostgreSQL schema
(dropped at the end), a unique RQ queue on Redis, `relais serve --workers W` and one
`relais worker` in subprocesses, with RELAIS_SMS_TRANSPORT=twilio and
RELAIS_TWILIO_API_URL pointing at relais.simulator.TwilioApi, the stand-in of Twilio's
REST API, so that every link goes through the worker to the stand-in. The stand-in runs
in a process of its own (its checks would otherwise take the load generator's interpreter
lock) and checks the first request and one in CHECK_ONE_IN against Twilio's OpenAPI
description: checking each took it more CPU than the server spends on a webhook, on the
cores the server needs, while Twilio's API does not run on Relais's machine. The French
voice prompts are rendered once beforehand (`relais prompts render`) and copied into each
stack's data folder, so that calls hear <Play> as in production.

The callers are bench/webhooks.py's: signed form posts, TwiML followed by
relais.simulator's TwilioSimulator; each call presses 2, 2, 1, 2, reaches a procedure
(whose link goes by SMS) and ends; each texter texts "caf" then "1". Per stack:

- paced: for each --concurrency N, N callers, each waiting --think-paced seconds after
  each answer (a caller listening to a prompt): the fair latency test; with 2 workers,
  the 100-call level runs --target-runs times in all, as its p99 moves a lot from one run
  to the next on a shared machine (the target must hold in each);
- saturation: N callers with no wait: the throughput;
- an SMS storm: --sms-concurrency texters, no wait.

Errors are every non-2xx answer, every request without an answer, and every call or SMS
conversation that did not end as the script leads to (TwiML that cannot be followed
included). After the levels, the worker gets up to --drain seconds to send the links
still queued: "expected" is the links Relais stored for sending (one per call that
reached the procedure), "sent" the messages the stand-in accepted.

    python bench/load.py [--workers 1,2] [--concurrency 10,50,100] [--seconds 20]
        [--think-paced 1] [--target-runs 3] [--sms-concurrency 100] [--drain 120]
        [--postgres-url URL] [--redis-url URL]

Targets (issue 6): 0 errors; with 2 workers on this 2-core machine, 100 concurrent paced
calls with p99 under 100 ms, and at least 2 times the single-process throughput. The load
generator, the stand-in, PostgreSQL and Redis run on the same cores as the server: the CPU
each of ours used is printed. Nothing is asserted: the exit status is 0 unless a stack
could not start.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import requests
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.webhooks import (
    AUTH_TOKEN,
    START_TIMEOUT,
    Level,
    Numbers,
    TimedSimulator,
    aligned,
    cpu,
    free_port,
    load_average,
    notes,
    one_call,
    one_texter,
    percentile,
    run_level,
    server_kind,
    server_warnings,
    start_server,
    stop_server,
    wait_healthy,
)
from core.db import make_engine
from relais.simulator import ACCOUNT_SID, RefusedRequests, TwilioApi

CHECK_ONE_IN = 20  # the stand-in checks one request in 20 against the description
POSTGRES_URL = "postgresql://postgres@127.0.0.1/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
FROM_NUMBER = "+33700000000"
P99_TARGET_MS = 100.0  # with 2 workers, at 100 paced calls
TARGET_CALLS = 100
TARGET_WORKERS = 2
SPEEDUP_TARGET = 2.0  # 2 workers against one process, at saturation
TARGETS = (
    "Targets: 0 errors; with 2 workers, 100 concurrent paced calls with p99 < 100 ms and "
    "at least 2x the single-process throughput"
)


# -- the stack: PostgreSQL schema, Twilio API stand-in, server, worker -------------------


@contextlib.contextmanager
def fresh_schema(postgres_url: str) -> Iterator[str]:
    """A new PostgreSQL schema (as tests/conftest.py makes them), dropped afterwards with
    everything in it; yields the database URL that uses it."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in postgres_url else "?"
    try:
        yield f"{postgres_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def _serve_api(conn: Connection) -> None:
    """The stand-in's process: answer "counts" with (messages accepted, refusals), "stop"
    by stopping."""
    api = TwilioApi(None, ACCOUNT_SID, AUTH_TOKEN, check_one_in=CHECK_ONE_IN)
    conn.send(api.url)
    while conn.recv() == "counts":
        refused = [f"{r.method} {r.path}: {', '.join(r.problems)}" for r in api.rejected]
        conn.send((len(api.messages), refused))
    with contextlib.suppress(RefusedRequests):  # reported by "counts" already
        api.close()


class ApiProcess:
    """relais.simulator.TwilioApi in a process of its own, at `url`."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve_api, args=(child,), daemon=True)
        self.process.start()
        if not self.conn.poll(START_TIMEOUT):
            self.process.kill()
            raise RuntimeError("the Twilio API stand-in did not start")
        self.url: str = self.conn.recv()

    def counts(self) -> tuple[int, list[str]]:
        """Messages accepted so far, and the requests refused (with why)."""
        self.conn.send("counts")
        return self.conn.recv()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send("stop")
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()


def render_prompts(folder: Path) -> Path | None:
    """The French voice prompts rendered into `folder`/audio; None without a speech
    synthesiser (calls then hear <Say>)."""
    env = {**os.environ, "RELAIS_DATA_DIR": str(folder), "TWILIO_AUTH_TOKEN": AUTH_TOKEN}
    done = subprocess.run(
        [sys.executable, "-m", "relais.cli", "prompts", "render"],
        env=env,
        capture_output=True,
        check=False,
    )
    return folder / "audio" if done.returncode == 0 else None


@dataclass
class Stack:
    """One running Relais, scaled out."""

    workers: int
    url: str
    database_url: str
    server: subprocess.Popen
    worker: subprocess.Popen
    api: ApiProcess
    server_log: Path
    worker_log: Path

    def sms_counts(self) -> tuple[int, int, int]:
        """Links stored for sending through Twilio, those still waiting for the worker,
        and those that failed."""
        db = make_engine(self.database_url)
        try:
            with db.connect() as conn:
                stored, waiting, failed = conn.execute(
                    text(
                        "SELECT count(*),"
                        " count(*) FILTER (WHERE provider_id IS NULL"
                        "   AND status IN ('queued', 'sending')),"
                        " count(*) FILTER (WHERE status = 'failed')"
                        " FROM outbound_messages WHERE transport = 'twilio'"
                    )
                ).one()
        finally:
            db.dispose()
        return stored, waiting, failed

    def pids(self) -> dict[str, int]:
        """The processes serving: the server (gunicorn's master), its worker processes,
        and the job worker; by name."""
        found = {"server": self.server.pid}
        children = sorted(child_pids(self.server.pid))
        found.update({f"gunicorn worker {n}": pid for n, pid in enumerate(children, 1)})
        found["relais worker"] = self.worker.pid
        return found


def child_pids(pid: int) -> list[int]:
    """The ids of a process's children, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _clear_queue(redis_url: str, queue: str) -> None:
    """Remove what RQ keeps under this run's queue name (its jobs' own keys expire)."""
    from redis import Redis

    redis = Redis.from_url(redis_url)
    try:
        for key in redis.scan_iter(f"rq:*{queue}*"):
            redis.delete(key)
    finally:
        redis.close()


@contextlib.contextmanager
def stack(workers: int, postgres_url: str, redis_url: str, prompts: Path | None) -> Iterator[Stack]:
    """Start a Stack on a fresh schema and queue; stop it and drop both afterwards."""
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    with (
        fresh_schema(postgres_url) as database_url,
        tempfile.TemporaryDirectory(prefix="relais-load-") as tmp,
    ):
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        if prompts is not None:
            shutil.copytree(prompts, data_dir / "audio")
        api = ApiProcess()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            "RELAIS_REDIS_URL": redis_url,
            "RELAIS_QUEUE": queue,
            "RELAIS_SMS_TRANSPORT": "twilio",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "RELAIS_FROM_NUMBER": FROM_NUMBER,
            "RELAIS_TWILIO_API_URL": api.url,
            "RELAIS_RENDER_PROMPTS": "0",  # rendered beforehand
        }
        server_log, worker_log = Path(tmp) / "server.log", Path(tmp) / "worker.log"
        server = worker = None
        try:
            server = start_server(data_dir, port, database_url, workers, server_log, env)
            if not wait_healthy(url, server, START_TIMEOUT):
                raise RuntimeError(
                    f"relais serve did not answer {url}/healthz: "
                    + server_log.read_text(errors="replace")[-4000:]
                )
            # After the server: it migrated the schema, the worker finds it ready.
            worker_env = {
                **os.environ,
                **env,
                "RELAIS_DATA_DIR": str(data_dir),
                "RELAIS_DATABASE_URL": database_url,
                "RELAIS_PUBLIC_URL": url,
                "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            }
            with worker_log.open("wb") as log:
                worker = subprocess.Popen(
                    [sys.executable, "-m", "relais.cli", "worker"],
                    env=worker_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            yield Stack(workers, url, database_url, server, worker, api, server_log, worker_log)
        finally:
            for process in (server, worker):
                if process is not None:
                    stop_server(process)
            api.close()
            _clear_queue(redis_url, queue)


# -- the load ---------------------------------------------------------------------------


def machine_busy() -> float | None:
    """CPU seconds the whole machine spent busy so far (every core, every process: ours,
    PostgreSQL's, Redis's and anyone else's), from /proc/stat; None without it."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuSplit:
    """CPU seconds used during a level beside the server's and the load generator's (in
    its Level): the job worker's, the stand-in's, and the whole machine's."""

    worker: float | None
    api: float | None
    machine: float | None

    def rest(self, level: Level) -> float | None:
        """The machine's CPU seconds not used by any process of ours: PostgreSQL, Redis,
        and whatever else runs on the machine."""
        ours = (level.server_cpu, level.bench_cpu, self.worker, self.api)
        if self.machine is None or any(value is None for value in ours):
            return None
        return self.machine - sum(value for value in ours if value is not None)


def _spent(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def failures(level: Level) -> int:
    """Errors as the issue counts them: HTTP errors and requests without an answer, and
    sessions that did not end as the script leads to (unfollowable TwiML included)."""
    return level.errors + level.unfinished


def warm_up(url: str, callers: Numbers, texters: Numbers) -> None:
    """One call and one SMS conversation, untimed: a fresh server opens its connections."""
    sim = TimedSimulator(url, Level("warm-up", 1), threading.Event())
    try:
        one_call(sim, callers.next())
        one_texter(sim, texters.next())
    except requests.RequestException:
        pass
    finally:
        sim.close()


@dataclass
class WorkersRun:
    """Everything measured against one stack."""

    workers: int
    paced: list[Level] = field(default_factory=list)
    # The target's level (TARGET_CALLS paced calls) run again: a p99 moves a lot from one
    # run to the next on a shared machine, and the target must hold in every run.
    target_again: list[Level] = field(default_factory=list)
    saturation: list[Level] = field(default_factory=list)
    cpu: list[CpuSplit] = field(default_factory=list)  # per saturation level
    storm: Level | None = None
    sms_expected: int = 0
    sms_sent: int = 0
    sms_failed: int = 0
    sms_waiting: int = 0  # still queued when --drain ran out
    refused: list[str] = field(default_factory=list)
    drain_seconds: float = 0.0  # after the last level, until no link was waiting
    worker_cpu: float | None = None  # CPU seconds of `relais worker` over the run
    api_cpu: float | None = None  # CPU seconds of the stand-in over the run
    log: list[str] = field(default_factory=list)

    @property
    def levels(self) -> list[Level]:
        storm = [self.storm] if self.storm else []
        return self.paced + self.target_again + self.saturation + storm

    @property
    def errors(self) -> int:
        return sum(failures(level) for level in self.levels)

    @property
    def throughput(self) -> float:
        """The best saturation rate, webhooks a second."""
        return max((level.rate for level in self.saturation), default=0.0)

    def machine_busy_at_best(self) -> float | None:
        """How busy the machine's cores were (0 to 1) during the best saturation level."""
        if not self.saturation:
            return None
        best, cpus = max(zip(self.saturation, self.cpu, strict=True), key=lambda x: x[0].rate)
        if cpus.machine is None or not best.elapsed:
            return None
        return cpus.machine / (best.elapsed * (os.cpu_count() or 1))

    def paced_at(self, concurrency: int) -> Level | None:
        return next((lvl for lvl in self.paced if lvl.concurrency == concurrency), None)


def drain(target: Stack, seconds: float) -> tuple[float, int]:
    """Wait (at most `seconds`) until the worker has no link left to send; the wait and
    the number still waiting."""
    start = time.monotonic()
    while True:
        waiting = target.sms_counts()[1]
        if not waiting or time.monotonic() - start > seconds:
            return time.monotonic() - start, waiting
        time.sleep(0.5)


def measure_workers(args: argparse.Namespace, workers: int, prompts: Path | None) -> WorkersRun:
    """The paced levels, the saturation levels and the SMS storm against one stack."""
    result = WorkersRun(workers)
    callers, texters = Numbers("+3361"), Numbers("+3362")
    with stack(workers, args.postgres_url, args.redis_url, prompts) as target:
        print(f"Relais at {target.url}: {server_kind(workers)}, PostgreSQL, Redis", flush=True)
        warm_up(target.url, callers, texters)
        pid, worker_pid, api_pid = target.server.pid, target.worker.pid, target.api.process.pid
        worker_cpu, api_cpu = cpu(worker_pid), cpu(api_pid)
        for concurrency in args.levels:
            level = Level("calls", concurrency, args.think_paced)
            run_level(level, target.url, args.seconds, one_call, callers, pid)
            print(f"  paced x{concurrency}: {level_summary(level)}", flush=True)
            result.paced.append(level)
        if workers == TARGET_WORKERS and TARGET_CALLS in args.levels:
            for again in range(2, args.target_runs + 1):
                level = Level("calls", TARGET_CALLS, args.think_paced)
                run_level(level, target.url, args.seconds, one_call, callers, pid)
                print(f"  paced x{TARGET_CALLS}, run {again}: {level_summary(level)}", flush=True)
                result.target_again.append(level)
        for concurrency in args.levels:
            level = Level("calls", concurrency)
            before = (cpu(worker_pid), cpu(api_pid), machine_busy())
            run_level(level, target.url, args.seconds, one_call, callers, pid)
            after = (cpu(worker_pid), cpu(api_pid), machine_busy())
            print(f"  saturation x{concurrency}: {level_summary(level)}", flush=True)
            result.saturation.append(level)
            result.cpu.append(CpuSplit(*map(_spent, before, after)))
        if args.sms_concurrency:
            level = Level("sms", args.sms_concurrency)
            run_level(level, target.url, args.seconds, one_texter, texters, pid)
            print(f"  SMS storm x{args.sms_concurrency}: {level_summary(level)}", flush=True)
            result.storm = level
        result.drain_seconds, result.sms_waiting = drain(target, args.drain)
        result.sms_expected, _, result.sms_failed = target.sms_counts()
        result.sms_sent, result.refused = target.api.counts()
        result.worker_cpu = _spent(worker_cpu, cpu(worker_pid))
        result.api_cpu = _spent(api_cpu, cpu(api_pid))
        if target.server.poll() is not None:
            result.log.append(f"the server exited during the run ({target.server.returncode})")
        if target.worker.poll() is not None:
            result.log.append(f"the worker exited during the run ({target.worker.returncode})")
        result.log += [f"server: {line}" for line in server_warnings(target.server_log)]
        result.log += [f"worker: {line}" for line in server_warnings(target.worker_log)]
    return result


def level_summary(level: Level) -> str:
    abandoned = f", {level.abandoned} left under way" if level.abandoned else ""
    return (
        f"{level.completed} sessions{abandoned}, {len(level.latencies)} webhooks, "
        f"{failures(level)} errors, p99 {level.ms(99):.1f} ms"
    )


@dataclass
class LoadResult:
    """A whole run: one WorkersRun per --workers, and the conditions it ran in."""

    runs: list[WorkersRun]
    seconds: float
    think_paced: float
    prompts: bool  # the voice prompts were rendered (<Play>), else <Say>
    load_before: str
    load_after: str


def measure(args: argparse.Namespace) -> LoadResult:
    """Render the prompts once, then measure each --workers in turn."""
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="relais-load-prompts-") as folder:
        prompts = render_prompts(Path(folder))
        runs = [measure_workers(args, workers, prompts) for workers in args.worker_counts]
    return LoadResult(
        runs, args.seconds, args.think_paced, prompts is not None, load_before, load_average()
    )


# -- the report --------------------------------------------------------------------------


@dataclass
class Target:
    """One of the issue's targets: what, the figure, and whether it is met (None: not
    measured)."""

    name: str
    figure: str
    met: bool | None


def targets(result: LoadResult) -> list[Target]:
    errors = sum(run.errors for run in result.runs)
    found = [Target("0 errors", f"{errors} errors", errors == 0)]
    by_workers = {run.workers: run for run in result.runs}
    two = by_workers.get(TARGET_WORKERS)
    paced = two.paced_at(TARGET_CALLS) if two else None
    if two is None or paced is None:
        found.append(Target(f"p99 < {P99_TARGET_MS:g} ms", "not measured", None))
    else:
        p99s = [level.ms(99) for level in (paced, *two.target_again)]
        runs = f" ({len(p99s)} runs)" if len(p99s) > 1 else ""
        found.append(
            Target(
                f"2 workers, {TARGET_CALLS} paced calls: p99 < {P99_TARGET_MS:g} ms",
                ", ".join(f"{p99:.1f}" for p99 in p99s) + f" ms{runs}",
                max(p99s) < P99_TARGET_MS,
            )
        )
    one = by_workers.get(1)
    if two is None or one is None or not one.throughput:
        found.append(Target(f">= {SPEEDUP_TARGET:g}x throughput", "not measured", None))
    else:
        speedup = two.throughput / one.throughput
        figure = f"{two.throughput:.0f} / {one.throughput:.0f} webhooks/s = {speedup:.2f}x"
        busy = one.machine_busy_at_best()
        if busy is not None:
            # What a second worker can add is bounded by the idle CPU one process leaves.
            figure += (
                f" (with one process the machine's cores were already {busy:.0%} busy: "
                f"at best {min(SPEEDUP_TARGET, 1 / busy):.2f}x on this machine)"
            )
        found.append(
            Target(
                f"2 workers: >= {SPEEDUP_TARGET:g}x the single-process throughput",
                figure,
                speedup >= SPEEDUP_TARGET,
            )
        )
    missing = sum(run.sms_expected - run.sms_sent for run in result.runs)
    found.append(
        Target(
            "every link sent by the worker, once",
            f"{sum(r.sms_sent for r in result.runs)} sent of "
            f"{sum(r.sms_expected for r in result.runs)} expected",
            missing == 0 and not any(run.refused for run in result.runs),
        )
    )
    return found


def verdict(met: bool | None) -> str:
    return {True: "met", False: "NOT met", None: "not measured"}[met]


def level_row(run: WorkersRun, level: Level) -> list[str]:
    return [
        str(run.workers),
        str(level.concurrency),
        str(level.completed),
        str(len(level.latencies)),
        str(failures(level)),
        f"{level.ms(50):.1f}",
        f"{level.ms(99):.1f}",
        f"{level.rate:.1f}",
        seconds(level.server_cpu),
        f"{level.bench_cpu:.1f}",
    ]


HEADER = [
    "workers",
    "concurrency",
    "sessions",
    "webhooks",
    "errors",
    "p50 ms",
    "p99 ms",
    "webhooks/s",
    "server CPU s",
    "load gen. CPU s",
]


def seconds(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "?"


def path_rows(level: Level) -> list[list[str]]:
    """Each webhook's latency in a level, by URL path."""
    rows = [["webhook", "count", "p50 ms", "p99 ms"]]
    for path, values in sorted(level.by_path.items()):
        ordered = sorted(values)
        p50, p99 = (percentile(ordered, q) * 1000 for q in (50, 99))
        rows.append([path, str(len(values)), f"{p50:.1f}", f"{p99:.1f}"])
    return rows


def report(result: LoadResult) -> None:
    print(
        f"\nLatency, paced calls: each caller waits {result.think_paced:g} s after each "
        f"answer ({result.seconds:g} s a level)"
    )
    for line in aligned([HEADER] + [level_row(r, lvl) for r in result.runs for lvl in r.paced]):
        print(line)
    print(f"\nThroughput, saturation: no wait ({result.seconds:g} s a level)")
    rows = [
        [
            *level_row(r, lvl),
            *(seconds(value) for value in (split.worker, split.api, split.rest(lvl))),
        ]
        for r in result.runs
        for lvl, split in zip(r.saturation, r.cpu, strict=True)
    ]
    for line in aligned([[*HEADER, "worker CPU s", "stand-in CPU s", "rest CPU s"], *rows]):
        print(line)
    storms = [level_row(r, r.storm) for r in result.runs if r.storm]
    if storms:
        print("\nSMS storm: each texter texts 'caf' then '1' from a new number, no wait")
        for line in aligned([HEADER, *storms]):
            print(line)
    for run in result.runs:
        busiest = max(run.paced, key=lambda level: level.concurrency, default=None)
        if busiest is not None:
            print(f"\nPer webhook, paced x{busiest.concurrency}, {server_kind(run.workers)}")
            for line in aligned(path_rows(busiest)):
                print(line)
    print("\nLinks by SMS, through `relais worker` to the Twilio API stand-in")
    rows = [
        ["workers", "expected", "sent", "failed", "refused", "waiting", "drained after s"],
        *(
            [
                str(r.workers),
                str(r.sms_expected),
                str(r.sms_sent),
                str(r.sms_failed),
                str(len(r.refused)),
                str(r.sms_waiting),
                f"{r.drain_seconds:.1f}",
            ]
            for r in result.runs
        ),
    ]
    for line in aligned(rows):
        print(line)
    print()
    print(
        f"Machine: {os.cpu_count()} cores; the load generator, the Twilio API stand-in, "
        "PostgreSQL and Redis share them with the server (rest CPU s: the machine's CPU not "
        f"used by our processes: PostgreSQL, Redis, anything else; {os.cpu_count()} cores give "
        f"{os.cpu_count()} CPU s a second)"
    )
    print(
        "Voice prompts: "
        + ("rendered beforehand (<Play>)" if result.prompts else "no synthesiser (<Say>)")
    )
    print(f"Load average (1, 5, 15 min): {result.load_before} before, {result.load_after} after")
    for run in result.runs:
        worker = f"{run.worker_cpu:.1f} s" if run.worker_cpu is not None else "unknown"
        api = f"{run.api_cpu:.1f} s" if run.api_cpu is not None else "unknown"
        print(f"CPU, {server_kind(run.workers)}: relais worker {worker}, API stand-in {api}")
        for refusal in run.refused[:5]:
            print(f"  refused by the stand-in: {refusal}")
        for title, levels in (("paced", run.paced), ("saturation", run.saturation)):
            for note in notes(title, levels):
                print(f"  {note}")
        if run.storm is not None:
            for note in notes("storm", [run.storm]):
                print(f"  {note}")
        for line in run.log:
            print(f"  {line}")
    print(TARGETS)
    for target in targets(result):
        print(f"  {target.name}: {target.figure} ({verdict(target.met)})")


def numbers(text: str, option: str, parser: argparse.ArgumentParser) -> list[int]:
    try:
        values = [int(n) for n in text.split(",") if n.strip()]
    except ValueError:
        parser.error(f"{option}: not a list of numbers: {text!r}")
    if not values or min(values) < 1:
        parser.error(f"{option}: each value must be at least 1")
    return values


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", default="1,2", help="comma-separated (default: 1,2)")
    parser.add_argument(
        "--concurrency", default="10,50,100", help="comma-separated (default: 10,50,100)"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="per level (default: 20)")
    parser.add_argument(
        "--think-paced",
        type=float,
        default=1.0,
        help="seconds a paced caller waits after each answer (default: 1)",
    )
    parser.add_argument(
        "--target-runs",
        type=int,
        default=3,
        help=f"runs of the p99 target's level ({TARGET_CALLS} paced calls, "
        f"{TARGET_WORKERS} workers) (default: 3)",
    )
    parser.add_argument(
        "--sms-concurrency", type=int, default=100, help="texters in the storm (0: none)"
    )
    parser.add_argument(
        "--drain",
        type=float,
        default=120.0,
        help="seconds the worker gets after the load to send the links (default: 120)",
    )
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help=f"default: {POSTGRES_URL}")
    parser.add_argument("--redis-url", default=REDIS_URL, help=f"default: {REDIS_URL}")
    args = parser.parse_args(argv)
    args.worker_counts = numbers(args.workers, "--workers", parser)
    args.levels = numbers(args.concurrency, "--concurrency", parser)
    if args.target_runs < 1:
        parser.error("--target-runs: at least 1")
    if args.think_paced <= 0:
        parser.error("--think-paced: more than 0 seconds")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        result = measure(args)
    except RuntimeError as exc:
        print(f"load: {exc}", file=sys.stderr)
        return 1
    report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
