"""Relais as an operator runs it, in subprocesses: `relais serve` (waitress or gunicorn
workers) and `relais worker`, for the tests that kill processes and for the benchmarks;
and waiting for what runs in the background."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import requests

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 30.0) -> T:
    """The first true value of `check()` within `timeout` seconds (jobs run in the
    background); fails (AssertionError) with the last value otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            assert value, f"still {value!r} after {timeout} s"
            return value
        time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a process and its live descendants used so far, read
    from their CPU clocks (clock_getcpuclockid: nanoseconds, all threads, where
    /proc/<pid>/stat counts in ticks of 10 ms)."""
    total, todo = 0.0, [pid]
    while todo:
        one = todo.pop()
        with contextlib.suppress(OSError):  # gone meanwhile
            total += time.clock_gettime(_cpu_clock(one))
            todo += child_pids(one)
    return total


def _cpu_clock(pid: int) -> int:
    """Linux's id of a process's CPU clock (MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED),
    what glibc's clock_getcpuclockid returns; Python has no binding of its own)."""
    return ((~pid) << 3) | 2


def child_pids(pid: int) -> list[int]:
    """The ids of a process's live children (gunicorn's workers)."""
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):  # a thread that just ended
            found += [int(child) for child in children.read_text().split()]
    return found


class Process:
    """A `relais` command in a subprocess, with the environment of the test."""

    def __init__(self, args: list[str], env: dict[str, str]):
        # A process group of its own: its children (gunicorn's workers)
        # go with it and are never left behind.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "relais.cli", *args],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def _signal_all(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def kill(self) -> None:
        """SIGKILL, as when the machine or container dies: the process and its children."""
        self._signal_all(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        self._signal_all(signal.SIGKILL)  # what it left behind, if anything
        self.process.wait(timeout=10)


class ServeProcess(Process):
    """`relais serve`, waited for until it answers /healthz."""

    def __init__(self, data_dir: Path, port: int, token: str, workers: int = 1, **env: str):
        self.url = f"http://127.0.0.1:{port}"
        super().__init__(
            ["serve", "--port", str(port), "--workers", str(workers)],
            {
                "RELAIS_DATA_DIR": str(data_dir),
                "TWILIO_AUTH_TOKEN": token,
                "RELAIS_PUBLIC_URL": self.url,
                "RELAIS_RENDER_PROMPTS": "0",
                **env,
            },
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or still starting
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"relais serve did not start: {self.process.stdout.read()}")

    def workers(self) -> list[int]:
        """The process ids of the server's worker processes (gunicorn's children)."""
        return child_pids(self.process.pid)
