"""Webhook latency and throughput of `relais serve`, over real HTTP.

Starts `python -m relais.cli serve` as a subprocess on a free local port (a fresh data
folder, TWILIO_AUTH_TOKEN=bench-token), waits for GET /healthz, then, for each concurrency
level N, runs N simulated callers in parallel threads for a fixed time. Each caller makes
calls in a loop, every call from a new number, with the keys 2, 2, 1, 2 (aides -> impôts ->
"yes, I can open a link" -> "that's all"), so that each call reaches a procedure, sends its
SMS and ends. Every webhook request (signed form post, as Twilio sends it) is timed. A last
level runs N texters, each texting "caf" then "1" from a new number.

Run it from the repository root:

    python bench/webhooks.py [--seconds 10] [--concurrency 1,10,50] [--database-url URL]

--database-url sets RELAIS_DATABASE_URL (default: SQLite in the temporary data folder),
e.g. postgresql://postgres@127.0.0.1/bench_relais (the database must exist; the schema is
migrated at start and the rows the benchmark writes are left there). --sms-concurrency sets
the number of texters (default: the highest --concurrency level; 0 skips the SMS level).

The load generator runs on the same machine as the server, so both share its cores. Nothing
is asserted: the exit status is 0 unless the server could not start.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

from relais.simulator import TwilioSimulator, message_bodies

AUTH_TOKEN = "bench-token"
CALL_KEYS = ("2", "2", "1", "2")  # aides -> impôts -> can open a link -> that's all
SMS_TEXTS = ("caf", "1")
START_TIMEOUT = 60.0
TARGETS = "Targets: p99 < 50 ms at 50 concurrent calls; >= 300 webhooks/s"

try:
    import numpy
except ImportError:  # no new dependency: the standard library does the same
    numpy = None


# -- measurements ------------------------------------------------------------------------


@dataclass
class Level:
    """What one level measured: every webhook's latency (seconds), errors, completions."""

    name: str
    concurrency: int
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    completed: int = 0
    unfinished: int = 0  # calls that ended, but not the way the script leads to
    elapsed: float = 0.0
    server_cpu: float | None = None  # CPU seconds the server used during the level
    bench_cpu: float = 0.0  # CPU seconds this load generator used during the level
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, seconds: float, ok: bool) -> None:
        with self.lock:
            self.latencies.append(seconds)
            if not ok:
                self.errors += 1

    def failure(self) -> None:
        """A request that got no HTTP answer at all (connection error, timeout)."""
        with self.lock:
            self.errors += 1

    def done(self, finished: bool) -> None:
        with self.lock:
            if finished:
                self.completed += 1
            else:
                self.unfinished += 1


class TimedSimulator(TwilioSimulator):
    """The Twilio simulator, timing each webhook post into a Level."""

    def __init__(self, server_url: str, level: Level):
        super().__init__(server_url, AUTH_TOKEN)
        self.level = level

    def post(
        self, url: str, params: dict[str, str], signature: str | None = None
    ) -> requests.Response:
        start = time.perf_counter()
        try:
            response = super().post(url, params, signature)
        except requests.RequestException:
            self.level.failure()
            raise
        self.level.record(time.perf_counter() - start, 200 <= response.status_code < 300)
        return response


