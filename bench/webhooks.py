"""Webhook latency and throughput of `relais serve`, over real HTTP.

Starts `python -m relais.cli serve --workers N` as a subprocess on a free local port (a
fresh data folder, TWILIO_AUTH_TOKEN=bench-token), waits for GET /healthz, makes one call
and one SMS conversation untimed (a fresh server opens its connections), then, for each
concurrency level N, runs N simulated callers in parallel threads for a fixed time. Each
caller makes calls in a loop, every call from a new number, with the keys 2, 2, 1, 2
(aides -> impôts -> "yes, I can open a link" -> "that's all"), so that each call reaches a
procedure, sends its SMS and ends: 5 call webhooks, then the status callback. Every webhook
request (signed form post, as Twilio sends it) is timed.

It prints two tables, for the same --concurrency levels:

- "Latency, paced calls": after each call webhook's answer, each caller waits
  --think-paced seconds (default 1) before its next webhook, as a caller listens to a
  prompt; that wait is not part of the latency. The callers start spread over that first
  wait, so that their webhooks do not all arrive together. Real callers listen for several
  seconds, so N paced callers here send more webhooks than N real calls would. At the end
  of the level, a call still under way is abandoned at its next wait (it is not counted in
  "calls"). --think-paced 0 skips this table.
- "Throughput, saturation": the callers wait --think seconds (default 0: none) between two
  webhooks, so each level sends as many webhooks as the server answers; a call under way
  at the end of the level finishes. A last row runs --sms-concurrency texters, each texting
  "caf" then "1" from a new number, with no wait.

The wait applies to call webhooks only (/voice, /voice/key, ...): not to the status
callback at the end of a call, which is sent right after the last answer's wait (the caller
has heard the goodbye), and not to texts.

The callers post over http.client, one keep-alive connection each (`LeanHttp`), rather
than through requests, which takes several times more CPU per request: the load generator
shares the cores with the server it measures. It is the same HTTP/1.1 form post, with the
same signature and headers, and the TwiML is followed by relais.simulator as before.

Run it from the repository root:

    python bench/webhooks.py [--seconds 10] [--concurrency 1,10,50] [--workers 1]
        [--think-paced 1.0] [--think 0.0] [--sms-concurrency N] [--database-url URL]

--workers is passed to `relais serve --workers` (1: waitress in one process; more:
gunicorn with that many worker processes). --database-url sets RELAIS_DATABASE_URL
(default: SQLite in the temporary data folder), e.g.
postgresql://postgres@127.0.0.1/bench_relais (the database must exist; the schema is
migrated at start and the rows the benchmark writes are left there). --sms-concurrency sets
the number of texters (default: the highest --concurrency level; 0 skips the SMS row).

The load generator runs on the same machine as the server, so both share its cores; the
CPU each used is printed, with the load average. Nothing is asserted: the exit status is 0
unless the server could not start.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import platform
import random
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import requests

from relais.simulator import TwilioSimulator, message_bodies

AUTH_TOKEN = "bench-token"
CALL_KEYS = ("2", "2", "1", "2")  # aides -> impôts -> can open a link -> that's all
SMS_TEXTS = ("caf", "1")
START_TIMEOUT = 60.0
TARGETS = "Targets: p99 < 50 ms at 50 concurrent calls; >= 300 webhooks/s"
NO_THINK_PATHS = ("/voice/status", "/sms")  # webhooks after which a caller does not wait

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
    think: float = 0.0  # seconds each caller waits after a call webhook's answer
    latencies: list[float] = field(default_factory=list)
    by_path: dict[str, list[float]] = field(default_factory=dict)  # the same, per URL path
    errors: int = 0
    error_kinds: Counter[str] = field(default_factory=Counter)  # "path: HTTP 503" -> count
    completed: int = 0
    unfinished: int = 0  # calls that ended, but not the way the script leads to
    abandoned: int = 0  # calls still under way at the end of a paced level, left there
    elapsed: float = 0.0
    server_cpu: float | None = None  # CPU seconds the server used during the level
    bench_cpu: float = 0.0  # CPU seconds this load generator used during the level
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, seconds: float, status: int, path: str = "") -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.by_path.setdefault(path, []).append(seconds)
            if not 200 <= status < 300:
                self.errors += 1
                self.error_kinds[f"{path}: HTTP {status}"] += 1

    def failure(self, path: str, exc: Exception) -> None:
        """A request that got no HTTP answer at all (connection error, timeout)."""
        with self.lock:
            self.errors += 1
            self.error_kinds[f"{path}: {type(exc).__name__}"] += 1

    def done(self, finished: bool) -> None:
        with self.lock:
            if finished:
                self.completed += 1
            else:
                self.unfinished += 1

    def abandon(self) -> None:
        with self.lock:
            self.abandoned += 1

    def ms(self, q: float) -> float:
        """The q-th percentile of the latencies, in milliseconds."""
        return percentile(sorted(self.latencies), q) * 1000

    @property
    def rate(self) -> float:
        """Webhooks answered a second."""
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


@dataclass
class LeanResponse:
    """What the simulator reads of an HTTP answer (as of a requests.Response)."""

    status_code: int
    text: str

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise requests.HTTPError(f"HTTP {self.status_code}")


class LeanHttp:
    """The post() the simulator needs of a requests.Session, on http.client: a keep-alive
    connection per server, opened again when the server closed it. A request that gets no
    answer raises requests.ConnectionError, as requests would."""

    def __init__(self) -> None:
        self.connections: dict[tuple[str, int], http.client.HTTPConnection] = {}

    def _connection(self, host: str, port: int, timeout: float) -> http.client.HTTPConnection:
        connection = self.connections.get((host, port))
        if connection is None:
            connection = http.client.HTTPConnection(host, port, timeout=timeout)
            self.connections[(host, port)] = connection
        elif connection.sock is not None and select.select([connection.sock], [], [], 0)[0]:
            # Idle, yet readable: the server closed it. The next request opens a new one.
            connection.close()
        return connection

    def post(
        self, url: str, data: dict[str, str], timeout: float, headers: dict[str, str]
    ) -> LeanResponse:
        parts = urlsplit(url)
        connection = self._connection(parts.hostname or "", parts.port or 80, timeout)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        form = {"Content-Type": "application/x-www-form-urlencoded", **headers}
        try:
            connection.request("POST", target, body=urlencode(data), headers=form)
            answer = connection.getresponse()
            body = answer.read()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise requests.ConnectionError(f"POST {parts.path}: {exc!r}") from exc
        charset = answer.headers.get_content_charset() or "utf-8"
        return LeanResponse(answer.status, body.decode(charset, errors="replace"))

    def close(self) -> None:
        for connection in self.connections.values():
            connection.close()


class Abandoned(Exception):
    """The level ended while a caller was waiting between two webhooks of a call."""


class TimedSimulator(TwilioSimulator):
    """The Twilio simulator, timing each webhook post into a Level. After a call webhook's
    answer (not the status callback, not a text), it waits `level.think` seconds, untimed,
    as a caller listening to the prompt; `stop` set during that wait abandons the call."""

    def __init__(self, server_url: str, level: Level, stop: threading.Event):
        super().__init__(server_url, AUTH_TOKEN, http=LeanHttp())
        self.level = level
        self.stop = stop

    def post(self, url: str, params: dict[str, str], signature: str | None = None) -> LeanResponse:
        start, path = time.perf_counter(), urlsplit(url).path
        try:
            response = super().post(url, params, signature)
        except requests.RequestException as exc:
            self.level.failure(path, exc)
            raise
        self.level.record(time.perf_counter() - start, response.status_code, path)
        think = self.level.think > 0 and not path.endswith(NO_THINK_PATHS)
        if think and self.stop.wait(self.level.think):
            raise Abandoned
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
    if call.status == "completed" and not call.answers and not hung_up:
        return True
    last = str(call.transcript[-1]) if call.transcript else "nothing said"
    with sim.level.lock:
        sim.level.error_kinds[f"call {call.status}, last: {last[:80]}"] += 1
    return False


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
    `seconds` have passed. With `level.think`, caller i starts i/N of a wait late (so that
    the callers' webhooks spread over the wait instead of arriving together), and a call
    under way at the deadline is abandoned at its next wait; without, it finishes."""
    stop = threading.Event()
    ready = threading.Barrier(level.concurrency + 1)

    def worker(index: int) -> None:
        sim = TimedSimulator(server_url, level, stop)
        try:
            ready.wait()
            if level.think > 0 and stop.wait(level.think * index / level.concurrency):
                return
            while not stop.is_set():
                try:
                    finished = session(sim, numbers.next())
                except requests.RequestException:
                    finished = False
                except Abandoned:
                    level.abandon()
                    break
                level.done(finished)
        finally:
            sim.close()

    threads = [
        threading.Thread(target=worker, args=(i,), daemon=True) for i in range(level.concurrency)
    ]
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


