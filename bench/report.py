"""Run the benchmarks and write bench/README.md: CPU per webhook and per SMS job beside the
floor (bench/cpu.py), then understanding (bench/matching.py).

    python bench/report.py [--quick]

Needs Redis, and PostgreSQL for the PostgreSQL stack, as the tests do:
RELAIS_TEST_REDIS_URL (default redis://127.0.0.1:6379/0) and RELAIS_TEST_POSTGRES_URL
(without it, only the SQLite stack runs).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cpu
from bench.cpu import JOB_TARGET_MS, RATIO_TARGET, StackResult

README = Path(__file__).resolve().parent / "README.md"


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    python = platform.python_version()
    return f"{os.cpu_count()} cores ({model}), Linux {platform.release()}, Python {python}"


def load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def targets(results: list[StackResult]) -> str:
    ratios = [r.ratio(path) for r in results for path in ("/voice", "/sms")]
    worker = [median(r.job_ms(cpu.WORKER)) for r in results]
    return (
        f"Targets (issue 15): Relais's CPU per webhook at most {RATIO_TARGET:g}x the floor's: "
        f"{min(ratios):.2f}x to {max(ratios):.2f}x, {verdict(max(ratios) <= RATIO_TARGET)}; "
        f"`relais worker`'s CPU per SMS job at most {JOB_TARGET_MS:g} ms: "
        f"{', '.join(f'{ms:.1f}' for ms in worker)} ms, "
        f"{verdict(max(worker) <= JOB_TARGET_MS)}."
    )


def split(result: StackResult) -> str:
    """Where a worker's SMS job goes, from the measured rows (not the profiles)."""
    worker, embedded, twilio = (
        median(result.job_ms(runner)) for runner in (cpu.WORKER, cpu.EMBEDDED, cpu.REQUEST)
    )
    return (
        f"{result.name}: {worker:.1f} ms per job in `relais worker` (woken through Redis), "
        f"{embedded:.1f} ms in the embedded runner (which looks in the table); of the "
        f"runner's, the Twilio library's request {twilio:.1f} ms, and Relais's job in the "
        f'database (four statements, each committed alone: the claim, "sending", the sid, '
        f"done) the remaining {embedded - twilio:.1f} ms."
    )


def bullet(text: str) -> str:
    return textwrap.fill(text, 90, initial_indent="- ", subsequent_indent="  ")


def page(
    results: list[StackResult], understanding: str, before: str, minutes: float, command: str
) -> str:
    stacks = [f"{r.name}" for r in results]
    return f"""# Benchmarks

Written by `{command}`, in {minutes:.0f} minutes (`--quick` for a short try).

- Machine: {machine()}.
- {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average (1, 5, 15 min) {before} before,
  {load()} after: other engineers' tests shared the cores.

CPU times and their ratios stay meaningful on a busy machine; wall times do not, so none
is given. On this shared machine the CPU of the same work moves by up to a third from one
second to the next, so Relais and the floor serve at the same moments (their sessions
mixed evenly in one order), and each figure is measured in {cpu.ROUNDS} rounds: a ratio or
a job's CPU is the median of its rounds, with their range in brackets. Nothing here is
asserted by the tests.

## CPU per webhook, beside the floor (`python -m bench.cpu`)

Relais as an operator runs it (`relais serve`, voice prompts rendered beforehand, Redis
for jobs, links sent by `relais worker` through the tests' stand-in of Twilio's API), and
the floor (`bench/floor.py`: a Flask app with the `twilio` library and SQLAlchemy that
checks the signature, reads one row, writes one row and answers TwiML) served by the same
server on the same kind of database. Stacks: {"; ".join(stacks)}. The server's CPU is the
kernel's accounting (the CPU clocks of the process and its children, user + system, in
nanoseconds) before and after the webhooks, divided by them; the simulated callers run in
the bench's process, 4 at a time. A Relais call is whole: 2, 2, 1, 2 (a procedure, its
link by SMS, goodbye) and the status callback; an SMS conversation is "caf" then "1".

{cpu.webhooks_table(results)}

{cpu.ratio_table(results)}

## CPU per SMS job

Each job sends the link of one call through the Twilio library to the stand-in. `relais
worker` is stopped (SIGSTOP) while the calls queue their links, then let go: its
processes' CPU from then until every link is sent. The embedded runner (a thread of the
server when there is no Redis) runs the same jobs in the bench's process, on that thread's
CPU clock, as does the Twilio library's request alone.

{cpu.jobs_table(results)}

{textwrap.fill(targets(results), 90)}

{chr(10).join(bullet(split(r)) for r in results)}

Profiles (cProfile on the thread's CPU clock; share of the own time by package, C built-ins
counted to the package that called them): the jobs as `relais worker --burst` and the
embedded runner run them,
and the webhooks served in the bench's process through Flask's test client (no HTTP server:
waitress's share is only in the tables above). The profiler slows Python code more than C
code, so the shares are indicative.

{chr(10).join(f"{r.name}:{chr(10)}{chr(10)}{cpu.profile_table(r)}{chr(10)}" for r in results)}
An SMS job is five prepared Core statements, each committed alone (an autocommit job: no
BEGIN or COMMIT round trip; the claim; the message marked "sending"; its sid; the early
status callbacks taken; the job done), a Redis BLPOP, and the Twilio library's request on
urllib3 (core/twilio_http.py). What is left is mostly SQLAlchemy's and psycopg's work per
statement and the Twilio library's own.
For the webhooks, the floor's own cost is Flask, werkzeug, the `twilio` library and one
SQLAlchemy transaction; Relais's extra is its SQLAlchemy work (several rows a turn: the
conversation, its turn, the person) and, for SMS, its understanding and the GSM-7 checks.

## Understanding (`python -m bench.matching`)

{understanding}
"""


def main() -> None:
    quick = "--quick" in sys.argv[1:]
    before, started = load(), time.monotonic()
    args = cpu.parser().parse_args([])
    if quick:
        args.calls, args.texts, args.floor, args.jobs, args.profiled = 10, 20, 60, 20, 4
    command = "python bench/report.py" + " --quick" * quick
    if not os.environ.get("RELAIS_TEST_POSTGRES_URL"):
        args.stacks = [s for s in args.stacks if s[0] == "sqlite"]
    results = cpu.measure(args)
    cpu.progress("understanding")
    # In a process of its own: this one's word caches, warm from the webhooks, would make
    # the content's load look faster than a server's start.
    seconds = "1" if quick else "3"
    understanding = subprocess.run(
        [sys.executable, "-m", "bench.matching", "--seconds", seconds],
        cwd=README.parent.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    minutes = (time.monotonic() - started) / 60
    README.write_text(page(results, understanding, before, minutes, command), encoding="utf-8")
    print(f"bench: wrote {README}")


if __name__ == "__main__":
    main()
