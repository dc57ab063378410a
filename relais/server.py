"""Running Relais with a production WSGI server, waitress, in the foreground (one process,
or several under gunicorn) or in a background thread (for `relais call` and `relais sms`
without --url).

waitress reads each request whole in its event loop before a thread runs Relais, so a
client that sends half a request and waits holds a socket, never a thread; it is closed
after `RELAIS_CLIENT_TIMEOUT` seconds of silence. gunicorn's own workers (sync or gthread)
give a connection a thread as soon as it sends a byte: with several processes, gunicorn
starts and watches them, and each serves with waitress."""

from __future__ import annotations

import gc
import logging
import resource
import socket
import threading
import time

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.workers.base import Worker
from waitress.server import create_server

from core.content_dirs import operator_messages
from core.db import make_engine, migrate
from core.jobs import Runner
from core.settings import Settings
from dialogues.messages import OPERATOR
from ivr.stream import StreamServer, stream_problem
from mediation.privacy import schedule_purge
from speech.recognition import Recognisers
from speech.voice import tts_available

from .app import create_app, voice_prompts

log = logging.getLogger(__name__)

THREADS = 8
MAX_BODY = 64 * 1024  # Twilio's webhooks are small; waitress refuses larger bodies itself
SPARE_FILES = 200  # file descriptors kept for the database, recordings and logs


def local_url(host: str, port: int) -> str:
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"


def describe(settings: Settings) -> list[str]:
    """What is configured, what is missing, and what that means for callers (for whoever
    runs Relais: operator.yaml's `start`)."""
    say = operator_messages(OPERATOR)
    lines = [
        say("start.address", url=settings.public_url),
        say("start.data", folder=settings.data_dir),
        say("start.database", database=settings.database_url.split("@")[-1]),
        say("start.content", folder=settings.content_dir),
        say("start.sms", transport=settings.sms_transport),
    ]
    if settings.redis_url:
        lines.append(say("start.jobs_redis", redis=settings.redis_url.split("@")[-1]))
    else:
        lines.append(say("start.jobs_here"))
    if settings.missed_call:
        lines.append(say("start.missed_call", count=settings.ring_backs_per_day))
    lines += [say("start.problem", problem=problem) for problem in settings.problems]
    if settings.voice_mode == "stream":
        lines.append(say("start.stream", port=settings.stream_port))
    if not tts_available():
        lines.append(say("start.no_tts"))
    elif settings.render_prompts:
        lines.append(say("start.tts", rate=settings.voice_rate))
    else:
        lines.append(say("start.no_render"))
    model = settings.vosk_model(settings.language)
    if Recognisers(settings.vosk_model).available(settings.language):
        lines.append(say("start.speech", model=model))
    else:
        lines.append(say("start.no_speech", model=model, language=settings.language))
    return lines


def open_files_limit() -> int:
    """Raise this process's limit of open files to the most allowed, and return it: each
    connection waitress keeps open is one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        wanted = 65536 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):  # a container may refuse it: keep what we have
            pass
    return soft


def server_options(settings: Settings) -> dict:
    """waitress's settings for Twilio's webhooks behind the internet."""
    return {
        "threads": THREADS,
        # Open connections kept; past this waitress stops accepting until some close.
        "connection_limit": max(100, open_files_limit() - SPARE_FILES),
        "asyncore_use_poll": True,  # select() cannot watch more than 1,024 sockets
        "channel_timeout": settings.client_timeout,  # idle or half-sent: closed after this
        "cleanup_interval": max(1, min(5, settings.client_timeout)),
        "max_request_body_size": MAX_BODY,
        "ident": "relais",
    }


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    """Serve in the foreground: waitress in one process, or gunicorn's worker processes
    past one core, each running waitress (`WaitressWorker`)."""
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # one line per queued request
    problem = stream_problem(settings)
    if problem:
        raise StreamModeError(problem)
    if workers <= 1:
        app = create_app(settings)  # migrates the database first
        train(app)
        start_jobs(app)
        start_streams(app, host)
        freeze_heap()
        create_server(app, host=host, port=port, **server_options(settings)).run()
        return
    engine = make_engine(settings.database_url)
    migrate(engine)  # once, before the workers start
    engine.dispose()
    cache, texts = voice_prompts(settings)
    if settings.render_prompts and cache is not None:
        # Once, before the workers start (a thread here would be forked with them).
        try:
            cache.render(texts)
        except (OSError, RuntimeError) as exc:  # calls still work, with <Say>
            log.warning("voice prompts not rendered: %s", exc)
    in_workers = settings.replace(render_prompts=False)

    class Gunicorn(BaseApplication):
        relais_settings = in_workers

        def load_config(self) -> None:
            for key, value in {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": WaitressWorker,
                "accesslog": None,
                "control_socket_disable": True,  # one per user: two Relais would share it
            }.items():
                self.cfg.set(key, value)

        def load(self):
            app = create_app(in_workers)  # in each worker process
            train(app)
            start_jobs(app)
            freeze_heap()
            return app

    Gunicorn().run()


class WaitressWorker(Worker):
    """A gunicorn worker process serving with waitress on gunicorn's sockets: gunicorn
    starts, watches and restarts the processes; waitress reads each request whole before
    a thread takes it."""

    def run(self) -> None:
        server = create_server(
            self.wsgi,
            sockets=[listener.sock for listener in self.sockets],
            **server_options(self.app.relais_settings),
        )
        threading.Thread(target=self._heartbeat, daemon=True).start()
        start_streams(self.wsgi, self.cfg.bind[0].rpartition(":")[0] or "0.0.0.0")
        try:
            server.run()
        except SystemExit:
            server.task_dispatcher.shutdown()  # let the requests under way finish

    def _heartbeat(self) -> None:
        """Tell gunicorn's arbiter this worker lives (it kills silent workers)."""
        while self.alive:
            self.notify()
            time.sleep(1)

    def handle_exit(self, sig, frame) -> None:
        """SIGTERM: stop waitress's loop (gunicorn's own only sets a flag)."""
        self.alive = False
        raise SystemExit(0)


