"""Reliability: webhooks racing each other, a worker killed in the middle of a call, the
database away, speech failing, and jobs run by `relais worker` processes woken through
Redis."""

from __future__ import annotations

import os
import threading
import time
import uuid
import wave
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy
from sqlalchemy.engine import make_url

from core.jobs import RedisQueue
from core.twilio_simulator import ACCOUNT_SID, TwilioSimulator
from relais.server import free_port
from testsupport.databases import POSTGRES_URL, database_url, drop_database
from testsupport.processes import Process, ServeProcess, eventually
from testsupport.twilio_api import TwilioApi

from .conftest import DATABASES, Running
from .netswitch import Switch

MOBILE = "+33612345678"
REDIS_URL = os.environ.get("RELAIS_TEST_REDIS_URL", "")
GOODBYE = "Merci. Bonne journée. Au revoir."
# "aides et argent", "impôts", "yes, I can open a link", "that's all".
TO_A_LINK = ["2", "2", "1", "2"]


def _said(call) -> list[str]:
    return [line.text for line in call.transcript if line.who == "relais"]


def _at_once(*requests_: tuple) -> list:
    """Send the requests (sim, url, params) at the same moment, each from its thread."""
    start = threading.Barrier(len(requests_))
    results: list = [None] * len(requests_)

    def send(i: int, sim, url: str, params: dict) -> None:
        start.wait()
        results[i] = sim.post(url, params)

    threads = [threading.Thread(target=send, args=(i, *r)) for i, r in enumerate(requests_)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# -- two webhooks of one conversation at the same time ----------------------------------
@pytest.mark.parametrize("db_kind", DATABASES)
def test_a_call_step_sent_twice_at_once_is_handled_once(tmp_path: Path, db_kind: str) -> None:
    relais = Running(tmp_path / "data", db_kind)
    try:
        sim = relais.sim
        for round_ in range(5):
            call = sim.call(f"+336123456{round_:02d}", [], max_webhooks=1)
            ((cid, step),) = relais.rows(
                "SELECT id, step FROM conversations WHERE call_sid = :s", s=call.sid
            )
            url = f"{sim.public_url}/voice/key?c={cid}&s={step}"
            first, second = _at_once(
                (sim, url, call.params(Digits="2")), (sim, url, call.params(Digits="2"))
            )
            assert first.status_code == second.status_code == 200
            assert first.text == second.text  # the same answer: the step was taken once
            ((after,),) = relais.rows("SELECT step FROM conversations WHERE id = :c", c=cid)
            assert after == step + 1
            keys = relais.rows(
                "SELECT count(*) FROM turns WHERE conversation_id = :c AND kind = 'key'", c=cid
            )
            assert keys[0][0] == 1
    finally:
        relais.close()


@pytest.mark.parametrize("db_kind", DATABASES)
def test_two_texts_sent_together_are_both_handled_in_turn(tmp_path: Path, db_kind: str) -> None:
    relais = Running(tmp_path / "data", db_kind)
    try:
        sim = relais.sim
        sim.sms(MOBILE, "caf")  # the conversation is open, at the CAF's menu
        ((before,),) = relais.rows("SELECT step FROM conversations")
        url = f"{sim.public_url}/sms"
        first, second = _at_once(
            (sim, url, sim.sms_params(MOBILE, "1")), (sim, url, sim.sms_params(MOBILE, "retour"))
        )
        assert first.status_code == second.status_code == 200
        ((after,),) = relais.rows("SELECT step FROM conversations")
        assert after == before + 2  # neither text was lost
        texts = relais.rows("SELECT raw FROM turns WHERE kind = 'text' ORDER BY id")
        assert sorted(t.raw for t in texts[1:]) == ["1", "retour"]
    finally:
        relais.close()


# -- a worker killed, the database away ---------------------------------------------------
def test_a_worker_killed_in_the_middle_of_a_call_the_call_goes_on(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = ServeProcess(data_dir, free_port(), "kill-token", workers=2)
    sim = TwilioSimulator(server.url, "kill-token")
    try:
        call = sim.call(MOBILE, TO_A_LINK, max_webhooks=2)
        assert _said(call)[-1].startswith("Les aides et l'argent.")
        for pid in server.workers():  # both: whichever took the call is gone
            os.kill(pid, 9)
        call.run()  # gunicorn starts new workers; the state is in the database
    finally:
        server.stop()
        sim.close()
    said = _said(call)
    assert said[2].startswith("Sur votre téléphone, pouvez-vous ouvrir un lien internet"), said
    assert said[-1] == GOODBYE
    assert not call.failures


@pytest.mark.skipif(not POSTGRES_URL, reason="needs RELAIS_TEST_POSTGRES_URL (set by .ci/run)")
def test_the_database_away_gives_a_fast_503_and_the_fallback_line(tmp_path: Path) -> None:
    """PostgreSQL unreachable for a moment: each webhook answers 503 at once, so Twilio
    asks the fallback URL, which apologises and gives a human line without the database;
    once it is back, calls work and the interrupted conversation is intact."""
    real = database_url("postgresql", tmp_path)
    switch = Switch(make_url(real).port or 5432)
    through = make_url(real).set(port=switch.port).render_as_string(hide_password=False)
    relais = Running(
        tmp_path / "data", RELAIS_DATABASE_URL=through, RELAIS_FALLBACK_PHONE="+33123456789"
    )
    try:
        call = relais.sim.call(MOBILE, TO_A_LINK, max_webhooks=2)
        switch.cut()
        started = time.monotonic()
        call.run()
        elapsed = time.monotonic() - started
        said = _said(call)
        assert 503 in call.failures
        assert said[-3:] == [
            "Désolé. Relais ne marche pas en ce moment. Rappelez dans quelques minutes.",
            "Pour parler à quelqu'un, appelez le 01 23 45 67 89.",
            "Pour parler à quelqu'un, appelez le 01 23 45 67 89.",
        ]
        # Twilio waits 15 s for a webhook: a failing one answers well before.
        assert elapsed < 5, elapsed
        reply = relais.sim.post(
            relais.sim.public_url + "/sms/fallback", relais.sim.sms_params(MOBILE, "caf")
        )
        assert "Relais ne marche pas en ce moment" in reply.text and "01 23 45 67 89" in reply.text
        switch.restore()
        again = relais.sim.call(MOBILE, TO_A_LINK)
        assert _said(again)[-1] == GOODBYE
        first = relais.rows("SELECT step, state FROM conversations WHERE call_sid = :s", s=call.sid)
        assert first[0].step == 1  # as it was when the database went away
    finally:
        relais.close()
        switch.close()
        drop_database(real)


@pytest.mark.skipif(not POSTGRES_URL, reason="needs RELAIS_TEST_POSTGRES_URL (set by .ci/run)")
def test_a_silent_database_gives_503_within_seconds_and_health_says_so(tmp_path: Path) -> None:
    """PostgreSQL's address accepts connections and never answers (a hung server or
    network): 20 webhooks at once all get 503 within seconds, the fallback and /healthz
    answer at once without it, /healthz says the database is away; when it answers again,
    so does Relais."""
    real = database_url("postgresql", tmp_path)
    switch = Switch(make_url(real).port or 5432)
    through = make_url(real).set(port=switch.port).render_as_string(hide_password=False)
    relais = Running(
        tmp_path / "data", RELAIS_DATABASE_URL=through, RELAIS_FALLBACK_PHONE="+33123456789"
    )
    sim = relais.sim
    try:
        assert requests.get(relais.server.url + "/healthz", timeout=5).status_code == 200
        switch.cut()  # every open connection dies...
        switch.hold()  # ...and new ones are taken and never answered

        def ring(n: int) -> tuple[int, float]:
            params = {"CallSid": f"CA{n:032d}", "From": MOBILE, "To": sim.service_number}
            started = time.monotonic()
            status = sim.post(sim.public_url + "/voice", params).status_code
            return status, time.monotonic() - started

        started = time.monotonic()
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(ring, range(20)))
        assert {status for status, _ in answers} == {503}
        assert time.monotonic() - started < 15, answers  # Twilio waits 15 s per webhook
        began = time.monotonic()
        health = requests.get(relais.server.url + "/healthz", timeout=5)
        fallback = sim.post(sim.public_url + "/voice/fallback", {"CallSid": "CA" + "9" * 32})
        assert time.monotonic() - began < 1
        assert health.status_code == 503 and "database" in health.text
        assert fallback.status_code == 200 and "01 23 45 67 89" in fallback.text
        switch.restore()
        eventually(lambda: _said(sim.call(MOBILE, TO_A_LINK))[-1] == GOODBYE, timeout=20)
        assert requests.get(relais.server.url + "/healthz", timeout=5).status_code == 200
    finally:
        relais.close()
        switch.close()
        drop_database(real)


@pytest.mark.skipif(not POSTGRES_URL, reason="needs RELAIS_TEST_POSTGRES_URL (set by .ci/run)")
def test_a_database_restart_between_two_webhooks_is_not_heard(tmp_path: Path) -> None:
    """PostgreSQL restarts between two steps of a call (every open connection is cut, new
    ones work): the next webhook finds its pooled connection dead, and is handled again on
    a new one. The caller hears no apology and the call goes on."""
    real = database_url("postgresql", tmp_path)
    switch = Switch(make_url(real).port or 5432)
    through = make_url(real).set(port=switch.port).render_as_string(hide_password=False)
    relais = Running(tmp_path / "data", RELAIS_DATABASE_URL=through)
    try:
        call = relais.sim.call(MOBILE, TO_A_LINK, max_webhooks=2)
        switch.cut()
        switch.restore()
        call.run()
        assert not call.failures
        assert _said(call)[-1] == GOODBYE
        rows = relais.rows("SELECT step, status FROM conversations WHERE call_sid = :s", s=call.sid)
        assert rows[0].step == len(TO_A_LINK)
    finally:
        relais.close()
        switch.close()
        drop_database(real)


def test_a_broken_speech_model_leaves_the_keys(tmp_path: Path) -> None:
    broken = tmp_path / "broken-model"
    for folder in ("am", "conf", "graph"):
        (broken / folder).mkdir(parents=True)
        (broken / folder / "junk").write_text("not a model")
    spoken = tmp_path / "spoken.wav"
    with wave.open(str(spoken), "wb") as wav:
        wav.setnchannels(1), wav.setsampwidth(2), wav.setframerate(8000)
        wav.writeframes(b"\x10\x00" * 8000)
    relais = Running(tmp_path / "data", RELAIS_VOSK_MODEL_FR=str(broken))
    try:
        call = relais.sim.call(MOBILE, [f"say:{spoken}", *TO_A_LINK])
        assert not call.failures
        assert _said(call)[-1] == GOODBYE
        assert relais.rows("SELECT procedure FROM outbound_messages")[0][0] == "impots"
        # Once the model failed, nobody is asked to speak any more.
        ((last_prompt,),) = relais.rows(
            "SELECT reply FROM turns WHERE reply_key LIKE 'voice:%' ORDER BY id DESC LIMIT 1"
        )
        assert "<Record" not in last_prompt
    finally:
        relais.close()


def test_no_speech_synthesis_the_caller_hears_say(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "audio").write_text("a file where the prompts' folder should be")
    relais = Running(data, RELAIS_RENDER_PROMPTS="1")
    try:
        call = relais.sim.call(MOBILE, TO_A_LINK)
        said = _said(call)
        assert said[-1] == GOODBYE and not [s for s in said if s.startswith("[son]")]
    finally:
        relais.close()


# -- jobs through Redis and `relais worker` ---------------------------------------------
def _with_redis(tmp_path: Path, db_kind: str, api_url: str) -> tuple[Running, dict[str, str]]:
    """Relais with its jobs in Redis (a queue of its own) and SMS through the Twilio API at
    `api_url`; and the environment of a `relais worker` for it."""
    env = {
        "RELAIS_REDIS_URL": REDIS_URL,
        "RELAIS_QUEUE": f"test-{uuid.uuid4().hex[:8]}",
        "RELAIS_SMS_TRANSPORT": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "RELAIS_FROM_NUMBER": "+33700000000",
        "RELAIS_TWILIO_API_URL": api_url,
    }
    relais = Running(tmp_path / "data", db_kind, **env)
    return relais, {
        **env,
        "RELAIS_DATA_DIR": str(relais.settings.data_dir),
        "RELAIS_DATABASE_URL": relais.settings.database_url,
        "RELAIS_PUBLIC_URL": relais.settings.public_url,
        "TWILIO_AUTH_TOKEN": "test-auth-token",
    }


@pytest.mark.skipif(not REDIS_URL, reason="needs RELAIS_TEST_REDIS_URL (set by .ci/run)")
@pytest.mark.parametrize("db_kind", DATABASES)
def test_workers_send_the_links_and_a_restart_loses_none(tmp_path: Path, db_kind: str) -> None:
    api = TwilioApi(None, ACCOUNT_SID, "test-auth-token")
    relais, worker_env = _with_redis(tmp_path, db_kind, api.url)
    api.sim = relais.sim
    worker = None
    try:
        # No worker yet: the link waits in the queue (and in the database).
        call = relais.sim.call(MOBILE, TO_A_LINK)
        assert _said(call)[-1] == GOODBYE
        time.sleep(0.5)
        assert api.messages == []
        assert relais.rows("SELECT status FROM outbound_messages")[0][0] == "queued"
        worker = Process(["worker"], worker_env)
        (sent,) = eventually(lambda: api.messages, timeout=30)
        assert "https://www.impots.gouv.fr" in sent["Body"]
        eventually(lambda: relais.rows("SELECT 1 FROM jobs WHERE kind = 'sms' AND status = 'done'"))
        # Redis losing its list (it may keep nothing on disk): the worker's look at the
        # table when it starts finds the job there.
        worker.stop()
        second = relais.sim.call("+33698765432", TO_A_LINK)
        assert _said(second)[-1] == GOODBYE
        from redis import Redis

        Redis.from_url(REDIS_URL).delete(f"relais:{worker_env['RELAIS_QUEUE']}:jobs")
        worker = Process(["worker"], worker_env)
        eventually(lambda: len(api.messages) == 2, timeout=30)
        time.sleep(1)
        assert len(api.messages) == 2  # each link once
    finally:
        if worker:
            worker.stop()
        relais.close()
        api.close()


@pytest.mark.skipif(not REDIS_URL, reason="needs RELAIS_TEST_REDIS_URL (set by .ci/run)")
def test_a_database_restart_between_two_links_the_same_worker_sends_both(tmp_path: Path) -> None:
    """A worker keeps its database connection from job to job: PostgreSQL restarting cuts
    it, and the next link is still sent by the same worker, once."""
    api = TwilioApi(None, ACCOUNT_SID, "test-auth-token")
    relais, worker_env = _with_redis(tmp_path, "postgresql", api.url)
    api.sim = relais.sim
    real = relais.settings.database_url
    switch = Switch(make_url(real).port or 5432)
    through = make_url(real).set(port=switch.port).render_as_string(hide_password=False)
    worker = Process(["worker"], {**worker_env, "RELAIS_DATABASE_URL": through})
    try:
        sent = "SELECT count(*) FROM outbound_messages WHERE provider_id IS NOT NULL"
        relais.sim.call(MOBILE, TO_A_LINK)
        # The cut falls between two jobs: after the first SMS's sid is written.
        eventually(lambda: relais.rows(sent)[0][0] == 1, timeout=30)
        switch.cut()
        switch.restore()
        relais.sim.call("+33698765432", TO_A_LINK)
        # Twilio has the message a moment before the worker writes its sid.
        eventually(lambda: relais.rows(sent)[0][0] == 2, timeout=30)
        assert worker.process.poll() is None
        assert sorted(m["To"] for m in api.messages) == ["+33612345678", "+33698765432"]
    finally:
        worker.stop()
        relais.close()
        api.close()
        switch.close()


@pytest.mark.skipif(not REDIS_URL, reason="needs RELAIS_TEST_REDIS_URL (set by .ci/run)")
def test_a_worker_looks_in_the_table_only_for_the_jobs_redis_lost(tmp_path: Path) -> None:
    """A link waiting in a busy list is not run from the table by a worker's look (a
    second worker woken by its id would then claim it for nothing); one that Redis lost
    is, and so is a job whose runner died (its lease passed)."""
    relais, _ = _with_redis(tmp_path, "sqlite", "http://127.0.0.1:9")  # no worker runs
    queue = RedisQueue(relais.settings)
    try:
        relais.sim.call(MOBILE, TO_A_LINK)
        sessions = relais.server.app.config["RELAIS_SESSIONS"]
        waiting = queue.waiting()
        assert len(waiting) == 2  # the first purge, and the link's job
        assert queue.unwoken(sessions) == []
        queue.redis.delete(queue.key)  # Redis lost its list
        assert sorted(queue.unwoken(sessions)) == sorted(waiting)
        queue.notify([(job_id, datetime.now(UTC)) for job_id in waiting])
        assert queue.unwoken(sessions) == []
        with relais.db.begin() as conn:  # a runner took one and died: its lease passed
            conn.execute(
                sqlalchemy.text(
                    "UPDATE jobs SET status = 'running', updated_at = :t WHERE kind = 'sms'"
                ),
                {"t": datetime.now(UTC) - timedelta(hours=1)},
            )
        assert len(queue.unwoken(sessions)) == 1
    finally:
        queue.redis.delete(queue.key)
        relais.close()


@pytest.mark.skipif(not REDIS_URL, reason="needs RELAIS_TEST_REDIS_URL (set by .ci/run)")
def test_a_worker_killed_while_sending_an_sms_never_sends_it_twice(tmp_path: Path) -> None:
    """The worker dies during its request to Twilio, which may or may not have taken the
    message: the message is marked failed, never sent a second time."""
    api = TwilioApi(None, ACCOUNT_SID, "test-auth-token")
    switch = Switch(int(api.url.rsplit(":", 1)[1]))
    switch.hold()  # Twilio's API takes the request and does not answer yet
    relais, worker_env = _with_redis(tmp_path, "sqlite", f"http://127.0.0.1:{switch.port}")
    api.sim = relais.sim
    worker = Process(["worker"], worker_env)
    try:
        relais.sim.call(MOBILE, TO_A_LINK)
        eventually(
            lambda: relais.rows("SELECT 1 FROM outbound_messages WHERE status = 'sending'"),
            timeout=30,
        )
        worker.kill()  # in the middle of its request to Twilio
        switch.restore()
        with relais.db.begin() as conn:  # the job's lease, passed at once
            conn.execute(
                sqlalchemy.text("UPDATE jobs SET updated_at = :t WHERE status = 'running'"),
                {"t": datetime.now(UTC) - timedelta(hours=1)},
            )
        worker = Process(["worker"], worker_env)  # its sweep finds the job again
        (message,) = eventually(
            lambda: relais.rows(
                "SELECT status, error FROM outbound_messages WHERE status = 'failed'"
            ),
            timeout=60,
        )
        assert "not sent again" in message.error
        assert api.messages == []  # the held request never reached Twilio; nothing else did
    finally:
        worker.stop()
        relais.close()
        switch.close()
        api.close()
