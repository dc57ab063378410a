"""Handing a person to a mediator, through the real server and the Twilio simulator: in
opening hours with a whisper, nobody taking the call, outside hours, and by SMS."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.db import make_engine, migrate
from core.hours import PARIS, OpeningHours
from core.models import Mediator, Person
from core.phones import e164
from core.settings import load_settings
from core.store import Store
from dialogues.engine import Engine, HandOff
from dialogues.loader import load_content
from mediation.handoff import callback_promise, open_request
from mediation.requests import URGENT
from mediation.roster import add_mediator, check_secret
from mediation.when import callback_when, said_clock, said_day
from relais.cli import main as relais_main
from testsupport.processes import eventually

from .conftest import FRENCH, ROOT, Running, make_content

MOBILE = "+33612345678"
LANDLINE = "+33145678901"
OTHER = "+33698765432"
AMINA = "+33611223344"
BRUNO = "+33655667788"
ALWAYS = "mon-sun 00:00-24:00"  # every minute, midnight's last one too


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


@pytest.mark.parametrize(
    ("answer", "fact"),
    [
        ("1", "peut ouvrir un lien sans aide"),
        ("2", "peut ouvrir un lien avec de l'aide"),
        ("3", "ne peut pas ouvrir de lien"),
    ],
)
def test_the_summary_says_what_the_person_can_do_with_a_link(relais, answer, fact) -> None:
    """The three answers about links, each told as it was given (a person who cannot open
    one was told "peut ouvrir un lien" before)."""
    relais.sim.call(MOBILE, ["2", "1", "1", answer, "0"])  # RSA, the link question, a person
    (summary,) = [s for (s,) in relais.rows("SELECT summary FROM callback_requests")]
    told = ["peut ouvrir un lien sans aide", "peut ouvrir un lien avec de l'aide"]
    told.append("ne peut pas ouvrir de lien")
    assert [each for each in told if each in summary] == [fact], summary


def test_in_hours_the_mediators_hear_a_whisper_and_one_takes_the_call(relais) -> None:
    call = relais.sim.call(MOBILE, ["2", "1", "0"])  # aides, CAF, then "a person"
    assert "Je cherche une personne pour vous aider." in lines(call, "relais")
    (dialled,) = lines(call, "twilio")  # one mediator at a time: the first takes it
    first = AMINA if AMINA in dialled else BRUNO  # both handle the CAF
    heard = lines(call, "mediator")
    summary = heard[0].removeprefix("entend : ")
    assert summary.startswith("Appel du numéro qui finit par 78, ")
    assert (
        "Sujet : la CAF, la caisse d'allocations familiales. "
        "La personne a demandé à parler à quelqu'un." in summary
    )
    assert (
        "La personne a choisi les aides et l'argent, puis la CAF, la caisse d'allocations familiales."
        in summary
    )
    assert summary.count(". ") + summary.endswith(".") <= 4  # three short sentences
    assert heard[1:] == ["entend : Pour prendre l'appel, tapez 1.", "tape 1", "prend l'appel"]
    (request,) = relais.rows(
        "SELECT r.status, r.topic, m.phone, r.priority, r.notes "
        "FROM callback_requests r JOIN mediators m ON m.id = r.taken_by"
    )
    assert tuple(request) == ("clos", "caf", first, 1, "En direct : personne jointe.")
    assert relais.count("outbound_messages") == 0  # taken live: no SMS needed


def test_a_voicemail_that_answers_never_takes_the_call_the_next_mediator_does(relais) -> None:
    # The first mediator's phone is off: their voicemail answers at once, hears the
    # whisper and presses nothing. Rung at once, it would have taken the call from the
    # second mediator; rung in turn, it is hung up and the second is rung.
    call = relais.sim.call(MOBILE, ["2", "1", "0"], mediators=["voicemail", "accept"])
    first, second = lines(call, "twilio")
    assert {AMINA, BRUNO} == {first.split()[2].rstrip(","), second.split()[2].rstrip(",")}
    heard = lines(call, "mediator")
    assert len(heard) == 7 and heard[0] == "la messagerie répond"
    assert heard[2] == "entend : Pour prendre l'appel, tapez 1."  # and nothing pressed
    assert heard[-3:] == ["entend : Pour prendre l'appel, tapez 1.", "tape 1", "prend l'appel"]
    assert "Personne n'est libre pour le moment." not in lines(call, "relais")
    (request,) = relais.rows(
        "SELECT r.status, m.phone, r.notes FROM callback_requests r "
        "JOIN mediators m ON m.id = r.taken_by"
    )
    assert tuple(request) == ("clos", second.split()[2].rstrip(","), "En direct : personne jointe.")


def test_calls_are_shared_each_mediator_is_rung_first_in_turn(relais) -> None:
    firsts = set()
    for caller in (MOBILE, OTHER):
        call = relais.sim.call(caller, ["2", "1", "0"], mediators="no-answer")
        firsts.add(lines(call, "twilio")[0].split()[2].rstrip(","))
    assert firsts == {AMINA, BRUNO}


def test_only_the_mediators_of_the_topic_are_rung(relais) -> None:
    call = relais.sim.call(MOBILE, ["3", "1", "0"])  # santé: Amina does not handle it
    (dialled,) = lines(call, "twilio")
    assert BRUNO in dialled and AMINA not in dialled


@pytest.mark.parametrize("mediators", ["no-answer", "busy", "decline", "voicemail"])
def test_nobody_takes_it_the_caller_leaves_a_message_and_gets_an_sms(
    relais, mediators, tmp_path
) -> None:
    import wave

    message = tmp_path / "message.wav"
    with wave.open(str(message), "wb") as wav:
        wav.setnchannels(1), wav.setsampwidth(2), wav.setframerate(8000)
        wav.writeframes(b"\x00\x01" * 16000)
    call = relais.sim.call(MOBILE, ["4", f"say:{message}"], mediators=mediators)
    assert len(lines(call, "twilio")) == 2  # each mediator was rung, one after the other
    said = lines(call, "relais")
    assert said[-4:-1] == [
        "Personne n'est libre pour le moment.",
        "Une personne vous rappellera aujourd'hui.",
        "Après le bip, vous pouvez laisser un message. Puis tapez dièse.",
    ]
    assert said[-1] == "Merci. Au revoir."
    (request,) = eventually(  # the message is fetched by a job, after the webhook
        lambda: relais.rows(
            "SELECT status, taken_by, voicemail_ref, notes FROM callback_requests"
            " WHERE voicemail_ref NOT LIKE 'http%'"
        )
    )
    # A leg that answered ("completed", a voicemail's too) is no mediator who took the call.
    assert request.status == "nouveau" and request.taken_by is None and request.notes == ""
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


def test_a_person_asking_again_and_again_has_one_open_request(relais) -> None:
    for _ in range(30):
        relais.sim.sms(MOBILE, "je veux parler a quelqu'un svp")
    (request,) = relais.rows("SELECT priority, notes FROM callback_requests")
    assert request.priority == 0 and "Demande précédente" in request.notes
    # A danger after that makes the same request urgent, first in the queue.
    relais.sim.sms(MOBILE, "je veux me suicider")
    (request,) = relais.rows("SELECT priority, topic FROM callback_requests")
    assert tuple(request) == (2, "urgence")


def test_mediators_are_added_with_hashed_secrets(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("RELAIS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RELAIS_NEW_PASSWORD", "un long mot de passe")
    monkeypatch.setenv("RELAIS_NEW_PIN", "432198")
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
    assert check_secret(password, "un long mot de passe") and check_secret(pin, "432198")
    assert not check_secret(password, "autre chose")


# -- the mediators' phone line -------------------------------------------------------------
def test_the_mediator_phone_line_end_to_end(tmp_path: Path) -> None:
    today = datetime.now(PARIS).date().isoformat()
    relais = _relais(tmp_path, RELAIS_CLOSED_DAYS=today)  # out of hours: requests wait
    try:
        with Session(relais.db) as session:
            add_mediator(
                session, "Chloé", "+33622334455", "encore un mot de passe", [], [], pin="432198"
            )
            session.commit()
        relais.sim.call(MOBILE, ["4", "silence"])  # two people waiting
        relais.sim.sms(OTHER, "je veux parler a quelqu'un")
        call = relais.sim.call("+33622334455", ["432198#", "2", "1"])
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


def test_the_mediator_phone_line_never_reads_a_simulator_request(tmp_path: Path) -> None:
    """A mediator who tried Relais in the dashboard's simulator left a request there: the
    phone line's queue, like the dashboard's, holds real people only."""
    today = datetime.now(PARIS).date().isoformat()
    relais = _relais(tmp_path, RELAIS_CLOSED_DAYS=today)
    try:
        with Session(relais.db) as session:
            add_mediator(
                session, "Chloé", "+33622334455", "encore un mot de passe", [], [], pin="432198"
            )
            session.commit()
        relais.sim.sms("+33639980001", "je veux parler a quelqu'un")  # the simulator's
        with relais.db.begin() as conn:
            conn.execute(text("UPDATE people SET sandbox = :yes"), {"yes": True})
        assert relais.count("callback_requests") == 1
        call = relais.sim.call("+33622334455", ["432198#"])
        assert lines(call, "relais")[1] == "Personne n'attend. Merci. Au revoir."
    finally:
        relais.close()


def test_the_mediator_line_needs_the_pin(relais) -> None:
    with Session(relais.db) as session:
        add_mediator(
            session, "Chloé", "+33622334455", "encore un mot de passe", [], [], pin="432198"
        )
        session.commit()
    call = relais.sim.call("+33622334455", ["1111#", "2222#", "3333#"])
    assert lines(call, "relais")[-1] == "Code incorrect. Au revoir."
    assert lines(call, "relais")[1] == "Code incorrect. Tapez votre code, puis dièse."
    sim = relais.sim  # a caller who is not a mediator cannot reach the queue
    url = sim.public_url + "/voice/mediator/queue?i=0"
    assert sim.post(url, {"From": MOBILE, "CallSid": "CA" + "6" * 32}).status_code == 403


def test_wrong_pins_lock_the_line_across_calls_with_a_log_line(relais, caplog) -> None:
    with Session(relais.db) as session:
        add_mediator(
            session, "Chloé", "+33622334455", "encore un mot de passe", [], [], pin="432198"
        )
        session.commit()
    first = relais.sim.call("+33622334455", ["111111#", "222222#", "333333#"])
    assert lines(first, "relais")[-1] == "Code incorrect. Au revoir."
    # A new call does not start the count again: the 5th wrong PIN locks the line...
    second = relais.sim.call("+33622334455", ["444444#", "555555#"])
    locked = "Trop de codes faux. Le service est bloqué 30 minutes. Au revoir."
    assert lines(second, "relais")[-1] == locked
    # ...even for the right PIN, and the operator can see it in the log.
    third = relais.sim.call("+33622334455", ["432198#"])
    assert lines(third, "relais")[-1] == locked
    assert any("wrong PINs for mediator" in r.getMessage() for r in caplog.records)


def test_a_pin_is_six_digits_or_more_and_never_a_command_argument(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("RELAIS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RELAIS_NEW_PASSWORD", "un long mot de passe")
    monkeypatch.setenv("RELAIS_NEW_PIN", "1")
    add = ["mediators", "add", "--name", "Amina", "--phone", AMINA, "--pin"]
    assert relais_main(add) == 2
    assert "Le code doit avoir 6 chiffres ou plus." in capsys.readouterr().err
    with pytest.raises(SystemExit):  # "--pin 432198" would show the PIN in `ps`
        relais_main([*add, "432198"])
    monkeypatch.setenv("RELAIS_NEW_PIN", "432198")
    assert relais_main(add) == 0


# -- what a person is promised, and when ------------------------------------------------
def _paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def test_the_callback_day_is_said_with_its_date_after_tomorrow() -> None:
    hours = OpeningHours.parse()  # mon-fri 09:00-12:30,13:30-17:00
    fr = load_content(FRENCH)

    def when(hours: OpeningHours, at: datetime) -> str:
        return callback_when(fr, hours, at)

    assert when(hours, _paris(2026, 1, 5, 10, 0)) == "aujourd'hui"  # a monday, open
    assert when(hours, _paris(2026, 1, 5, 8, 0)) == "aujourd'hui à partir de 9 heures"
    assert when(hours, _paris(2026, 1, 5, 12, 45)) == "aujourd'hui à partir de 13 heures 30"
    assert when(hours, _paris(2026, 1, 5, 18, 0)) == "demain à partir de 9 heures"
    friday_evening = _paris(2026, 1, 2, 18, 0)
    assert when(hours, friday_evening) == "lundi 5 janvier à partir de 9 heures"
    assert when(hours, _paris(2026, 5, 29, 18, 0)) == "lundi 1er juin à partir de 9 heures"
    closed = OpeningHours.parse(closed="2026-01-06")
    assert when(closed, _paris(2026, 1, 5, 18, 0)) == "mercredi 7 janvier à partir de 9 heures"
    # 23:30 UTC on sunday 4 january is already monday in Paris.
    sunday_night = datetime(2026, 1, 4, 23, 30, tzinfo=UTC)
    assert when(hours, sunday_night) == "aujourd'hui à partir de 9 heures"


def test_summary_times_are_paris_time() -> None:
    # Relais stores UTC; SQLite gives it back without a time zone, PostgreSQL with one.
    fr = load_content(FRENCH)
    assert said_clock(fr, datetime(2026, 1, 5, 9, 42)) == "lundi 5 janvier à 10 h 42"
    assert said_clock(fr, datetime(2026, 1, 5, 9, 42, tzinfo=UTC)) == "lundi 5 janvier à 10 h 42"
    assert said_clock(fr, datetime(2026, 7, 6, 9, 42)) == "lundi 6 juillet à 11 h 42"  # summer
    assert said_clock(fr, datetime(2026, 1, 31, 23, 5)) == "dimanche 1er février à 0 h 05"


def test_days_and_times_are_said_in_the_contents_language() -> None:
    """A second language is content only: its days, months and hours come from its own
    language.yaml (the Korean test content)."""
    ko = load_content(ROOT / "tests" / "data" / "ko")
    assert said_day(ko, date(2026, 1, 5)) == "1월 5일 월요일"
    assert said_clock(ko, datetime(2026, 1, 1, 9, 42)) == "1월 1일 목요일 10시 42분"
    saturday = _paris(2026, 1, 3, 18, 0)
    assert callback_when(ko, OpeningHours.parse(), saturday) == "1월 5일 월요일 9시부터"


def test_a_callback_is_promised_only_when_a_mediator_can_make_it(tmp_path: Path) -> None:
    settings = load_settings({"RELAIS_DATA_DIR": str(tmp_path / "data")})
    db = make_engine(settings.database_url)
    migrate(db)
    content = load_content(settings.content_dir)
    friday_evening = _paris(2026, 1, 2, 18, 0)
    try:
        with Session(db) as session:
            nobody = callback_promise(session, settings, content, friday_evening)
            assert nobody.startswith("Personne ne peut vous rappeler pour le moment. ")
            assert "rappellera" not in nobody and "France Services" in nobody
            add_mediator(session, "Amina", AMINA, "un mot de passe", [], [])
            assert callback_promise(session, settings, content, friday_evening) == (
                "Une personne vous rappellera lundi 5 janvier à partir de 9 heures."
            )
            session.query(Mediator).update({"active": False})  # gone: nobody calls back
            assert callback_promise(session, settings, content, friday_evening) == nobody
            # A help place for every topic is given rather than France Services in general.
            folder = make_content(
                tmp_path / "content", {"places.yaml": [("    topics: [identite]\n", "")]}
            )
            with_place = callback_promise(session, settings, load_content(folder), friday_evening)
            assert "Allez à la maison France Services de Testville." in with_place
    finally:
        db.dispose()


def test_with_no_mediator_a_caller_is_told_the_truth_and_where_to_go(tmp_path: Path) -> None:
    relais = Running(tmp_path / "data", RELAIS_OPENING_HOURS=ALWAYS)  # nobody registered
    try:
        call = relais.sim.call(MOBILE, ["4"])
        said = lines(call, "relais")
        # No "Je cherche une personne" first: nobody can be looked for.
        assert not any(line.startswith("Je cherche une personne") for line in said)
        assert said[-2].startswith("Personne ne peut vous rappeler pour le moment. Allez dans")
        assert said[-1] == "Merci. Au revoir."
        assert not any("rappellera" in line or "bip" in line for line in said)
        assert lines(call, "twilio") == []  # nobody rung, no voice message taken
        (sms,) = relais.rows('SELECT "to", body FROM outbound_messages')
        assert sms.to == MOBILE and "rappellera" not in sms.body
        assert sms.body.startswith(
            "Relais : votre demande est enregistrée. Mais personne ne peut vous rappeler"
        )
        assert "France Services" in sms.body
        # The request still waits: a mediator registered later sees it.
        assert relais.count("callback_requests") == 1
        # By SMS too: the truth, and no "Je cherche une personne" before it.
        (reply,) = relais.sim.sms(OTHER, "je veux parler a quelqu'un")
        assert reply.startswith("Personne ne peut vous rappeler"), reply
    finally:
        relais.close()


def test_relais_check_warns_when_nobody_can_be_offered(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("RELAIS_DATA_DIR", str(tmp_path / "data"))
    relais_main(["check"])  # the shipped content has no help place yet
    assert "aucun médiateur n'est inscrit et aucun lieu d'aide" in capsys.readouterr().out
    assert not (tmp_path / "data" / "relais.db").exists()  # the check creates no database
    monkeypatch.setenv("RELAIS_NEW_PASSWORD", "un long mot de passe")
    assert relais_main(["mediators", "add", "--name", "Amina", "--phone", AMINA]) == 0
    capsys.readouterr()
    relais_main(["check"])
    assert "aucun médiateur" not in capsys.readouterr().out


# -- a person in danger -------------------------------------------------------------------
def open_directly(relais: Running, phone: str, urgent: bool, channel: str = "sms") -> int:
    """A hand-off as the engine makes it (a danger makes an urgent one), without a call."""
    engine = Engine(load_content(relais.settings.content_dir))
    with Session(relais.db) as session:
        store = Store(session)
        state, _ = engine.start(channel)
        topic = "urgence" if urgent else "humain"  # the danger's topic has no label in content
        state = replace(state, topic=topic)
        person = Person(phone=e164(phone))
        session.add(person)
        session.flush()
        conversation = store.start(person, channel, state)
        reason = "La personne est en danger." if urgent else "La personne a demandé à parler."
        handoff = HandOff(topic, reason, urgent=urgent)
        request = open_request(session, engine, conversation, handoff, relais.settings)
        session.commit()
        return request.id


def test_an_urgent_request_comes_first_and_the_mediators_on_duty_are_told(relais) -> None:
    ordinary = open_directly(relais, MOBILE, urgent=False, channel="voice")
    assert relais.count("outbound_messages") == 0
    urgent = open_directly(relais, OTHER, urgent=True)
    rows = relais.rows("SELECT id, priority FROM callback_requests ORDER BY priority DESC")
    assert [tuple(r) for r in rows] == [(urgent, URGENT), (ordinary, 1)]
    sent = relais.rows('SELECT "to", body, person_id FROM outbound_messages ORDER BY "to"')
    assert [r.to for r in sent] == [AMINA, BRUNO]  # every mediator, whatever their topics
    for sms in sent:
        assert (
            sms.body
            == "Relais : une personne en danger attend un appel. Ouvrez le tableau de bord."
        )
        assert sms.person_id is None  # a mediator is not one of the people served
    assert relais.count("people") == 2
    (summary,) = relais.rows("SELECT summary FROM callback_requests WHERE id = :i", i=urgent)[0]
    assert "Sujet : une personne en danger. La personne est en danger." in summary
    # The mediators' phone line gives it first too, and the whisper says it is urgent.
    with Session(relais.db) as session:
        add_mediator(
            session, "Chloé", "+33622334455", "encore un mot de passe", [], [], pin="432198"
        )
        session.commit()
    heard = lines(relais.sim.call("+33622334455", ["432198#"]), "relais")
    assert heard[1].startswith("Demande 1 sur 2. SMS du numéro qui finit par 32")
    whisper = relais.sim.post(
        f"{relais.sim.public_url}/voice/whisper?r={urgent}&m=1",
        {"CallSid": "CA" + "7" * 32, "To": AMINA, "From": relais.sim.service_number},
    )
    assert "Urgent. Une personne est en danger." in whisper.text
    assert whisper.text.index("Urgent.") < whisper.text.index("SMS du numéro")


def test_out_of_hours_an_urgent_request_waits_first_but_nobody_is_texted(tmp_path) -> None:
    today = datetime.now(PARIS).date().isoformat()
    relais = _relais(tmp_path, RELAIS_CLOSED_DAYS=today)
    try:
        open_directly(relais, MOBILE, urgent=True)
        assert relais.rows("SELECT priority FROM callback_requests")[0][0] == URGENT
        assert relais.count("outbound_messages") == 0
    finally:
        relais.close()
