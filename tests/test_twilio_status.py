"""Twilio's status callbacks as they really come: lost (Relais was down), before the sid
they are about is known, late, repeated, out of Twilio's order, or about calls without a
conversation. Every one is answered 2xx, none makes a status go back, and a lost one never
leaves a person locked out of the free callback: the call's lease ends and a sweep asks
Twilio's Calls API (the stand-in serves it, checked against Twilio's OpenAPI description)."""

from __future__ import annotations

import queue
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.orm import Session

from core.twilio_simulator import Call
from mediation.roster import add_mediator
from testsupport.processes import eventually

from .conftest import DATABASES
from .test_ring_back import MOBILE, TO_A_LINK, RingBack

STATUS_URL = "http://relais.example.org/voice/status"


@pytest.fixture(params=DATABASES)
def ring_back(request, tmp_path: Path) -> Iterator[RingBack]:
    running = RingBack(tmp_path / "data", request.param)
    yield running
    running.close()


@pytest.fixture(params=DATABASES)
def answering(request, tmp_path: Path) -> Iterator[RingBack]:
    """Calls answered as usual (no missed-call mode), SMS sent through the API stand-in."""
    running = RingBack(tmp_path / "data", request.param, RELAIS_MISSED_CALL="0")
    yield running
    running.close()


def leases_end(ring_back: RingBack) -> None:
    """Time passes: every call's lease is over, and the jobs due by then run now."""
    with ring_back.relais.db.begin() as conn:
        conn.execute(
            sqlalchemy.text("UPDATE outbound_calls SET lease_until = :t"),
            {"t": datetime.now(UTC) - timedelta(seconds=1)},
        )
    ring_back.hurry()


def call_status(sim, sid: str, status: str, duration: str = "0"):
    """A status callback of call `sid` to the number's status URL, as Twilio sends it."""
    params = Call(sim, MOBILE, "+33900000000", sid=sid).params(
        CallStatus=status, CallDuration=duration
    )
    return sim.post(STATUS_URL, params)


# -- 1. a lost status callback ---------------------------------------------------------


def test_a_lost_status_callback_is_found_by_asking_twilio_and_the_ring_back_goes_on(
    ring_back,
) -> None:
    ring_back.ring()
    placed = ring_back.next_call()
    # Nobody answers, and Relais is down when the status callback comes: never sent again.
    assert ring_back.relais.sim.pick_up(placed, "no-answer", status_lost=True) is None
    assert ring_back.calls()[0].status == "calling"
    # Within the call's lease, a ring is the same request: rejected, nothing new.
    assert ring_back.ring().status == "busy"
    with pytest.raises(queue.Empty):
        ring_back.next_call(timeout=1)
    leases_end(ring_back)
    # The sweep asked Twilio's Calls API: no answer, so the ring-back is tried again.
    eventually(lambda: tuple(ring_back.calls()[0][:2]) == ("waiting", 1))
    assert ring_back.api.fetched == [placed["sid"]]
    ring_back.hurry()
    again = ring_back.next_call()
    assert again["To"] == MOBILE and again["sid"] != placed["sid"]
    call = ring_back.relais.sim.pick_up(again, "human", ["hangup"])
    assert call.transcript[0].text.startswith("Relais vous rappelle.")


@pytest.mark.parametrize("db_kind", DATABASES)
def test_a_ring_back_never_placed_fails_and_frees_the_person(tmp_path: Path, db_kind) -> None:
    # Twilio's API cannot be reached: the place_call job tries, then gives up.
    running = RingBack(tmp_path / "data", db_kind, RELAIS_TWILIO_API_URL="http://127.0.0.1:9")
    try:
        assert running.ring().status == "busy"

        def given_up() -> bool:  # its retries, each at once
            with running.relais.db.begin() as conn:
                conn.execute(
                    sqlalchemy.text("UPDATE jobs SET run_at = :t WHERE kind = 'place_call'"),
                    {"t": datetime.now(UTC)},
                )
            (status,) = running.relais.rows("SELECT status FROM jobs WHERE kind = 'place_call'")
            return status[0] == "failed"

        eventually(given_up, timeout=30)
        assert running.calls()[0].status == "waiting"
        leases_end(running)
        eventually(lambda: running.calls()[0].status == "failed")
        running.earlier(hours=1)
        # The next ring is a new ring-back, not a rejection with nothing behind it.
        assert running.ring().status == "busy"
        assert [row.status for row in running.calls()] == ["failed", "waiting"]
    finally:
        running.close()


