"""Missed-call mode: a call is rejected as busy (free for the caller) and Relais calls the
number back through Twilio's Calls API (the stand-in checks every request against
Twilio's OpenAPI description), with retries, answering-machine detection and caps."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy

from core.twilio_simulator import ACCOUNT_SID, Call
from testsupport.processes import eventually
from testsupport.twilio_api import TwilioApi

from .conftest import DATABASES, Running

MOBILE = "+33612345678"
SERVICE = "+33900000000"
HELLO = "Relais vous rappelle. Vous nous avez appelés. C'est gratuit pour vous."
GOODBYE = "Merci. Bonne journée. Au revoir."
TO_A_LINK = ["2", "2", "1", "2"]  # aides et argent, impôts, "I can open a link", that's all


class RingBack:
    """Relais in missed-call mode, with Twilio's REST side played by the stand-in."""

    def __init__(self, data_dir: Path, db_kind: str = "sqlite", **env: str):
        self.placed: queue.Queue = queue.Queue()
        self.api = TwilioApi(None, ACCOUNT_SID, "test-auth-token", on_call=self.placed.put)
        self.relais = Running(
            data_dir,
            db_kind,
            **{
                "RELAIS_MISSED_CALL": "1",
                "RELAIS_SMS_TRANSPORT": "twilio",
                "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "RELAIS_FROM_NUMBER": SERVICE,
                "RELAIS_TWILIO_API_URL": self.api.url,
                **env,
            },
        )
        self.api.sim = self.relais.sim

    def ring(self, number: str = MOBILE, answers: tuple[str, ...] = ()):
        return self.relais.sim.call(number, list(answers))

    def next_call(self, timeout: float = 15) -> dict:
        """The next call Relais placed, once Relais has noted it (Twilio rings for a
        while before the call is answered or not)."""
        placed = self.placed.get(timeout=timeout)
        eventually(
            lambda: self.relais.rows(
                "SELECT 1 FROM outbound_calls WHERE call_sid = :s", s=placed["sid"]
            )
        )
        return placed

    def hurry(self) -> None:
        """The retry delays, passed at once."""
        with self.relais.db.begin() as conn:
            conn.execute(
                sqlalchemy.text("UPDATE jobs SET run_at = :t WHERE status = 'pending'"),
                {"t": datetime.now(UTC)},
            )

    def earlier(self, hours: float) -> None:
        """Time passes: the ring-backs so far were placed `hours` earlier."""
        with self.relais.db.begin() as conn:
            for call_id, created in conn.execute(
                sqlalchemy.text("SELECT id, created_at FROM outbound_calls")
            ):
                moved = (
                    datetime.fromisoformat(created) if isinstance(created, str) else created
                ) - timedelta(hours=hours)
                conn.execute(
                    sqlalchemy.text("UPDATE outbound_calls SET created_at = :t WHERE id = :i"),
                    {"t": moved, "i": call_id},
                )

    def calls(self) -> list:
        return self.relais.rows("SELECT status, attempts, purpose FROM outbound_calls ORDER BY id")

    def close(self) -> None:
        self.relais.close()
        self.api.close()  # fails the test if Relais made a request the API description refuses


@pytest.fixture(params=DATABASES)
def ring_back(request, tmp_path: Path) -> Iterator[RingBack]:
    running = RingBack(tmp_path / "data", request.param)
    yield running
    running.close()


def _said(call) -> list[str]:
    return [line.text for line in call.transcript if line.who == "relais"]


def test_a_missed_call_is_rejected_then_called_back_and_gets_its_link(ring_back) -> None:
    missed = ring_back.ring()
    assert missed.status == "busy" and _said(missed) == []  # rejected: free for the caller
    placed = ring_back.next_call()
    assert placed["To"] == MOBILE and placed["From"] == SERVICE
    assert placed["MachineDetection"] == "DetectMessageEnd"  # a machine: after its greeting
    assert placed["Url"].startswith("http://relais.example.org/voice/outbound?o=")
    call = ring_back.relais.sim.pick_up(placed, "human", TO_A_LINK)
    said = _said(call)
    assert said[0] == HELLO
    assert said[1].startswith("Bonjour. Ici Relais. Je vous aide")
    assert said[-1] == GOODBYE
    (sms,) = eventually(lambda: ring_back.api.messages)
    assert sms["To"] == MOBILE and "https://www.impots.gouv.fr" in sms["Body"]
    assert ring_back.calls()[0].status == "answered"
    ((end,),) = ring_back.relais.rows("SELECT call_status FROM conversations")
    assert end == "completed"  # the status callback reached the conversation


