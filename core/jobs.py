"""Slow work done outside webhooks: sending an SMS through Twilio (with retries),
transcribing a voice message, rendering the spoken summary a mediator hears, the daily
purge.

A job is a row of the `jobs` table, added in the same transaction as what asked for it,
so a job is never lost by a restart and never exists for work that was rolled back. Who
runs it depends on the settings only:

- embedded default (no RELAIS_REDIS_URL): a thread of the server process (`Runner`),
  woken when a transaction adds a job and polling the table for delayed ones;
- with RELAIS_REDIS_URL: each committed job is put on an RQ queue (delayed ones with RQ's
  scheduler) and `relais worker` processes run them; a worker also sweeps the table for
  jobs Redis lost (Redis may keep nothing on disk).

Either way a job is claimed with one conditional UPDATE before it runs, so a job queued
twice still runs once; a job whose runner died is claimed again after LEASE.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from sqlalchemy import ColumnElement, delete, event, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .models import Job, now
from .settings import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF = (10, 60, 300, 1800)  # seconds before the 2nd, 3rd... try of a failing job
LEASE = timedelta(minutes=10)  # a job "running" this long lost its runner: run it again
POLL = 0.5  # seconds between two looks at the table for due jobs (embedded runner)
SWEEP = 30  # seconds between two sweeps for lost jobs (RQ workers)
KEEP_FINISHED = timedelta(days=7)  # finished jobs are kept this long, to look into


class Retry(Exception):
    """Raised by a job to be tried again later (after `delay` seconds, or the backoff)."""

    def __init__(self, reason: str, delay: float | None = None):
        super().__init__(reason)
        self.delay = delay


@dataclass
class JobContext:
    """What jobs need: settings and database sessions, the content and speech loaded
    once per process when a job first asks for them."""

    settings: Settings
    sessions: sessionmaker[Session]

    @cached_property
    def engine(self):  # dialogues.engine.Engine
        from dialogues.engine import Engine
        from dialogues.loader import load_content

        return Engine(load_content(self.settings.content_dir))

    @cached_property
    def speech(self):  # speech.service.Speech
        from speech.recognition import Recognisers
        from speech.service import Speech

        return Speech(
            self.engine.content,
            self.settings.data_dir,
            self.settings.content_dir,
            Recognisers(self.settings.vosk_model),
            self.settings.voice_rate,
        )


Handler = Callable[[JobContext, Session, dict], None]
HANDLERS: dict[str, Handler] = {}


def job(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that does one kind of job."""

    def register(handler: Handler) -> Handler:
        HANDLERS[kind] = handler
        return handler

    return register


def submit(
    session: Session, kind: str, args: dict, delay: float = 0, key: str | None = None
) -> Job | None:
    """Add a job to the session's transaction: it runs once that commits. With a `key`
    already used by another job, nothing is added (None)."""
    row = Job(kind=kind, args=args, key=key, run_at=now() + timedelta(seconds=delay))
    if key is None:  # nothing to collide with: no savepoint (two round trips fewer)
        session.add(row)
        session.flush()
    else:
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            return None
    session.info.setdefault("relais_jobs", []).append((row.id, row.run_at))
    return row


def _claim(session: Session, job_id: int) -> Job | None:
    """Take the job for this runner, if no other runner has it."""
    taken = session.scalars(
        update(Job)
        .where(Job.id == job_id, or_(Job.status == "pending", lease_expired()))
        .values(status="running", attempts=Job.attempts + 1, updated_at=now())
        .returning(Job)
    ).one_or_none()
    session.commit()
    return taken


def run(context: JobContext, job_id: int) -> str | None:
    """Claim and run one job. Its status afterwards (None: another runner has it)."""
    with context.sessions() as session:
        row = _claim(session, job_id)
        if row is None:
            return None
        handler = HANDLERS.get(row.kind)
        try:
            if handler is None:
                raise LookupError(f"unknown job kind {row.kind!r}")
            handler(context, session, dict(row.args))
            row.status, row.error = "done", None  # in the transaction of the job's work
        except Exception as exc:
            session.rollback()
            row = session.get(Job, job_id)
            delay = exc.delay if isinstance(exc, Retry) else None
            if isinstance(exc, Retry):
                log.info("job %s %s: %s; will retry", row.id, row.kind, exc)
            else:
                log.exception("job %s %s failed", row.id, row.kind)
            row.error = f"{type(exc).__name__}: {exc}"[:1000]
            if row.attempts >= MAX_ATTEMPTS or handler is None:
                row.status = "failed"
            else:
                backoff = BACKOFF[min(row.attempts, len(BACKOFF)) - 1]
                row.status = "pending"
                row.run_at = now() + timedelta(seconds=delay if delay is not None else backoff)
        row.updated_at = now()
        session.commit()
        return row.status


def forget_finished_jobs(session: Session, kept: timedelta = KEEP_FINISHED) -> int:
    """Delete the jobs done or failed for longer than `kept`. How many went."""
    gone = session.execute(
        delete(Job).where(Job.status.in_(("done", "failed")), Job.updated_at < now() - kept)
    )
    return gone.rowcount


def lease_expired() -> ColumnElement[bool]:
    """Running jobs whose runner has not finished them within the lease: lost."""
    return (Job.status == "running") & (Job.updated_at < now() - LEASE)


