"""Slow work done outside webhooks: sending an SMS through Twilio (with retries),
transcribing a voice message, rendering the spoken summary a mediator hears, the daily
purge.

A job is a row of the `jobs` table, added in the same transaction as what asked for it,
so a job is never lost by a restart and never exists for work that was rolled back. The
table is the truth; who runs a job depends on the settings only:

- embedded default (no RELAIS_REDIS_URL): a thread of the server process (`Runner`),
  woken when a transaction adds a job and polling the table for delayed ones;
- with RELAIS_REDIS_URL: `relais worker` processes (`work`). Redis only wakes them: the
  id of each committed job due now is pushed on a Redis list, which the workers wait on
  (BLPOP) and take up to TAKEN ids at a time from. When that list is empty (and at least
  every SWEEP seconds when it never is), a worker looks in the table for the due jobs that
  no id in the list stands for: delayed ones and retries (never pushed), those Redis lost
  (it may keep nothing on disk), and those another worker took and has not run yet (a
  worker held by a slow job does not hold the others' jobs for long).

Either way a job is claimed with one conditional UPDATE before it runs, so a job queued
twice still runs once; a job whose runner died is claimed again after LEASE. A failing
job is tried again after a backoff, MAX_ATTEMPTS times at most.

A job's work and its "done" mark commit together, unless its kind is registered with
`autocommit`: then each of its statements commits alone (no BEGIN and COMMIT round trips
around them), for a job whose every step is one statement that is safe to find done
twice, like the SMS job.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    delete,
    event,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .models import Job, now
from .settings import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF = (10, 60, 300, 1800)  # seconds before the 2nd, 3rd... try of a failing job
LEASE = timedelta(minutes=10)  # a job "running" this long lost its runner: run it again
POLL = 0.5  # seconds between two looks at the table for due jobs, when there is no other
SWEEP = 30  # seconds at most between two looks at the table of a busy `relais worker`
TAKEN = 10  # job ids a `relais worker` takes from Redis at once (one round trip)
KEEP_FINISHED = timedelta(days=7)  # finished jobs are kept this long, to look into

jobs = Job.__table__  # Core statements: a job's row is never loaded as an object


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
    def connection(self) -> Connection:
        """The runner's own connection, kept from job to job, whose every statement commits
        alone (one round trip each): the claims and the autocommit jobs run on it, without
        taking a connection from the pool (and switching its isolation level) for each job.
        A runner is one thread; after an error, the next statement connects again."""
        connection = self.sessions.kw["bind"].connect()
        return connection.execution_options(isolation_level="AUTOCOMMIT")

    def autocommit(self) -> Session:
        """A session on `connection`: each of its statements commits alone."""
        return Session(bind=self.connection, expire_on_commit=False)

    def close(self) -> None:
        if "connection" in self.__dict__:
            self.__dict__.pop("connection").close()

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
AUTOCOMMIT: set[str] = set()  # the kinds of job whose statements each commit alone


def job(kind: str, autocommit: bool = False) -> Callable[[Handler], Handler]:
    """Register the function that does one kind of job (see the module's docstring for
    `autocommit`)."""

    def register(handler: Handler) -> Handler:
        HANDLERS[kind] = handler
        if autocommit:
            AUTOCOMMIT.add(kind)
        return handler

    return register


def submit(
    session: Session, kind: str, args: dict, delay: float = 0, key: str | None = None
) -> int | None:
    """Add a job to the session's transaction: it runs once that commits. Its id; with a
    `key` already used by another job, nothing is added (None)."""
    row = {"kind": kind, "args": args, "key": key, "run_at": now() + timedelta(seconds=delay)}
    if key is None:  # nothing to collide with: no savepoint (two round trips fewer)
        job_id = session.connection().execute(_insert, row).scalar_one()
    else:
        try:
            with session.begin_nested():
                job_id = session.connection().execute(_insert, row).scalar_one()
        except IntegrityError:
            return None
    session.info.setdefault("relais_jobs", []).append((job_id, row["run_at"]))
    return job_id


# The statements of every job, built once (only their parameters change).
_insert = insert(jobs).returning(jobs.c.id)
_claim = (
    update(jobs)
    .where(
        jobs.c.id == bindparam("job_id"),
        or_(
            jobs.c.status == "pending",
            (jobs.c.status == "running") & (jobs.c.updated_at < bindparam("lost_before")),
        ),
    )
    .values(status="running", attempts=jobs.c.attempts + 1, updated_at=bindparam("now"))
    .returning(jobs.c.kind, jobs.c.args, jobs.c.attempts)
)
_done = (
    update(jobs)
    .where(jobs.c.id == bindparam("job_id"))
    .values(status="done", error=None, updated_at=bindparam("now"))
)


def run(context: JobContext, job_id: int) -> str | None:
    """Claim and run one job. Its status afterwards (None: another runner has it)."""
    # The claim commits alone, before the job's work (which may take long, and must not
    # hold SQLite's lock on writing meanwhile).
    started = now()
    with context.autocommit() as session:
        claimed = session.execute(
            _claim, {"job_id": job_id, "now": started, "lost_before": started - LEASE}
        ).one_or_none()
        if claimed is None:
            return None
        if claimed.kind in AUTOCOMMIT:
            return _work(context, session, job_id, *claimed)
    with context.sessions() as session:
        return _work(context, session, job_id, *claimed)


def _work(
    context: JobContext, session: Session, job_id: int, kind: str, args: dict, attempts: int
) -> str:
    """Run a claimed job: done, or what `failed` makes of it."""
    handler = HANDLERS.get(kind)
    try:
        if handler is None:
            raise LookupError(f"unknown job kind {kind!r}")
        handler(context, session, dict(args))
    except Exception as exc:
        session.rollback()
        outcome = failed(job_id, kind, attempts, exc, retried=handler is not None)
        session.execute(update(jobs).where(jobs.c.id == job_id).values(**outcome))
        session.commit()
        return outcome["status"]
    session.execute(_done, {"job_id": job_id, "now": now()})  # with the job's work
    session.commit()
    return "done"


def failed(job_id: int, kind: str, attempts: int, exc: Exception, retried: bool) -> dict:
    """What becomes of a job that raised `exc` (its row's new values): pending again after
    a backoff (or the delay its Retry asks for), or failed for good after MAX_ATTEMPTS."""
    if isinstance(exc, Retry):
        log.info("job %s %s: %s; will retry", job_id, kind, exc)
    else:
        log.exception("job %s %s failed", job_id, kind)
    error = f"{type(exc).__name__}: {exc}"[:1000]
    values: dict = {"status": "failed", "error": error, "updated_at": now()}
    if retried and attempts < MAX_ATTEMPTS:
        backoff = BACKOFF[min(attempts, len(BACKOFF)) - 1]
        delay = exc.delay if isinstance(exc, Retry) and exc.delay is not None else backoff
        values |= {"status": "pending", "run_at": now() + timedelta(seconds=delay)}
    return values


def forget_finished_jobs(session: Session, kept: timedelta = KEEP_FINISHED) -> int:
    """Delete the jobs done or failed for longer than `kept`. How many went."""
    gone = session.execute(
        delete(Job).where(Job.status.in_(("done", "failed")), Job.updated_at < now() - kept)
    )
    return gone.rowcount


def lease_expired() -> ColumnElement[bool]:
    """Running jobs whose runner has not finished them within the lease: lost."""
    return (jobs.c.status == "running") & (jobs.c.updated_at < now() - LEASE)


def is_due() -> ColumnElement[bool]:
    """Jobs to run now: pending and due, or running past their lease."""
    return or_((jobs.c.status == "pending") & (jobs.c.run_at <= now()), lease_expired())


def due(session: Session, limit: int = 100) -> list[int]:
    """The jobs to run now, the longest due first."""
    query = select(jobs.c.id).where(is_due()).order_by(jobs.c.run_at).limit(limit)
    return list(session.scalars(query))


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
        self.context.close()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=10)


class RedisQueue:
    """The scaled-out way: the ids of committed jobs due now, on a Redis list that wakes
    `relais worker` processes. Only a wake-up: the jobs' table stays the truth."""

    def __init__(self, settings: Settings):
        from redis import Redis

        # Above BLPOP's wait, so that a blocked worker is not taken for a dead connection.
        self.redis = Redis.from_url(settings.redis_url, socket_timeout=POLL + 10)
        self.key = f"relais:{settings.queue}:jobs"

    def notify(self, jobs: list[tuple[int, datetime]]) -> None:
        """Wake a worker for each job due now; delayed ones are found in the table."""
        due_now = [job_id for job_id, run_at in jobs if run_at <= now()]
        if not due_now:
            return
        try:
            self.redis.rpush(self.key, *due_now)
        except Exception:  # Redis away: a worker's look at the table finds the jobs later
            log.exception("jobs %s not queued", due_now)

    def waiting(self) -> set[int]:
        """The ids in the list: jobs a worker will be woken for."""
        return {int(job_id) for job_id in self.redis.lrange(self.key, 0, -1)}

    def take(self, wait: float) -> list[int]:
        """The next jobs' ids (TAKEN at most), waiting up to `wait` seconds for one when
        there is none (0: not at all). Ids taken and not run (the worker stopped or
        failed) are jobs still pending that the list no longer holds: a sweep finds them."""
        taken = self.redis.lpop(self.key, TAKEN)
        if not taken and wait > 0:
            popped = self.redis.blpop([self.key], timeout=wait)
            taken = [popped[1]] if popped else []
        return [int(job_id) for job_id in taken or ()]

    def unwoken(self, sessions: sessionmaker[Session]) -> list[int]:
        """The due jobs no worker will be woken for: delayed ones and retries now due,
        those Redis lost or never got, and those running past their lease (their runner
        died, whatever the list holds). Not those waiting in the list behind others: a
        busy queue would run each of them twice."""
        with sessions() as session:
            found = session.execute(
                select(jobs.c.id, jobs.c.status).where(is_due()).order_by(jobs.c.run_at).limit(100)
            ).all()
        if not found:
            return []
        waiting = self.waiting()
        return [job_id for job_id, status in found if status == "running" or job_id not in waiting]


def dispatch_on_commit(
    sessions: sessionmaker[Session], notify: Callable[[list[tuple[int, datetime]]], None]
) -> None:
    """Tell the runner (or the workers) about the jobs of every transaction that commits."""

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


def wire_jobs(settings: Settings, sessions: sessionmaker[Session]) -> Runner | None:
    """Wire a process's sessions to whoever runs jobs. In the embedded mode, that is the
    returned runner, which a serving process starts (and stops with .stop()). The job
    handlers are registered by the composition root (relais.app.load_job_handlers)."""
    if settings.redis_url:
        dispatch_on_commit(sessions, RedisQueue(settings).notify)
        return None
    runner = Runner(JobContext(settings, sessions))
    dispatch_on_commit(sessions, runner.notify)
    return runner


def work(settings: Settings, burst: bool = False) -> None:
    """`relais worker`: run the jobs whose ids come through Redis, and those due in the
    table that no id stands for. With `burst`, until none is left; otherwise until
    SIGTERM or SIGINT, which let the job running finish (a second one does not wait)."""
    from .db import make_engine, migrate, session_factory

    db = make_engine(settings.database_url)
    migrate(db)
    sessions = session_factory(db)
    queue = RedisQueue(settings)
    dispatch_on_commit(sessions, queue.notify)  # jobs that jobs submit
    context = JobContext(settings, sessions)
    stopping = threading.Event()
    if not burst and threading.current_thread() is threading.main_thread():

        def stop(_signum: int, _frame) -> None:
            stopping.set()  # after the job running; a second signal does not wait
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)

        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, stop)
    looked, idle = 0.0, True
    try:
        while not stopping.is_set():
            ran = 0
            try:
                if idle or time.monotonic() - looked >= SWEEP:
                    looked = time.monotonic()
                    for job_id in queue.unwoken(sessions):
                        run(context, job_id)
                        ran += 1
                taken = queue.take(0 if burst else POLL)
                idle = not taken
                for job_id in taken:
                    if stopping.is_set():
                        break  # the others are found by a sweep
                    run(context, job_id)
                    ran += 1
            except Exception:  # the database or Redis may be away for a moment
                if burst:
                    raise
                log.exception("running jobs failed")
                stopping.wait(POLL)
                idle = True
                continue
            if burst and not ran:
                return
    finally:
        context.close()
