"""Danger, truthful promises and people who cannot read, through the real HTTP server and
the Twilio simulator (SQLite, and PostgreSQL in CI)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from mediation.roster import add_mediator

from .conftest import DATABASES, Running

MOBILE = "+33612345678"
AMINA = "+33611223344"
ALWAYS = "mon-sun 00:00-24:00"  # every minute, midnight's last one too


@pytest.fixture(params=DATABASES)
def alone(request, tmp_path: Path):
    """Relais as installed: no mediator registered, no help place."""
    running = Running(tmp_path / "data", request.param, RELAIS_OPENING_HOURS=ALWAYS)
    yield running
    running.close()


@pytest.fixture(params=DATABASES)
def staffed(request, tmp_path: Path):
    """Relais with one mediator on duty."""
    running = Running(tmp_path / "data", request.param, RELAIS_OPENING_HOURS=ALWAYS)
    with Session(running.db) as session:
        add_mediator(session, "Amina", AMINA, "un mot de passe", [], [])
        session.commit()
    yield running
    running.close()


def test_a_text_in_danger_gets_the_line_first_and_an_urgent_request(staffed: Running) -> None:
    replies = staffed.sim.sms(MOBILE, "je pense a me suicider")
    assert replies[0].startswith("Vous comptez. Appelez le 31 14")
    assert "rappellera" in " ".join(replies)  # a mediator is registered: a callback
    (request,) = staffed.rows("SELECT topic, priority, summary FROM callback_requests")
    assert request.topic == "urgence" and request.priority == 2
    assert "Sujet : une personne en danger." in request.summary
    assert not any(mark in request.summary for mark in ("@", "!", "urgence"))
    staffed.settled()
    alerts = staffed.rows('SELECT body FROM outbound_messages WHERE "to" = :p', p=AMINA)
    assert len(alerts) == 1 and "danger" in alerts[0].body


def test_a_text_in_danger_with_nobody_registered_promises_no_callback(alone: Running) -> None:
    replies = alone.sim.sms(MOBILE, "on dort dans la voiture ce soir avec les enfants")
    assert "115" in replies[0]
    assert "rappellera" not in " ".join(replies)
    (request,) = alone.rows("SELECT priority FROM callback_requests")
    assert request.priority == 2  # still first in the queue for whoever opens it


def test_no_callback_is_promised_when_no_mediator_is_registered(alone: Running) -> None:
    replies = alone.sim.sms(MOBILE, "je veux parler à quelqu'un")
    said = " ".join(replies)
    assert "rappellera" not in said
    assert "France Services" in said


def test_a_callback_is_promised_when_a_mediator_is_registered(staffed: Running) -> None:
    replies = staffed.sim.sms(MOBILE, "je veux parler à quelqu'un")
    assert "Une personne vous rappellera" in " ".join(replies)


def test_thanks_by_sms_closes_politely(alone: Running) -> None:
    assert alone.sim.sms(MOBILE, "merci") == ["Merci à vous. Au revoir."]


def test_a_caller_without_a_link_hears_the_papers_and_the_line_twice(alone: Running) -> None:
    # health and papers > health > carte Vitale > "no" > listen > "*" > that's all
    call = alone.sim.call(MOBILE, ["3", "1", "2", "3", "1", "*", "2"])
    heard = [line.text for line in call.transcript if line.who == "relais"]
    told = " ".join(heard)
    assert told.count("36 46") >= 4  # twice, then twice again after "*"
    assert "Les papiers à préparer" in told
    assert call.status == "completed"
    assert alone.count("outbound_messages") == 0  # no SMS to someone who cannot use it