def test_no_answer_three_times_then_given_up(ring_back) -> None:
    ring_back.ring()
    for _attempt in range(3):
        placed = ring_back.next_call()
        assert ring_back.relais.sim.pick_up(placed, "no-answer") is None
        eventually(lambda: ring_back.calls()[0].status in ("waiting", "given_up"))
        ring_back.hurry()
    assert tuple(ring_back.calls()[0][:2]) == ("given_up", 3)
    with pytest.raises(queue.Empty):
        ring_back.next_call(timeout=2)
    assert ring_back.relais.count("conversations") == 0


@pytest.mark.parametrize(
    "machine", ["machine", "machine_end_beep", "machine_end_silence", "machine_end_other"]
)
def test_an_answering_machine_records_a_short_message_and_no_dialogue(
    ring_back, machine: str
) -> None:
    ring_back.ring()
    call = ring_back.relais.sim.pick_up(ring_back.next_call(), machine)
    (said,) = _said(call)
    assert said.startswith("Bonjour, ici Relais. Vous nous avez appelés. Pour nous joindre")
    # Said once the greeting had ended: the person finds the whole message on their phone.
    assert call.voicemail == [said]
    assert ring_back.calls()[0].status == "machine"
    assert ring_back.relais.count("conversations") == 0


def test_a_fax_is_hung_up_on_and_unknown_gets_the_dialogue(ring_back) -> None:
    ring_back.ring()
    fax = ring_back.relais.sim.pick_up(ring_back.next_call(), "fax")
    assert _said(fax) == [] and fax.status == "completed"
    assert ring_back.calls()[0].status == "fax"
    ring_back.earlier(hours=1)
    ring_back.ring()
    # Detection could not tell (a person who said nothing, perhaps): the dialogue.
    unknown = ring_back.relais.sim.pick_up(ring_back.next_call(), "unknown", ["hangup"])
    assert _said(unknown)[0] == HELLO
    assert ring_back.calls()[1].status == "answered"


def test_rings_in_a_row_give_one_ring_back_and_the_daily_cap_holds(ring_back) -> None:
    for _ in range(10):
        assert ring_back.ring().status == "busy"
    placed = ring_back.next_call()
    ring_back.relais.sim.pick_up(placed, "human", ["hangup"])
    with pytest.raises(queue.Empty):
        ring_back.next_call(timeout=2)  # ten rings, one ring-back
    call = ring_back.ring(answers=("hangup",))  # within the hour: answered as usual
    assert call.status != "busy" and _said(call)[0].startswith("Bonjour. Ici Relais. Je vous")
    for _ in range(2):  # an hour later, and again: two more ring-backs today...
        ring_back.earlier(hours=1)
        assert ring_back.ring().status == "busy"
        ring_back.relais.sim.pick_up(ring_back.next_call(), "human", ["hangup"])
    ring_back.earlier(hours=1)
    call = ring_back.ring(answers=("hangup",))  # ...then the daily cap: answered as usual
    assert call.status != "busy" and _said(call)[0].startswith("Bonjour. Ici Relais. Je vous")
    assert len(ring_back.calls()) == 3 and len(ring_back.api.calls) == 3


@pytest.mark.parametrize("number", ["+447700900123", "+33899123456", "anonymous"])
def test_foreign_premium_and_hidden_numbers_are_never_called(ring_back, number: str) -> None:
    call = ring_back.ring(number, ("hangup",))
    assert call.status != "busy" and _said(call)[0].startswith("Bonjour. Ici Relais. Je vous aide")
    assert ring_back.calls() == [] and ring_back.api.calls == []


def test_a_restart_between_the_missed_call_and_the_ring_back(tmp_path: Path) -> None:
    first = RingBack(tmp_path / "data")
    first.ring()
    first.relais.server.close()  # stopped before the ring-back was placed (3 s later)
    assert first.relais.rows("SELECT status FROM jobs WHERE kind = 'place_call'")[0][0] == (
        "pending"
    )
    first.api.close()
    again = RingBack(tmp_path / "data")
    try:
        placed = again.next_call()
        assert placed["To"] == MOBILE
        call = again.relais.sim.pick_up(placed, "human", TO_A_LINK)
        assert _said(call)[0] == HELLO and _said(call)[-1] == GOODBYE
    finally:
        again.close()
        first.relais.sim.close()
        first.relais.db.dispose()