def test_a_status_callback_that_overtakes_the_calls_sid_is_applied(ring_back) -> None:
    ring_back.api.overtake = "busy"  # before Twilio has answered the request placing it
    ring_back.ring()
    eventually(lambda: len(ring_back.api.calls) == 1)
    eventually(lambda: tuple(ring_back.calls()[0][:2]) == ("waiting", 1))  # tried again


# -- 5. every status callback answered, statuses never going back ----------------------


def test_sms_statuses_overtaking_late_repeated_and_unknown(answering) -> None:
    api, relais = answering.api, answering.relais
    api.overtake = "sent"  # Twilio's first callback comes before its answer to the send
    relais.sim.call(MOBILE, TO_A_LINK)
    (sms,) = eventually(lambda: api.messages)

    def status() -> str:
        return relais.rows(
            "SELECT status FROM outbound_messages WHERE provider_id = :s", s=sms["sid"]
        )

    eventually(lambda: status() == [("sent",)])
    assert api.deliver(sms["sid"], ["delivered"]) == [204]
    assert status() == [("delivered",)]
    # A late "sent", "queued", a repeated "delivered", then "undelivered": none goes back.
    assert api.deliver(sms["sid"], ["sent", "queued", "delivered", "undelivered"]) == [204] * 4
    assert status() == [("delivered",)]
    stranger = {"MessageSid": "SM" + secrets.token_hex(16), "MessageStatus": "delivered"}
    unknown = relais.sim.post("http://relais.example.org/sms/status", stranger)
    assert unknown.status_code == 204 and relais.count("outbound_messages") == 1
    malformed = relais.sim.post("http://relais.example.org/sms/status", {"MessageStatus": "sent"})
    assert malformed.status_code == 400


def test_call_statuses_out_of_order_and_repeated_change_nothing(answering) -> None:
    relais = answering.relais
    call = relais.sim.call(MOBILE, ["hangup"])
    assert call.status_answers == [204]
    ((recorded, duration),) = relais.rows("SELECT call_status, duration FROM conversations")
    assert recorded == "completed"
    for late, seconds in (("failed", "0"), ("in-progress", "0"), ("ringing", "0")):
        assert call_status(relais.sim, call.sid, late, seconds).status_code == 204
    assert call_status(relais.sim, call.sid, "completed", "99").status_code == 204
    assert relais.rows("SELECT call_status, duration FROM conversations") == [(recorded, duration)]
    assert relais.rows("SELECT count(*) FROM turns WHERE kind = 'hangup'") == [(1,)]


def test_status_callbacks_of_calls_without_a_conversation_are_answered(ring_back) -> None:
    relais = ring_back.relais
    missed = ring_back.ring()  # rejected for a ring-back: Twilio reports it busy
    assert missed.status == "busy" and missed.status_answers == [204]
    with Session(relais.db) as session:
        add_mediator(session, "Chloé", "+33622334455", "un mot de passe", [], [], pin="432198")
        session.commit()
    line = relais.sim.call("+33622334455", ["hangup"])  # a mediator calls their line
    assert line.status_answers == [204]
    stranger = call_status(relais.sim, "CA" + secrets.token_hex(16), "completed", "12")
    assert stranger.status_code == 204
    assert relais.count("conversations") == 0
    assert relais.sim.post(STATUS_URL, {"CallStatus": "completed"}).status_code == 400
