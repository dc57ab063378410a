"""The Flask application: create_app(settings)."""

from __future__ import annotations

import logging
import os
from urllib.parse import urlsplit

from flask import Flask, Response, redirect, request, send_from_directory, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from core.db import health, make_engine, migrate, session_factory
from core.jobs import wire_jobs
from core.models import now
from core.settings import Settings, load_settings
from core.web import Language, close_services
from dialogues.engine import Engine
from dialogues.loader import load_content
from mediation.dashboard import init_dashboard
from mediation.handoff import callback_texts
from speech.recognition import Recognisers
from speech.service import Speech
from speech.voice import PromptCache

from .fallback import blueprint as fallback
from .fallback import fallback_texts

log = logging.getLogger("relais")
AUDIO_MAX_AGE = 365 * 24 * 3600  # a prompt's file name is the hash of what it says


def speech_for(settings: Settings, engine: Engine) -> Speech:
    return Speech(
        engine.content,
        settings.data_dir,
        settings.content_dir_of(engine.content.lang),
        Recognisers(settings.vosk_model),
        settings.voice_rate,
    )


def prompt_texts(settings: Settings, engine: Engine) -> list[str]:
    """Every text callers may hear in the synthetic voice (rendered in advance)."""
    return [
        *engine.voice_prompts(),
        *callback_texts(settings, engine.content, now()),
        *fallback_texts(engine.content, settings.fallback_phone),
    ]


def voice_prompts(settings: Settings) -> tuple[PromptCache | None, list[str]]:
    """The rendered prompts' cache (None without speech synthesis) and every text callers
    may hear in the synthetic voice."""
    engine = Engine(load_content(settings.content_dir))
    return speech_for(settings, engine).cache, prompt_texts(settings, engine)


def load_job_handlers() -> None:
    """Import the modules that define jobs: each registers its kinds (core.jobs.job)."""
    import mediation.calls
    import mediation.privacy
    import mediation.summary
    import mediation.voicemail  # noqa: F401


def mount_under_public_path(app: Flask, public_url: str) -> None:
    """Answer under the public URL's path too (https://example.org/relais: /relais/voice),
    for a reverse proxy that passes the path on as it is; a proxy that strips it still
    reaches the same routes. Signatures are checked against the public URL either way."""
    prefix = urlsplit(public_url).path.rstrip("/")
    if prefix:
        app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {prefix: app.wsgi_app})


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    load_job_handlers()
    # Recordings, transcripts and the database are personal data: readable by this
    # process's user only (0600 files, 0700 folders), whatever the machine's umask.
    os.umask(0o077)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.data_dir.chmod(0o700)
    # Broken content stops here, with reasons.
    contents = [load_content(settings.content_dir_of(lang)) for lang in settings.languages]
    db = make_engine(settings.database_url)
    migrate(db)
    for kept in settings.data_dir.glob("relais.db*"):  # made before this umask, perhaps
        kept.chmod(0o600)

    languages = {}
    for lang, content in zip(settings.languages, contents, strict=True):
        engine = Engine(content)
        languages[lang] = Language(engine, speech_for(settings, engine))
        if settings.render_prompts:
            languages[lang].speech.prepare(prompt_texts(settings, engine))
    first = languages[settings.language]

    sessions = session_factory(db)
    app = Flask(__name__)
    app.config.update(
        RELAIS=settings,
        RELAIS_ENGINE=first.engine,  # the first language's: the mediators'
        RELAIS_SPEECH=first.speech,
        RELAIS_LANGUAGES=languages,
        RELAIS_DB=db,
        RELAIS_SESSIONS=sessions,
        RELAIS_JOBS=wire_jobs(settings, sessions),  # the embedded runner: started by serving
        MAX_CONTENT_LENGTH=64 * 1024,  # Twilio's webhooks are small
    )
    app.teardown_appcontext(close_services)

    from ivr.handoff import blueprint as handoff
    from ivr.mediator_line import blueprint as mediator_line
    from ivr.ring_back import blueprint as ring_back
    from ivr.routes import blueprint as voice
    from ivr.stream_turns import blueprint as stream
    from sms.routes import blueprint as sms

    app.register_blueprint(voice)
    app.register_blueprint(stream)
    app.register_blueprint(handoff)
    app.register_blueprint(sms)
    app.register_blueprint(mediator_line)
    app.register_blueprint(fallback)
    app.register_blueprint(ring_back)
    init_dashboard(app)
    mount_under_public_path(app, settings.public_url)

    @app.get("/")
    def home() -> Response:
        """A browser at Relais's address lands on the mediators' dashboard."""
        return redirect(url_for("mediation.queue"))

    @app.get("/audio/<path:name>")
    def audio(name: str) -> Response:
        """Voice prompts for Twilio's <Play>: rendered ones, and human recordings."""
        if name.startswith("human/"):  # human/<lang>/<node>.wav
            lang, _, file = name.removeprefix("human/").partition("/")
            if lang not in languages:
                return Response("", status=404)
            return send_from_directory(
                languages[lang].speech.human_dir, file, mimetype="audio/wav", max_age=AUDIO_MAX_AGE
            )
        return send_from_directory(
            settings.data_dir / "audio", name, mimetype="audio/wav", max_age=AUDIO_MAX_AGE
        )

    @app.get("/healthz")
    def healthz() -> Response:
        """Up, or the database's state as the last connections found it (never asked here:
        a database that hangs must not hang the health check)."""
        state = health(db)
        if state is not None and state.down:
            return Response(f"database unavailable ({state.reason})", 503, mimetype="text/plain")
        return Response("ok", mimetype="text/plain")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        return Response(exc.description or exc.name, status=exc.code, mimetype="text/plain")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        # Never a 500: Twilio moves to the fallback URL on a 503, and nothing was saved.
        log.exception("unexpected error on %s", request.path)
        return Response("temporarily unavailable", status=503, mimetype="text/plain")

    return app