def train(app: Flask) -> None:
    """Train each language's models before the first text, not on it: otherwise the first
    text a process understands waits a few seconds for them (bench/matching.py: the
    content's load with training)."""
    for language in app.config["RELAIS_LANGUAGES"].values():
        language.engine.train()


def freeze_heap() -> None:
    """Leave what a process loaded at start (the app, each language's content and models:
    some 200,000 objects, none of them ever garbage) out of the garbage collector's full
    collections (gc.freeze): each full collection walked them all, 150 to 250 ms of CPU
    at once, the CPU of a hundred webhooks."""
    gc.collect()
    gc.freeze()


def start_jobs(app: Flask) -> Runner | None:
    """Start the embedded job runner if this app has one (no Redis), and make sure the
    daily purge is scheduled."""
    runner = app.config["RELAIS_JOBS"]
    if runner is not None:
        runner.start()
    with app.config["RELAIS_SESSIONS"]() as session:
        schedule_purge(session)
        session.commit()
    return runner


class StreamModeError(SystemExit):
    """Stream mode was asked for and cannot run (no speech model, no speech synthesis):
    `relais serve` stops with the reason, and no traceback."""


def start_streams(app: Flask, host: str, port: int | None = None) -> StreamServer | None:
    """In stream mode, the websocket server of Media Streams, in a thread beside waitress
    (on RELAIS_STREAM_PORT, shared by gunicorn's workers). None for an app that is not
    Relais (the benchmarks' floor, served by the same workers)."""
    settings = app.config.get("RELAIS")
    if settings is None or settings.voice_mode != "stream":
        return None
    return StreamServer(app, host, settings.stream_port if port is None else port)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BackgroundServer:
    """Relais served by waitress on a free local port, in a daemon thread. Its public URL
    is that local address unless `keep_public_url` (a test of a reverse proxy setup)."""

    def __init__(self, settings: Settings, keep_public_url: bool = False):
        # The socket is bound here and handed to waitress: a port found free and bound
        # later could be taken in between by another process (tests run in parallel).
        listening = socket.socket()
        listening.bind(("127.0.0.1", 0))
        port = listening.getsockname()[1]
        self.url = local_url("127.0.0.1", port)
        self.settings = settings if keep_public_url else settings.replace(public_url=self.url)
        problem = stream_problem(self.settings)
        if problem:
            raise StreamModeError(problem)
        self.app = create_app(self.settings)
        self.jobs = start_jobs(self.app)
        self.streams = start_streams(self.app, "127.0.0.1", 0)  # stream mode: a free port
        self.server = create_server(
            self.app,
            sockets=[listening],
            **server_options(self.settings),
            asyncore_loop_timeout=0.05,  # close() waits for the loop to notice, once
        )
        self._closing = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.server.run()
        except (OSError, ValueError):
            if not self._closing:  # waitress's loop fails on sockets closed under it
                raise

    def close(self) -> None:
        self._closing = True
        if self.jobs is not None:  # no new job starts; the one running finishes
            self.jobs.stop()
        if self.streams is not None:  # its calls' websockets are closed
            self.streams.close()
        self.server.task_dispatcher.shutdown()  # let requests under way finish
        self.server.close()
        self.thread.join(timeout=5)
        self.app.config["RELAIS_DB"].dispose()  # its database connections