def due(session: Session, limit: int = 100) -> list[int]:
    """Jobs to run now: pending and due, or running past their lease."""
    return list(
        session.scalars(
            select(Job.id)
            .where(or_((Job.status == "pending") & (Job.run_at <= now()), lease_expired()))
            .order_by(Job.run_at)
            .limit(limit)
        )
    )


class Runner:
    """The embedded way: a thread that runs due jobs, woken by new ones."""

    def __init__(self, context: JobContext):
        self.context = context
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="relais-jobs")

    def start(self) -> Runner:
        self._thread.start()
        return self

    def notify(self, _jobs: list[tuple[int, datetime]]) -> None:
        self._wake.set()

    def run_due(self) -> int:
        """Run every job due now. How many ran."""
        with self.context.sessions() as session:
            ids = due(session)
        for job_id in ids:
            run(self.context, job_id)
        return len(ids)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_due()
            except Exception:  # the database may be away for a moment
                log.exception("running jobs failed")
            self._wake.wait(POLL)
            self._wake.clear()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=10)


def rq_job_id(job_id: int) -> str:
    return f"relais-job-{job_id}"


class RqQueue:
    """The scaled-out way: committed jobs go to RQ; `relais worker` runs them."""

    def __init__(self, settings: Settings):
        from redis import Redis
        from rq import Queue

        self.queue = Queue(settings.queue, connection=Redis.from_url(settings.redis_url))

    def notify(self, jobs: list[tuple[int, datetime]]) -> None:
        for job_id, run_at in jobs:
            # One RQ job per row, named after it; RQ keeps no result (the row has it).
            options = {"job_id": rq_job_id(job_id), "result_ttl": 0}
            try:
                if run_at > now():
                    self.queue.enqueue_at(run_at, run_job, job_id, **options)
                else:
                    self.queue.enqueue(run_job, job_id, **options)
            except Exception:  # Redis away: the workers' sweep finds the job later
                log.exception("job %s not queued", job_id)

    def sweep(self, sessions: sessionmaker[Session]) -> int:
        """Queue again the due jobs that Redis lost (or never got), not those still
        waiting in the queue behind others (a busy queue would run each of them twice).
        A job running past its lease is lost, whatever RQ holds."""
        with sessions() as session:
            ids = due(session)
            running = set(session.scalars(select(Job.id).where(Job.id.in_(ids), lease_expired())))
        waiting = set(self.queue.get_job_ids()) | set(
            self.queue.scheduled_job_registry.get_job_ids()
        )
        lost = [i for i in ids if i in running or rq_job_id(i) not in waiting]
        self.notify([(job_id, now()) for job_id in lost])
        return len(lost)


def dispatch_on_commit(
    sessions: sessionmaker[Session], notify: Callable[[list[tuple[int, datetime]]], None]
) -> None:
    """Tell the runner (or RQ) about the jobs of every transaction that commits."""

    @event.listens_for(sessions, "after_commit")
    def _committed(session: Session) -> None:
        jobs = session.info.pop("relais_jobs", None)
        if jobs:
            notify(jobs)

    @event.listens_for(sessions, "after_soft_rollback")
    def _rolled_back(session: Session, _previous) -> None:
        if not session.in_transaction():
            session.info.pop("relais_jobs", None)


# -- processes --------------------------------------------------------------------------

_worker_context: JobContext | None = None


def run_job(job_id: int) -> str | None:
    """The function RQ calls, in a `relais worker` process."""
    assert _worker_context is not None, "run_job runs in `relais worker`"
    return run(_worker_context, job_id)


def wire_jobs(settings: Settings, sessions: sessionmaker[Session]) -> Runner | None:
    """Wire a process's sessions to whoever runs jobs. In the embedded mode, that is the
    returned runner, which a serving process starts (and stops with .stop()). The job
    handlers are registered by the composition root (relais.app.load_job_handlers)."""
    if settings.redis_url:
        dispatch_on_commit(sessions, RqQueue(settings).notify)
        return None
    runner = Runner(JobContext(settings, sessions))
    dispatch_on_commit(sessions, runner.notify)
    return runner


def work(settings: Settings, burst: bool = False) -> None:
    """`relais worker`: run the RQ queue's jobs, and sweep the table for lost ones."""
    global _worker_context
    from redis import Redis
    from rq import SimpleWorker

    from .db import make_engine, migrate, session_factory

    db = make_engine(settings.database_url)
    migrate(db)
    sessions = session_factory(db)
    queue = RqQueue(settings)
    dispatch_on_commit(sessions, queue.notify)  # jobs that jobs submit
    _worker_context = JobContext(settings, sessions)

    def sweep_forever() -> None:
        while True:
            try:
                queue.sweep(sessions)
            except Exception:
                log.exception("sweeping for lost jobs failed")
            threading.Event().wait(SWEEP)

    queue.sweep(sessions)
    if not burst:
        threading.Thread(target=sweep_forever, daemon=True, name="relais-sweep").start()
    worker = SimpleWorker([queue.queue], connection=Redis.from_url(settings.redis_url))
    worker.work(burst=burst, with_scheduler=True, logging_level="WARNING")
