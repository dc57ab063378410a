"""Shared test helpers: the small test content and ways to break it on purpose."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import select, text

from core.db import make_engine
from core.models import Job, now
from core.settings import load_settings
from core.twilio_simulator import RecordingServer, TwilioSimulator
from relais.server import BackgroundServer
from testsupport.databases import POSTGRES_URL, database_url, drop_database
from testsupport.processes import eventually

ROOT = Path(__file__).resolve().parent.parent
MINI = ROOT / "tests" / "data" / "mini"
FRENCH = ROOT / "content" / "fr"


def make_content(folder: Path, edits: dict[str, list[tuple[str, str]]] | None = None) -> Path:
    """A copy of the test content (with the real French language.yaml and danger.yaml) in
    `folder`/fr, each file changed by (old, new) text replacements that must apply."""
    target = folder / "fr"
    target.mkdir(parents=True, exist_ok=True)
    for name in ("dialogue.yaml", "procedures.yaml", "places.yaml"):
        shutil.copy(MINI / name, target / name)
    shutil.copy(FRENCH / "language.yaml", target / "language.yaml")
    shutil.copy(FRENCH / "danger.yaml", target / "danger.yaml")
    for name, replacements in (edits or {}).items():
        path = target / name
        text = path.read_text(encoding="utf-8")
        for old, new in replacements:
            assert old in text, f"test edit does not apply to {name}: {old!r}"
            text = text.replace(old, new, 1)
        path.write_text(text, encoding="utf-8")
    return target


@pytest.fixture
def mini_dir(tmp_path: Path) -> Path:
    return make_content(tmp_path)


# -- a real Relais over HTTP, with the Twilio simulator ---------------------------------

DATABASES = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


class Running:
    """A Relais served over HTTP, a simulator talking to it, and its database."""

    def __init__(self, data_dir: Path, db_kind: str = "sqlite", **env: str):
        data_dir.mkdir(parents=True, exist_ok=True)
        recordings = RecordingServer()  # Twilio's recordings, where Relais may fetch them
        self.settings = load_settings(
            {
                "RELAIS_DATA_DIR": str(data_dir),
                "RELAIS_DATABASE_URL": database_url(db_kind, data_dir),
                "RELAIS_PUBLIC_URL": "http://relais.example.org",
                "RELAIS_RENDER_PROMPTS": "0",
                "RELAIS_RECORDINGS_URL": recordings.url,
                "TWILIO_AUTH_TOKEN": "test-auth-token",
                **env,
            }
        )
        # Twilio calls the public URL; a reverse proxy forwards to the server's own address.
        self.server = BackgroundServer(self.settings, keep_public_url=True)
        self.sim = TwilioSimulator(
            self.server.url, "test-auth-token", self.settings.public_url, recordings=recordings
        )
        self.db = make_engine(self.settings.database_url)

    def rows(self, sql: str, **params) -> list:
        with self.db.connect() as conn:
            return list(conn.execute(text(sql), params))

    def count(self, table: str) -> int:
        return self.rows(f"SELECT count(*) FROM {table}")[0][0]

    def settled(self) -> None:
        """Wait until the background jobs due now are done, those they add included. "Now"
        is Python's time, read at each look: on SQLite, CURRENT_TIMESTAMP has no fraction of
        a second, and a job added during the current second would not be due yet."""

        def busy() -> list:
            due = (Job.status == "running") | ((Job.status == "pending") & (Job.run_at <= now()))
            with self.db.connect() as conn:
                return list(conn.execute(select(Job.id).where(due)))

        eventually(lambda: not busy(), timeout=60)  # a first job may load a speech model

    def close(self) -> None:
        self.sim.close()
        self.server.close()
        self.db.dispose()
        drop_database(self.settings.database_url)


@pytest.fixture(params=DATABASES)
def relais(request, tmp_path: Path) -> Iterator[Running]:
    running = Running(tmp_path / "data", request.param)
    yield running
    running.close()


# -- the mediators' dashboard, as a browser without JavaScript uses it -------------------


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def dashboard_login(relais: Running, phone: str, password: str) -> tuple[requests.Session, int]:
    """A logged-in browser session, and the login's HTTP status (a redirect when it worked)."""
    browser = requests.Session()
    base = relais.server.url
    token = csrf_token(browser.get(f"{base}/mediation/login").text)
    answer = browser.post(
        f"{base}/mediation/login",
        allow_redirects=False,
        data={"csrf_token": token, "phone": phone, "password": password},
    )
    return browser, answer.status_code
