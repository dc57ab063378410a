"""Handing a person to a mediator, through the real server and the Twilio simulator: in
opening hours with a whisper, nobody taking the call, outside hours, and by SMS."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from mediation.hours import PARIS
from mediation.roster import add_mediator, check_secret
from relais.cli import main as relais_main

from .conftest import Running, eventually

MOBILE = "+33612345678"
LANDLINE = "+33145678901"
OTHER = "+33698765432"
AMINA = "+33611223344"
BRUNO = "+33655667788"
ALWAYS = "mon-sun 00:00-23:59"


def _relais(tmp_path: Path, **env: str) -> Running:
    relais = Running(tmp_path / "data", RELAIS_OPENING_HOURS=ALWAYS, **env)
    with Session(relais.db) as session:
        add_mediator(session, "Amina", AMINA, "un mot de passe", ["caf", "emploi"], ["fr"])
        add_mediator(session, "Bruno", BRUNO, "un autre mot de passe", [], [])
        session.commit()
    return relais


@pytest.fixture
def relais(tmp_path: Path):
    running = _relais(tmp_path)
    yield running
    running.close()


def lines(call, who: str) -> list[str]:
    return [line.text for line in call.transcript if line.who == who]


def test_in_hours_the_mediators_hear_a_whisper_and_one_takes_the_call(relais) -> None:
    call = relais.sim.call(MOBILE, ["2", "1", "0"])  # aides, CAF, then "a person"
    assert "Je cherche une personne pour vous aider." in lines(call, "relais")
    (dialled,) = lines(call, "twilio")
    assert AMINA in dialled and BRUNO in dialled  # both handle the CAF
    heard = lines(call, "mediator")
    summary = heard[0].removeprefix("entend : ")
    assert summary.startswith("Appel du numéro qui finit par 78, ")
    assert "Sujet : la CAF. La personne a demandé à parler à quelqu'un." in summary
    assert "La personne a choisi les aides et l'argent, puis la CAF." in summary
    assert summary.count(". ") + summary.endswith(".") <= 4  # three short sentences
    assert heard[1:] == ["entend : Pour prendre l'appel, tapez 1.", "tape 1", "prend l'appel"]
    (request,) = relais.rows(
        "SELECT r.status, r.topic, m.name, r.priority "
        "FROM callback_requests r JOIN mediators m ON m.id = r.taken_by"
    )
    assert tuple(request) == ("clos", "caf", "Amina", 1)
    assert relais.count("outbound_messages") == 0  # taken live: no SMS needed


def test_only_the_mediators_of_the_topic_are_rung(relais) -> None:
    call = relais.sim.call(MOBILE, ["3", "1", "0"])  # santé: Amina does not handle it
    (dialled,) = lines(call, "twilio")
    assert BRUNO in dialled and AMINA not in dialled


@pytest.mark.parametrize("mediators", ["no-answer", "busy", "decline"])
def test_nobody_takes_it_the_caller_leaves_a_message_and_gets_an_sms(
    relais, mediators, tmp_path
) -> None:
    import wave

    message = tmp_path / "message.wav"
    with wave.open(str(message), "wb") as wav:
        wav.setnchannels(1), wav.setsampwidth(2), wav.setframerate(8000)
        wav.writeframes(b"\x00\x01" * 16000)
    call = relais.sim.call(MOBILE, ["4", f"say:{message}"], mediators=mediators)
    said = lines(call, "relais")
    assert said[-4:-1] == [
        "Personne n'est libre pour le moment.",
        "Une personne vous rappellera aujourd'hui.",
        "Après le bip, vous pouvez laisser un message. Puis tapez dièse.",
    ]
    assert said[-1] == "Merci. Au revoir."
    (request,) = eventually(  # the message is fetched by a job, after the webhook
        lambda: relais.rows(
            "SELECT status, taken_by, voicemail_ref FROM callback_requests"
            " WHERE voicemail_ref NOT LIKE 'http%'"
        )
    )
    assert request.status == "nouveau" and request.taken_by is None
    kept = relais.settings.data_dir / request.voicemail_ref
    assert kept.read_bytes() == message.read_bytes()
    (sms,) = relais.rows('SELECT "to", body FROM outbound_messages')
    assert sms.to == MOBILE
    assert sms.body == (
        "Relais : votre demande est enregistrée. Une personne vous rappellera aujourd'hui."
    )


def test_outside_hours_nobody_is_rung(tmp_path: Path) -> None:
    today = datetime.now(PARIS).date().isoformat()
    relais = _relais(tmp_path, RELAIS_CLOSED_DAYS=today)
    try:
        call = relais.sim.call(LANDLINE, ["4", "silence"])
        assert lines(call, "twilio") == []
        assert "Une personne vous rappellera demain à partir de 0 heures." in lines(call, "relais")
        (request,) = relais.rows("SELECT status, voicemail_ref FROM callback_requests")
        assert tuple(request) == ("nouveau", None)  # nothing was said after the beep
        assert relais.count("outbound_messages") == 0  # a landline gets no SMS
    finally:
        relais.close()


def test_a_person_asking_by_sms_gets_a_callback_request(relais) -> None:
    (reply,) = relais.sim.sms(MOBILE, "je veux parler a quelqu'un svp")
    assert reply.startswith("Je cherche une personne pour vous aider.")
    assert "Une personne vous rappellera aujourd'hui." in reply
    (request,) = relais.rows("SELECT topic, status, priority, summary FROM callback_requests")
    assert (request.topic, request.status, request.priority) == ("humain", "nouveau", 0)
    assert request.summary.startswith("SMS du numéro qui finit par 78, ")


def test_mediators_are_added_with_hashed_secrets(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("RELAIS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RELAIS_NEW_PASSWORD", "un long mot de passe")
    assert (
        relais_main(
            [
                "mediators",
                "add",
                "--name",
                "Amina",
                "--phone",
                "06 11 22 33 44",
                "--topics",
                "caf",
                "--pin",
                "4321",
            ]
        )
        == 0
    )
    assert relais_main(["mediators", "add", "--name", "Amina", "--phone", "0611223344"]) == 1
    assert relais_main(["mediators", "list"]) == 0
    out = capsys.readouterr().out
    assert "Amina  +336••••••44  caf  actif" in out
    from sqlalchemy import create_engine, text

    db = create_engine(f"sqlite:///{tmp_path / 'data' / 'relais.db'}")
    with db.connect() as conn:
        password, pin = conn.execute(text("SELECT password_hash, pin_hash FROM mediators")).one()
    db.dispose()
    assert password.startswith("$argon2") and "un long" not in password
    assert check_secret(password, "un long mot de passe") and check_secret(pin, "4321")
    assert not check_secret(password, "autre chose")


# -- the mediators' phone line -------------------------------------------------------------
def test_the_mediator_phone_line_end_to_end(tmp_path: Path) -> None:
    today = datetime.now(PARIS).date().isoformat()
    relais = _relais(tmp_path, RELAIS_CLOSED_DAYS=today)  # out of hours: requests wait
    try:
        with Session(relais.db) as session:
            add_mediator(
                session, "Chloé", "+33622334455", "encore un mot de passe", [], [], pin="4321"
            )
            session.commit()
        relais.sim.call(MOBILE, ["4", "silence"])  # two people waiting
        relais.sim.sms(OTHER, "je veux parler a quelqu'un")
        call = relais.sim.call("+33622334455", ["4321#", "2", "1"])
        heard = lines(call, "relais")
        assert heard[0] == "Bonjour. Espace des médiateurs. Tapez votre code, puis dièse."
        assert heard[1].startswith("Demande 1 sur 2. Appel du numéro qui finit par 78")
        assert heard[3].startswith("Demande 2 sur 2. SMS du numéro qui finit par 32")
        assert heard[5] == "J'appelle la personne."
        # The person sees the service's number, never the mediator's own.
        assert lines(call, "twilio") == [f"appel vers {OTHER}, numéro affiché +33900000000"]
        assert heard[6] == "C'était la dernière demande. On reprend au début."
        assert heard[7].startswith("Demande 1 sur 1. Appel")  # the one skipped still waits
        rows = relais.rows(
            "SELECT r.status, m.name FROM callback_requests r "
            "LEFT JOIN mediators m ON m.id = r.taken_by ORDER BY r.id"
        )
        assert [tuple(r) for r in rows] == [("nouveau", None), ("rappele", "Chloé")]
        assert relais.count("conversations") == 2  # the mediator's call is no conversation
    finally:
        relais.close()


def test_the_mediator_line_needs_the_pin(relais) -> None:
    with Session(relais.db) as session:
        add_mediator(session, "Chloé", "+33622334455", "encore un mot de passe", [], [], pin="4321")
        session.commit()
    call = relais.sim.call("+33622334455", ["1111#", "2222#", "3333#"])
    assert lines(call, "relais")[-1] == "Code incorrect. Au revoir."
    assert lines(call, "relais")[1] == "Code incorrect. Tapez votre code, puis dièse."
    sim = relais.sim  # a caller who is not a mediator cannot reach the queue
    url = sim.public_url + "/voice/mediator/queue?i=0"
    assert sim.post(url, {"From": MOBILE, "CallSid": "CA" + "6" * 32}).status_code == 403