def test_click_to_call_rings_the_mediator_first_then_the_person(tmp_path: Path) -> None:
    from sqlalchemy.orm import Session

    from mediation.roster import add_mediator

    from .conftest import csrf_token, dashboard_login

    mediator = "+33611223344"
    running = RingBack(tmp_path / "data", RELAIS_MISSED_CALL="0")
    relais = running.relais
    try:
        with Session(relais.db) as session:
            add_mediator(session, "Amina", mediator, "un mot de passe", [], [])
            session.commit()
        relais.sim.sms(MOBILE, "0")  # the person asks for someone by SMS
        ((request_id,),) = relais.rows("SELECT id FROM callback_requests")
        browser, status = dashboard_login(relais, "06 11 22 33 44", "un mot de passe")
        assert status in (302, 303)  # redirected to the queue: logged in
        page = browser.get(f"{relais.server.url}/mediation/requests/{request_id}").text
        assert "Appeler par Relais" in page
        answer = browser.post(
            f"{relais.server.url}/mediation/requests/{request_id}/call",
            data={"csrf_token": csrf_token(page)},
        )
        assert "Relais appelle votre téléphone" in answer.text
        placed = running.next_call()
        assert placed["To"] == mediator and placed["From"] == SERVICE  # the mediator first
        assert "MachineDetection" not in placed
        call = relais.sim.pick_up(placed, "human", ["1"])
        assert _said(call)[:2] == [
            "Relais. Une personne attend votre appel. Pour l'appeler maintenant, tapez 1.",
            "Nous appelons la personne. Restez en ligne.",
        ]
        # Then the person, who sees the service's number, not the mediator's.
        assert [line.text for line in call.transcript if line.who == "twilio"] == [
            f"appel vers {MOBILE}, numéro affiché {SERVICE}"
        ]
        (request,) = relais.rows("SELECT status, notes, taken_by FROM callback_requests")
        assert request.status == "rappele" and "Rappel : personne jointe." in request.notes
        assert request.taken_by is not None
    finally:
        running.close()


@pytest.mark.parametrize("db_kind", DATABASES)
@pytest.mark.parametrize(
    ("dialled", "note"),
    [
        ("no-answer", "Rappel : pas de réponse."),  # the person does not pick up
        # Twilio counts a <Dial> a voicemail answered as completed: the answering-machine
        # detection on the person's leg tells Relais it was not the person.
        ("voicemail", "Rappel : la messagerie a répondu, pas la personne."),
    ],
)
def test_click_to_call_that_reaches_nobody_is_noted(
    tmp_path: Path, db_kind: str, dialled: str, note: str
) -> None:
    from sqlalchemy.orm import Session

    from core.models import CallbackRequest
    from mediation.calls import click_to_call
    from mediation.roster import add_mediator

    running = RingBack(tmp_path / "data", RELAIS_MISSED_CALL="0", db_kind=db_kind)
    relais = running.relais
    try:
        relais.sim.sms(MOBILE, "0")
        with Session(relais.db) as session:
            amina = add_mediator(session, "Amina", "+33611223344", "un mot de passe", [], [])
            session.flush()
            request = session.scalars(sqlalchemy.select(CallbackRequest)).one()
            click_to_call(session, request, amina)
            session.commit()
        placed = running.next_call()
        relais.sim.pick_up(placed, "human", ["1"], dialled=dialled)
        (request,) = relais.rows("SELECT status, notes FROM callback_requests")
        assert request.status == "injoignable" and note in request.notes
        assert "personne jointe" not in request.notes
    finally:
        running.close()


def test_the_answered_webhook_sent_again_replays_the_first_question(ring_back) -> None:
    ring_back.ring()
    placed = ring_back.next_call()
    sim = ring_back.relais.sim
    call = Call(sim, caller=placed["To"], to=placed["From"], sid=placed["sid"], outbound=True)
    params = call.params(AnsweredBy="human")
    first = sim.post(placed["Url"], params)
    again = sim.post(placed["Url"], params)  # Twilio retries when the answer was slow
    assert first.status_code == again.status_code == 200
    assert HELLO in first.text and again.text == first.text
    assert ring_back.relais.count("conversations") == 1
