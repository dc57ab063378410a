"""Running Relais with a production WSGI server (waitress), in the foreground or in a
background thread (for `relais call` and `relais sms` without --url)."""

from __future__ import annotations

import logging
import socket
import threading

import waitress
from flask import Flask
from waitress.server import create_server

from core.db import make_engine, migrate
from core.jobs import Runner
from core.settings import Settings
from mediation.privacy import schedule_purge
from speech.recognition import Recognisers
from speech.voice import tts_available

from .app import create_app, voice_prompts

THREADS = 8
CONNECTIONS = 1000  # open connections waitress keeps (its default, 100, queued callers)


def local_url(host: str, port: int) -> str:
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"


def describe(settings: Settings) -> list[str]:
    """What is configured, what is missing, and what that means for callers."""
    lines = [
        f"Relais: public URL {settings.public_url}",
        f"  data folder     {settings.data_dir}",
        f"  database        {settings.database_url.split('@')[-1]}",
        f"  content         {settings.content_dir}",
        f"  SMS transport   {settings.sms_transport}",
    ]
    if settings.redis_url:
        lines.append(
            f"  jobs            RQ at {settings.redis_url.split('@')[-1]}: "
            "run `relais worker` beside the server (SMS sending, voice messages, purge)"
        )
    else:
        lines.append("  jobs            in this process (set RELAIS_REDIS_URL to scale out)")
    if settings.missed_call:
        lines.append(
            "  missed-call mode: calls are rejected (free for the caller) and rung back, "
            f"at most {settings.ring_backs_per_day} times a day per number"
        )
    lines += [f"  note: {problem}" for problem in settings.problems]
    if tts_available():
        lines.append(
            f"  voice prompts: espeak-ng through pyttsx3 at {settings.voice_rate} "
            "words a minute, rendered in the background; <Say> until then."
        )
    else:
        lines.append(
            "  WARNING: no speech synthesis (pyttsx3 with espeak-ng): callers hear "
            "Twilio's <Say> voice."
        )
    model = settings.vosk_model(settings.language)
    if Recognisers(settings.vosk_model).available(settings.language):
        lines.append(f"  speech recognition: the Vosk model in {model}; callers may speak.")
    else:
        lines.append(
            f"  speech recognition: no model in {model}: callers answer with keys "
            f"only (`relais models install {settings.language}`)."
        )
    return lines


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    """Serve in the foreground: waitress in one process, or gunicorn with several worker
    processes (each with its own threads) past one core."""
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # one line per queued request
    if workers <= 1:
        app = create_app(settings)  # migrates the database first
        start_jobs(app)
        waitress.serve(
            app,
            host=host,
            port=port,
            threads=THREADS,
            connection_limit=CONNECTIONS,
            ident="relais",
        )
        return
    from gunicorn.app.base import BaseApplication

    engine = make_engine(settings.database_url)
    migrate(engine)  # once, before the workers start
    engine.dispose()
    cache, texts = voice_prompts(settings)
    if settings.render_prompts and cache is not None:
        # Once, before the workers start (a thread here would be forked with them).
        try:
            cache.render(texts)
        except (OSError, RuntimeError) as exc:  # calls still work, with <Say>
            logging.getLogger(__name__).warning("voice prompts not rendered: %s", exc)
    in_workers = settings.replace(render_prompts=False)

    class Gunicorn(BaseApplication):
        def load_config(self) -> None:
            for key, value in {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": "gthread",
                "threads": THREADS,
                "accesslog": None,
            }.items():
                self.cfg.set(key, value)

        def load(self):
            app = create_app(in_workers)  # in each worker process
            start_jobs(app)
            return app

    Gunicorn().run()


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BackgroundServer:
    """Relais served by waitress on a free local port, in a daemon thread. Its public URL
    is that local address unless `keep_public_url` (a test of a reverse proxy setup)."""

    def __init__(self, settings: Settings, keep_public_url: bool = False):
        port = free_port()
        self.url = local_url("127.0.0.1", port)
        self.settings = settings if keep_public_url else settings.replace(public_url=self.url)
        self.app = create_app(self.settings)
        self.jobs = start_jobs(self.app)
        self.server = create_server(self.app, host="127.0.0.1", port=port, threads=THREADS)
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
        self.server.task_dispatcher.shutdown()  # let requests under way finish
        self.server.close()
        self.thread.join(timeout=5)
        self.app.config["RELAIS_DB"].dispose()  # its database connections
