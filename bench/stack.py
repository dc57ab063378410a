"""Relais as an operator runs it, the floor beside it, and the CPU their processes use.

Built on the test-support package, as the tests are: testsupport.processes (`relais serve`,
`relais worker`), testsupport.databases (a fresh database per run) and
testsupport.twilio_api (Twilio's REST API), with core.twilio_simulator (Twilio's webhooks)."""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests
from redis import Redis

from core.db import make_engine
from core.settings import Settings, load_settings
from core.twilio_simulator import ACCOUNT_SID, TwilioSimulator
from relais.server import free_port
from testsupport.databases import database_url, drop_database
from testsupport.processes import Process, ServeProcess, cpu_seconds, eventually
from testsupport.twilio_api import TwilioApi

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
CALL_KEYS = ("2", "2", "1", "2")  # aides -> impôts -> can open a link -> that's all
SMS_TEXTS = ("caf", "1")
REDIS_URL = os.environ.get("RELAIS_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
CLIENTS = 4  # simultaneous callers or texters
_numbers = itertools.count(random.randrange(10**7))


def new_mobile() -> str:
    """A French mobile number not used before in this run (nor, likely, in another)."""
    return f"+3361{next(_numbers) % 10**7:07d}"


class CountingSimulator(TwilioSimulator):
    """The Twilio simulator, counting the webhooks it posts."""

    posts = 0

    def post(self, url: str, params: dict[str, str], signature: str | None = None):
        self.posts += 1
        return super().post(url, params, signature)


def call(sim: TwilioSimulator) -> bool:
    """A call to a procedure whose link goes by SMS; whether it ended as scripted."""
    done = sim.call(new_mobile(), CALL_KEYS)
    return done.status == "completed" and not done.answers


def texts(sim: TwilioSimulator) -> bool:
    """An SMS conversation; whether every text got a reply."""
    number = new_mobile()
    return all(sim.sms(number, body) for body in SMS_TEXTS)


def floor_voice(sim: TwilioSimulator) -> bool:
    params = {"CallSid": f"CA{uuid.uuid4().hex}", "From": new_mobile(), "Digits": "1"}
    return sim.post(sim.public_url + "/voice", params).status_code == 200


def floor_sms(sim: TwilioSimulator) -> bool:
    return sim.post(sim.public_url + "/sms", sim.sms_params(new_mobile(), "caf")).status_code == 200


Session = Callable[[TwilioSimulator], bool]


@dataclass
class Served:
    """The CPU a server's processes used over `sessions` sessions of webhooks."""

    name: str
    sessions: int
    failed: int
    webhooks: int
    cpu: float  # seconds

    @property
    def ms(self) -> float:
        return 1000 * self.cpu / self.webhooks if self.webhooks else float("nan")


@dataclass(frozen=True)
class Load:
    """`count` sessions of webhooks to the server at `url` (process `pid`), named `name`."""

    name: str
    url: str
    pid: int
    session: Session
    count: int


def serve_cpu(*loads: Load) -> list[Served]:
    """Run the loads' sessions, mixed evenly in one order, from CLIENTS threads; the CPU
    each server's processes (its pid and their children) used meanwhile. Servers measured
    together share the same moments of this shared machine: a ratio of their CPU holds
    better than one of CPU measured a second apart."""
    order = sorted(
        ((i + 0.5) / load.count, n) for n, load in enumerate(loads) for i in range(load.count)
    )
    free = {
        n: [CountingSimulator(load.url, TOKEN) for _ in range(CLIENTS)]
        for n, load in enumerate(loads)
    }
    sims, lock = {n: list(pool) for n, pool in free.items()}, threading.Lock()

    def one(n: int) -> bool:
        with lock:
            sim = free[n].pop()
        try:
            return loads[n].session(sim)
        except requests.RequestException:
            return False
        finally:
            with lock:
                free[n].append(sim)

    before = [cpu_seconds(load.pid) for load in loads]
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(one, [n for _, n in order]))
    spent = [cpu_seconds(load.pid) - b for load, b in zip(loads, before, strict=True)]
    served = []
    for n, load in enumerate(loads):
        done = [ok for ok, (_, m) in zip(results, order, strict=True) if m == n]
        posts = sum(sim.posts for sim in sims[n])
        served.append(Served(load.name, load.count, done.count(False), posts, spent[n]))
        for sim in sims[n]:
            sim.close()
    return served


