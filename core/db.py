"""The database: engine, sessions and migrations. SQLite (WAL) by default, PostgreSQL
through the same models when RELAIS_DATABASE_URL says so."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import weakref
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT = 30  # seconds a writer waits for another to finish
# A database server that accepts connections and never answers must not hold webhooks:
CONNECT_TIMEOUT = 3  # seconds to open a connection (PostgreSQL)
STATEMENT_TIMEOUT_MS = 5000  # the server stops a statement after this long
POOL_TIMEOUT = 5  # seconds a request waits for a pooled connection
RESTING = 5.0  # after a connection that hung, seconds during which none is tried (fail fast)
SLOW_FAILURE = 1.0  # seconds: a connection that failed after this long had hung
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")


class _Writers:
    """Who writes to one SQLite database now: a lock for the threads of this process, and
    an flock on a file beside the database for the processes (gunicorn's workers)."""

    def __init__(self, database: str):
        self.lock = threading.Lock()
        self.file = open(f"{database}-writer", "a")  # noqa: SIM115 (kept for the process)

    def acquire(self) -> bool:
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT
        if not self.lock.acquire(timeout=SQLITE_BUSY_TIMEOUT):
            return False
        pause = 0.0001
        while True:
            try:
                fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    self.lock.release()
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 0.001)

    def release(self) -> None:
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.lock.release()


_writers: dict[str, _Writers] = {}  # by database file, in this process
_writers_lock = threading.Lock()


def _after_fork() -> None:
    """A child process opens lock files of its own: an flock taken through a file it
    shares with its parent (or its siblings) would not keep them apart."""
    global _writers_lock
    _writers.clear()
    _writers_lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


def _writers_of(database: str) -> _Writers:
    path = os.path.abspath(database)
    with _writers_lock:
        if path not in _writers:
            _writers[path] = _Writers(path)
        return _writers[path]


class _SerialWritesConnection(sqlite3.Connection):
    """A SQLite connection whose writers take turns before writing.

    SQLite lets one transaction write at a time; a writer that finds the database locked
    sleeps (1, 2, 5, 10, 15... ms) before it tries again, long after the lock was freed.
    With a server's threads and processes writing at once, webhooks spent most of their
    time in those sleeps. Here a transaction takes the database's `_Writers` at its first
    write (the moment SQLite takes its own lock) and gives it back when it commits, rolls
    back or closes: the next writer goes on at once, or within a millisecond from another
    process. A writer that waits longer than SQLite would goes on without it, and SQLite
    says the database is locked, as before."""

    def __init__(self, database: str, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        self._writers = _writers_of(database) if database != ":memory:" else None
        self._writing = False

    def cursor(self, factory: type[sqlite3.Cursor] | None = None) -> sqlite3.Cursor:
        return super().cursor(factory or _SerialWritesCursor)

    def before_statement(self, sql: str) -> None:
        if self._writers and not self._writing and sql.lstrip()[:6].upper() in _WRITES:
            self._writing = self._writers.acquire()

    def _written(self) -> None:
        if getattr(self, "_writing", False):  # (not set if __init__ failed)
            self._writing = False
            self._writers.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._written()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._written()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._written()

    def __del__(self) -> None:
        self._written()  # dropped in a transaction: SQLite rolls it back


class _SerialWritesCursor(sqlite3.Cursor):
    connection: _SerialWritesConnection

    def execute(self, sql: str, parameters=(), /) -> sqlite3.Cursor:
        self.connection.before_statement(sql)
        try:
            return super().execute(sql, parameters)
        finally:
            if self.connection.isolation_level is None:  # autocommit: the write is over
                self.connection._written()

    def executemany(self, sql: str, seq_of_parameters, /) -> sqlite3.Cursor:
        self.connection.before_statement(sql)
        return super().executemany(sql, seq_of_parameters)


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={
                "timeout": SQLITE_BUSY_TIMEOUT,
                "check_same_thread": False,
                "factory": _SerialWritesConnection,
            },
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten
            cursor.close()

        return engine
    # No ping before each use (a round trip per webhook): a connection found dead makes
    # SQLAlchemy drop the whole pool, and a webhook is handled again (core.signature).
    parsed = make_url(url)
    options = f"{parsed.query.get('options', '')} -c statement_timeout={STATEMENT_TIMEOUT_MS}"
    engine = create_engine(
        parsed.difference_update_query(["options"]),
        pool_size=10,
        max_overflow=20,
        pool_timeout=POOL_TIMEOUT,
        connect_args={"connect_timeout": CONNECT_TIMEOUT, "options": options.strip()},
    )
    health = Health()
    event.listen(engine, "do_connect", health.before_connect)
    event.listen(engine, "connect", health.connected)
    event.listen(engine, "handle_error", health.failed)
    _HEALTH[engine] = health
    return engine


class DatabaseResting(Exception):
    """No connection is tried: the last one failed a moment ago."""


class Health:
    """Whether the database answers, as the last connection attempts said, without asking
    it. A connection that took long to fail (a server that accepts and never answers)
    opens a short rest during which new connections fail at once: a webhook then answers
    503 in milliseconds, and Twilio asks the fallback URL. A refused connection fails
    fast by itself and opens no rest, so Relais is back as soon as the database is."""

    def __init__(self) -> None:
        self.failed_at: float | None = None
        self.reason = ""
        self._tries = threading.local()

    @property
    def resting(self) -> bool:
        return self.failed_at is not None and time.monotonic() - self.failed_at < RESTING

    @property
    def down(self) -> bool:
        return bool(self.reason)

    def before_connect(self, _dialect, _record, _args, _params) -> None:
        if self.resting:
            raise DatabaseResting(f"database unavailable: {self.reason}")
        self._tries.started = time.monotonic()

    def connected(self, _connection, _record) -> None:
        self.failed_at, self.reason = None, ""

    def failed(self, context) -> None:
        if context.connection is not None or isinstance(
            context.original_exception, DatabaseResting
        ):
            return  # a statement's error, or no connection tried
        self.reason = type(context.original_exception).__name__
        started = getattr(self._tries, "started", None)
        if started is not None and time.monotonic() - started >= SLOW_FAILURE:
            self.failed_at = time.monotonic()


_HEALTH: weakref.WeakKeyDictionary[Engine, Health] = weakref.WeakKeyDictionary()


def health(engine: Engine) -> Health | None:
    """The health kept for a PostgreSQL engine (None for SQLite: a file does not hang)."""
    return _HEALTH.get(engine)


def flush_deleted(engine: Engine) -> None:
    """After deleting personal data from SQLite: copy the write-ahead log into the
    database and empty it, so no old page of it keeps what was deleted (PostgreSQL's
    own files are the server's business: its vacuum reclaims them)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest migration (safe to run at every start)."""
    config = alembic_config(str(engine.url))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