class Numbers:
    """Distinct French mobile numbers, thread-safe. The start is random so that a second
    run against the same database still meets only new callers."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.counter = itertools.count(random.randrange(10_000_000))
        self.lock = threading.Lock()

    def next(self) -> str:
        with self.lock:
            n = next(self.counter)
        return f"{self.prefix}{n % 10_000_000:07d}"


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear interpolation between closest ranks."""
    if not sorted_values:
        return float("nan")
    if numpy is not None:
        return float(numpy.percentile(sorted_values, q))
    position = (len(sorted_values) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


# -- load ----------------------------------------------------------------------------------


def one_call(sim: TimedSimulator, number: str) -> bool:
    """A call following CALL_KEYS; True when it ended as the script leads to: completed,
    every key used, and Relais (not the caller) ending it."""
    call = sim.call(number, CALL_KEYS)
    hung_up = bool(call.transcript) and call.transcript[-1].text == "raccroche"
    return call.status == "completed" and not call.answers and not hung_up


def one_texter(sim: TimedSimulator, number: str) -> bool:
    """SMS_TEXTS from one number; True when every text got a 2xx and at least one reply."""
    for body in SMS_TEXTS:
        response = sim.post(sim.public_url + "/sms", sim.sms_params(number, body))
        if not 200 <= response.status_code < 300 or not message_bodies(response.text):
            return False
    return True


def run_level(
    level: Level,
    server_url: str,
    seconds: float,
    session: Callable[[TimedSimulator, str], bool],
    numbers: Numbers,
    server_pid: int,
) -> Level:
    """`level.concurrency` threads, each running `session` from new numbers until
    `seconds` have passed (a session under way at the deadline finishes)."""
    stop = threading.Event()
    ready = threading.Barrier(level.concurrency + 1)

    def worker() -> None:
        sim = TimedSimulator(server_url, level)
        try:
            ready.wait()
            while not stop.is_set():
                try:
                    finished = session(sim, numbers.next())
                except requests.RequestException:
                    finished = False
                level.done(finished)
        finally:
            sim.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(level.concurrency)]
    for thread in threads:
        thread.start()
    ready.wait()
    start, bench_cpu, server_cpu = time.perf_counter(), time.process_time(), cpu(server_pid)
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    level.elapsed = time.perf_counter() - start
    level.bench_cpu = time.process_time() - bench_cpu
    server_cpu_after = cpu(server_pid)
    if server_cpu is not None and server_cpu_after is not None:
        level.server_cpu = server_cpu_after - server_cpu
    return level


# -- the server ----------------------------------------------------------------------------


def cpu(pid: int) -> float | None:
    """CPU seconds (user + system) a process used so far; None where /proc is missing."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    data_dir: Path, port: int, database_url: str | None, log_path: Path
) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        RELAIS_DATA_DIR=str(data_dir),
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        RELAIS_PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    if database_url:
        env["RELAIS_DATABASE_URL"] = database_url
    else:
        env.pop("RELAIS_DATABASE_URL", None)  # SQLite in the data folder
    command = [
        sys.executable,
        "-m",
        "relais.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with log_path.open("wb") as log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_healthy(url: str, process: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return False


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- the report ----------------------------------------------------------------------------


def table(levels: list[Level]) -> list[str]:
    header = [
        "level",
        "concurrency",
        "calls completed",
        "webhooks",
        "errors",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "webhooks/s",
    ]
    rows = [header]
    for level in levels:
        values = sorted(level.latencies)
        rate = len(values) / level.elapsed if level.elapsed else 0.0
        rows.append(
            [
                level.name,
                str(level.concurrency),
                str(level.completed),
                str(len(values)),
                str(level.errors),
                *(f"{percentile(values, q) * 1000:.1f}" for q in (50, 95, 99)),
                f"{rate:.1f}",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * width for width in widths))
    return lines


def cpu_lines(levels: list[Level]) -> list[str]:
    """Where the cores went: the server and the load generator share them."""
    lines = []
    for level in levels:
        server = f"{level.server_cpu:.1f} s" if level.server_cpu is not None else "unknown"
        lines.append(
            f"CPU {level.name} x{level.concurrency}: server {server}, load generator "
            f"{level.bench_cpu:.1f} s, in {level.elapsed:.1f} s of wall time"
        )
    return lines


def server_warnings(log_path: Path, limit: int = 5) -> list[str]:
    """The server's warnings and errors: waitress's queue depth warnings summed up, others
    counted and the first few quoted (the data folder holding the log is removed at the
    end)."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    depths = [
        int(line.rsplit(" ", 1)[-1])
        for line in text.splitlines()
        if "Task queue depth is" in line and line.rsplit(" ", 1)[-1].isdigit()
    ]
    summary = []
    if depths:
        summary.append(
            f"waitress warned {len(depths)} time(s) that requests waited for one of its "
            f"threads (task queue depth up to {max(depths)})"
        )
    others = [
        line
        for line in text.splitlines()
        if "Task queue depth is" not in line
        and any(word in line for word in ("WARNING", "ERROR", "Traceback", "Exception"))
    ]
    if others:
        summary.append(f"{len(others)} other warning/error line(s), the first ones:")
        summary += ["  " + line for line in others[:limit]]
    return summary