class FloorProcess(Process):
    """bench/floor.py served in a subprocess; `wait` until it answers /healthz."""

    def __init__(self, data_dir: Path, db_url: str, workers: int):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        options = {"port": port, "token": TOKEN, "database-url": db_url, "data-dir": data_dir}
        arguments = [f"--{name}={value}" for name, value in options.items()]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.floor", *arguments, f"--workers={workers}"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait(self) -> None:
        def answers() -> bool:
            with contextlib.suppress(requests.RequestException):
                return requests.get(self.url + "/healthz", timeout=1).ok
            return False

        eventually(answers, timeout=120)


def render_prompts(folder: Path) -> Path | None:
    """The French voice prompts rendered once (`relais prompts render`), or None without
    a speech synthesiser (calls then hear <Say>)."""
    env = {**os.environ, "RELAIS_DATA_DIR": str(folder), "TWILIO_AUTH_TOKEN": TOKEN}
    command = [sys.executable, "-m", "relais.cli", "prompts", "render"]
    done = subprocess.run(command, env=env, capture_output=True, check=False)
    return folder / "audio" if done.returncode == 0 else None


class Stack:
    """Relais (`relais serve --workers N`, Redis for jobs, SMS through the Twilio API
    stand-in), one `relais worker`, and the floor, each on a fresh database of one kind."""

    def __init__(self, folder: Path, database: str, workers: int, prompts: Path | None):
        data_dir, floor_dir = folder / "relais", folder / "floor"
        data_dir.mkdir()
        floor_dir.mkdir()
        if prompts is not None:
            shutil.copytree(prompts, data_dir / "audio")
        self.db_url = database_url(database, data_dir)
        self.floor_db = database_url(database, floor_dir)
        self.floor = FloorProcess(floor_dir, self.floor_db, workers)  # starts meanwhile
        self.queue = f"bench-{uuid.uuid4().hex[:8]}"
        self.sim = TwilioSimulator("http://127.0.0.1:1", TOKEN)  # who opted out, for the API
        self.api = TwilioApi(self.sim, ACCOUNT_SID, TOKEN, check_one_in=50)
        self.env = {
            "RELAIS_DATABASE_URL": self.db_url,
            "RELAIS_REDIS_URL": REDIS_URL,
            "RELAIS_QUEUE": self.queue,
            "RELAIS_SMS_TRANSPORT": "twilio",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "RELAIS_FROM_NUMBER": "+33700000000",
            "RELAIS_TWILIO_API_URL": self.api.url,
        }
        self.server = ServeProcess(data_dir, free_port(), TOKEN, workers, **self.env)
        self.env |= {
            "RELAIS_DATA_DIR": str(data_dir),
            "TWILIO_AUTH_TOKEN": TOKEN,
            "RELAIS_PUBLIC_URL": self.server.url,
        }
        self.worker = Process(["worker"], self.env)
        self.floor.wait()
        self.db = make_engine(self.db_url)

    def relais(self, name: str, session: Session, count: int) -> Load:
        return Load(name, self.server.url, self.server.process.pid, session, count)

    def floor_load(self, name: str, session: Session, count: int) -> Load:
        return Load(name, self.floor.url, self.floor.process.pid, session, count)

    def pending_sms(self) -> int:
        with self.db.connect() as conn:
            return conn.exec_driver_sql(
                "SELECT count(*) FROM jobs WHERE kind = 'sms' AND status IN ('pending', 'running')"
            ).scalar_one()

    def queue_links(self, count: int) -> int:
        """`count` calls that each leave a link to send; how many links wait now."""
        serve_cpu(self.relais("calls", call, count))
        return self.pending_sms()

    def settled(self) -> None:
        eventually(lambda: self.pending_sms() == 0, timeout=120)

    def settings(self, **changes: str) -> Settings:
        return load_settings({**self.env, **changes})

    def close(self) -> None:
        for process in (self.worker, self.server, self.floor):
            process.stop()
        self.api.close()
        self.sim.close()
        self.db.dispose()
        for url in (self.db_url, self.floor_db):
            drop_database(url)
        redis = Redis.from_url(REDIS_URL)
        redis.delete(f"relais:{self.queue}:jobs")
        redis.close()