def _stat(pid: int) -> tuple[int, float] | None:
    """A process's parent id and CPU seconds (user + system) so far, from /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def cpu(pid: int) -> float | None:
    """CPU seconds a process and its live descendants (gunicorn's workers) used so far;
    None where /proc is missing. A worker that exited takes its CPU time with it."""
    own = _stat(pid)
    if own is None:
        return None
    children: dict[int, list[tuple[int, float]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                children.setdefault(stat[0], []).append((int(entry.name), stat[1]))
    total, todo = own[1], [pid]
    while todo:
        for child, seconds in children.get(todo.pop(), []):
            total += seconds
            todo.append(child)
    return total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    data_dir: Path,
    port: int,
    database_url: str | None,
    workers: int,
    log_path: Path,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """`relais serve` in a subprocess, its output in `log_path`; `extra_env` adds settings."""
    env = dict(os.environ)
    env.update(
        RELAIS_DATA_DIR=str(data_dir),
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        RELAIS_PUBLIC_URL=f"http://127.0.0.1:{port}",
        **(extra_env or {}),
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
        "--workers",
        str(workers),
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


# -- the report ---------------------------------------------------------------------------


def label(level: Level) -> str:
    return str(level.concurrency) if level.name == "calls" else f"{level.concurrency} {level.name}"


def aligned(rows: list[list[str]]) -> list[str]:
    """Right-aligned columns, the first row a header underlined with dashes."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.rjust(widths[i]) for i, cell in enumerate(row)))
        if n == 0:
            lines.append("  ".join("-" * width for width in widths))
    return lines


def table(levels: list[Level]) -> list[str]:
    header = ["concurrency", "calls", "webhooks", "errors", "p50", "p95", "p99 ms", "webhooks/s"]
    rows = [header]
    for level in levels:
        rows.append(
            [
                label(level),
                str(level.completed),
                str(len(level.latencies)),
                str(level.errors),
                *(f"{level.ms(q):.1f}" for q in (50, 95, 99)),
                f"{level.rate:.1f}",
            ]
        )
    return aligned(rows)


def cpu_lines(title: str, levels: list[Level]) -> list[str]:
    """Where the cores went: the server and the load generator share them."""
    lines = []
    for level in levels:
        server = f"{level.server_cpu:.1f} s" if level.server_cpu is not None else "unknown"
        lines.append(
            f"CPU {title} x{label(level)}: server {server}, load generator "
            f"{level.bench_cpu:.1f} s, in {level.elapsed:.1f} s of wall time"
        )
    return lines


def notes(title: str, levels: list[Level]) -> list[str]:
    lines = []
    for level in levels:
        for kind, count in sorted(level.error_kinds.items()):
            lines.append(f"{title} x{label(level)}: {count} error(s) {kind}")
        if level.unfinished:
            lines.append(
                f"{title} x{label(level)}: {level.unfinished} session(s) did not end as the "
                "script leads to"
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
    words = ("WARNING", "ERROR", "CRITICAL", "Traceback", "Exception")
    others = [
        line
        for line in text.splitlines()
        if "Task queue depth is" not in line and any(word in line for word in words)
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


def server_kind(workers: int) -> str:
    if workers <= 1:
        return "workers 1 (waitress, one process)"
    return f"workers {workers} (gunicorn, {workers} processes)"


def machine(database_url: str | None, workers: int) -> str:
    return (
        f"Machine: {os.cpu_count()} cores, {platform.platform()}, Python "
        f"{platform.python_version()}, database {database_kind(database_url)}, "
        f"{server_kind(workers)}; server and load generator on the same cores"
    )


def load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def seconds_text(value: float) -> str:
    return f"{value:g} s"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark Relais's webhooks over HTTP.")
    parser.add_argument(
        "--seconds",
        type=float,
        default=10.0,
        help="duration of each concurrency level, in both tables (default: 10)",
    )
    parser.add_argument(
        "--concurrency",
        default="1,10,50",
        help="comma-separated numbers of simultaneous callers, in both tables (default: 1,10,50)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="`relais serve --workers` (1: waitress, one process; more: gunicorn; default: 1)",
    )
    parser.add_argument(
        "--think-paced",
        type=float,
        default=1.0,
        help="seconds a caller waits after each call webhook's answer in the paced table "
        "(default: 1, faster than real callers; 0: no paced table)",
    )
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="seconds a caller waits after each call webhook's answer in the throughput "
        "table (default: 0, saturation)",
    )
    parser.add_argument(
        "--sms-concurrency",
        type=int,
        default=None,
        help="simultaneous texters (default: the highest --concurrency; 0: no SMS row)",
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
    if args.workers < 1:
        parser.error("--workers: at least 1")
    if args.think < 0 or args.think_paced < 0:
        parser.error("--think and --think-paced: 0 or more seconds")
    if args.sms_concurrency is None:
        args.sms_concurrency = max(args.levels)
    return args


def run_table(
    title: str,
    args: argparse.Namespace,
    think: float,
    url: str,
    callers: Numbers,
    texters: Numbers | None,
    server_pid: int,
) -> list[Level]:
    """The call levels of one table, each with `think`, then the SMS row if `texters`."""
    levels = []
    for n in args.levels:
        level = run_level(
            Level("calls", n, think), url, args.seconds, one_call, callers, server_pid
        )
        abandoned = f", {level.abandoned} left under way" if level.abandoned else ""
        print(
            f"  {title} x{n}: {level.completed} calls{abandoned}, {len(level.latencies)} webhooks",
            flush=True,
        )
        levels.append(level)
    if texters is not None and args.sms_concurrency > 0:
        level = run_level(
            Level("sms", args.sms_concurrency),
            url,
            args.seconds,
            one_texter,
            texters,
            server_pid,
        )
        print(
            f"  {title} sms x{args.sms_concurrency}: {level.completed} conversations, "
            f"{len(level.latencies)} webhooks",
            flush=True,
        )
        levels.append(level)
    return levels


@dataclass
class Result:
    """What one run measured: its tables (title, heading, levels) and how the machine and
    the server fared."""

    tables: list[tuple[str, str, list[Level]]]
    load_before: str
    load_after: str
    server_status: int | None  # the server's exit status, if it exited during the run
    server_log: list[str]  # server_warnings()


def measure(args: argparse.Namespace) -> Result | None:
    """Start the server, run the tables; None (the reason on stderr) if it did not start."""
    load_before = load_average()
    data_dir = Path(tempfile.mkdtemp(prefix="relais-bench-"))
    log_path = data_dir / "server.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_server(data_dir, port, args.database_url, args.workers, log_path)
    try:
        if not wait_healthy(url, process, START_TIMEOUT):
            print(
                f"bench: the server did not answer {url}/healthz within "
                f"{START_TIMEOUT:.0f} s. Its output:",
                file=sys.stderr,
            )
            print(log_path.read_text(errors="replace")[-4000:], file=sys.stderr)
            return None
        print(
            f"Relais serving at {url}: {database_kind(args.database_url)}, "
            f"{server_kind(args.workers)}; {args.seconds:g} s per level",
            flush=True,
        )
        callers, texters = Numbers("+3361"), Numbers("+3362")
        warm_up = TimedSimulator(url, Level("warm-up", 1), threading.Event())
        try:  # untimed: the first requests of a fresh server open its connections
            one_call(warm_up, callers.next())
            one_texter(warm_up, texters.next())
        except requests.RequestException:
            pass
        finally:
            warm_up.close()
        tables: list[tuple[str, str, list[Level]]] = []
        if args.think_paced > 0:
            paced = run_table("paced", args, args.think_paced, url, callers, None, process.pid)
            tables.append(
                (
                    "paced",
                    f"Latency, paced calls: each caller waits {seconds_text(args.think_paced)} "
                    "after each answer before its next webhook\n(faster than real callers, "
                    "who listen to a prompt for several seconds)",
                    paced,
                )
            )
        saturated = run_table("saturation", args, args.think, url, callers, texters, process.pid)
        waits = (
            f"each caller waits {seconds_text(args.think)} after each answer"
            if args.think > 0
            else "no wait, each caller sends its next webhook as soon as it has the answer"
        )
        tables.append(("saturation", f"Throughput, saturation: {waits}", saturated))
        return Result(
            tables, load_before, load_average(), process.poll(), server_warnings(log_path)
        )
    finally:
        stop_server(process)
        shutil.rmtree(data_dir, ignore_errors=True)


def report(args: argparse.Namespace, result: Result) -> None:
    """Print the tables and what else the run saw."""
    for _, heading, levels in result.tables:
        print()
        print(heading)
        for line in table(levels):
            print(line)
    print()
    print(machine(args.database_url, args.workers))
    print(TARGETS)
    print(
        f"Load average (1, 5, 15 min): {result.load_before} before, {result.load_after} "
        "after the run"
    )
    for title, _, levels in result.tables:
        for line in cpu_lines(title, levels):
            print(line)
    if any(level.name == "sms" for _, _, levels in result.tables for level in levels):
        print("The SMS row: calls = conversations (two texts each, no wait).")
    for title, _, levels in result.tables:
        for note in notes(title, levels):
            print("Note: " + note)
    if result.server_status is not None:
        print(f"Note: the server exited during the run (status {result.server_status})")
    for line in result.server_log:
        print("Server log: " + line)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = measure(args)
    if result is None:
        return 1
    report(args, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
