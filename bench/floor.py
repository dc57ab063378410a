"""The floor: the least a Twilio webhook app can do, served as Relais is served.

A Flask app with the `twilio` library and SQLAlchemy: each webhook checks Twilio's
signature (403 without it), reads one row (the caller's last turn), writes one row (this
turn) and answers TwiML (a Gather around a Say for /voice, a Message for /sms). It runs in
`relais serve`'s server: waitress in one process, or gunicorn's processes each serving with
waitress (relais.server.WaitressWorker), with Relais's waitress options.

    python -m bench.floor --port 8001 --database-url URL --token T [--workers N]
"""

from __future__ import annotations

import argparse

from flask import Flask, Response, abort, request
from gunicorn.app.base import BaseApplication
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, event, select
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse
from waitress.server import create_server

from core.settings import Settings, load_settings
from relais.server import WaitressWorker, server_options

TURNS = Table(
    "turns",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("who", String(64), index=True),
    Column("step", Integer, nullable=False),
    Column("said", String(1600)),
)


def create_floor(database_url: str, public_url: str, token: str) -> Flask:
    """The floor app on `database_url` (its table created), signatures over `public_url`."""
    db = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    if database_url.startswith("sqlite"):  # what any SQLite web app sets

        @event.listens_for(db, "connect")
        def _wal(connection, _record) -> None:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")

    TURNS.metadata.create_all(db)
    db.dispose()  # gunicorn forks after this: each process opens its own connections
    validator = RequestValidator(token)
    app = Flask(__name__)

    def turn(who: str, said: str) -> int:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not validator.validate(public_url + request.path, request.form, signature):
            abort(403)
        with db.begin() as conn:
            last = conn.scalar(
                select(TURNS.c.step).where(TURNS.c.who == who).order_by(TURNS.c.id.desc())
            )
            step = (last or 0) + 1
            conn.execute(TURNS.insert().values(who=who, step=step, said=said[:1600]))
        return step

    @app.post("/voice")
    def voice() -> Response:
        step = turn(request.form.get("CallSid", ""), request.form.get("Digits", ""))
        reply = VoiceResponse()
        reply.gather(num_digits=1, action="/voice").say(f"Question {step}.", language="fr-FR")
        return Response(str(reply), mimetype="text/xml")

    @app.post("/sms")
    def sms() -> Response:
        step = turn(request.form.get("From", ""), request.form.get("Body", ""))
        reply = MessagingResponse()
        reply.message(f"Réponse {step}.")
        return Response(str(reply), mimetype="text/xml")

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    return app


def serve(app: Flask, settings: Settings, port: int, workers: int) -> None:
    """Serve as `relais serve --workers N` does (relais.server.serve)."""
    if workers <= 1:
        create_server(app, host="127.0.0.1", port=port, **server_options(settings)).run()
        return

    class Gunicorn(BaseApplication):
        relais_settings = settings

        def load_config(self) -> None:
            for key, value in {
                "bind": f"127.0.0.1:{port}",
                "workers": workers,
                "worker_class": WaitressWorker,
                "accesslog": None,
                "control_socket_disable": True,
            }.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    Gunicorn().run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    settings = load_settings({"RELAIS_DATA_DIR": args.data_dir})
    public_url = f"http://127.0.0.1:{args.port}"
    serve(
        create_floor(args.database_url, public_url, args.token), settings, args.port, args.workers
    )


if __name__ == "__main__":
    main()