def database_kind(url: str | None) -> str:
    if not url:
        return "SQLite"
    scheme = urlsplit(url).scheme.split("+")[0]
    return {"postgresql": "PostgreSQL", "postgres": "PostgreSQL", "sqlite": "SQLite"}.get(
        scheme, scheme or url
    )


def machine(database_url: str | None) -> str:
    return (
        f"Machine: {os.cpu_count()} cores, {platform.platform()}, Python "
        f"{platform.python_version()}, database {database_kind(database_url)} "
        "(server and load generator on the same cores)"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark Relais's webhooks over HTTP.")
    parser.add_argument(
        "--seconds",
        type=float,
        default=10.0,
        help="duration of each concurrency level (default: 10)",
    )
    parser.add_argument(
        "--concurrency",
        default="1,10,50",
        help="comma-separated numbers of simultaneous callers (default: 1,10,50)",
    )
    parser.add_argument(
        "--sms-concurrency",
        type=int,
        default=None,
        help="simultaneous texters (default: the highest --concurrency; 0: no SMS level)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="RELAIS_DATABASE_URL for the server (default: SQLite in the temporary data folder)",
    )
    args = parser.parse_args(argv)
    try:
        args.levels = [int(n) for n in args.concurrency.split(",") if n.strip()]
    except ValueError:
        parser.error(f"--concurrency: not a list of numbers: {args.concurrency!r}")
    if not args.levels or min(args.levels) < 1:
        parser.error("--concurrency: each level must be at least 1")
    if args.sms_concurrency is None:
        args.sms_concurrency = max(args.levels)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data_dir = Path(tempfile.mkdtemp(prefix="relais-bench-"))
    log_path = data_dir / "server.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_server(data_dir, port, args.database_url, log_path)
    try:
        if not wait_healthy(url, process, START_TIMEOUT):
            print(
                f"bench: the server did not answer {url}/healthz within "
                f"{START_TIMEOUT:.0f} s. Its output:",
                file=sys.stderr,
            )
            print(log_path.read_text(errors="replace")[-4000:], file=sys.stderr)
            return 1
        print(
            f"Relais serving at {url} ({database_kind(args.database_url)}); "
            f"{args.seconds:g} s per level",
            flush=True,
        )
        callers, texters = Numbers("+3361"), Numbers("+3362")
        levels = []
        for n in args.levels:
            level = run_level(Level("calls", n), url, args.seconds, one_call, callers, process.pid)
            print(
                f"  calls x{n}: {level.completed} calls, {len(level.latencies)} webhooks",
                flush=True,
            )
            levels.append(level)
        if args.sms_concurrency > 0:
            level = run_level(
                Level("sms", args.sms_concurrency),
                url,
                args.seconds,
                one_texter,
                texters,
                process.pid,
            )
            print(
                f"  sms x{args.sms_concurrency}: {level.completed} conversations, "
                f"{len(level.latencies)} webhooks",
                flush=True,
            )
            levels.append(level)
        print()
        for line in table(levels):
            print(line)
        print(machine(args.database_url))
        print(TARGETS)
        for line in cpu_lines(levels):
            print(line)
        notes = [
            f"{lv.name} x{lv.concurrency}: {lv.unfinished} session(s) did not end as "
            "the script leads to"
            for lv in levels
            if lv.unfinished
        ]
        for note in notes:
            print("Note: " + note)
        if process.poll() is not None:
            print(f"Note: the server exited during the run (status {process.returncode})")
        for line in server_warnings(log_path):
            print("Server log: " + line)
        return 0
    finally:
        stop_server(process)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
