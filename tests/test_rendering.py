"""The channels' rendering, in-process and fast: the engine's actions and what their
hand-off became (the runtime's Handover) as TwiML for a call and as SMS bodies, with no
server, database row or side effect. The end-to-end tests drive the same code over HTTP."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from flask import Flask

from core.models import Mediator
from core.settings import load_settings
from dialogues.engine import Ask, End, HandOff, Say, SendProcedure
from dialogues.loader import load_content
from dialogues.sms_encoding import GSM7, sms_size
from ivr.handoff import render_handover
from ivr.twiml import CallRendering, render, speaker
from relais.app import create_app
from runtime.effects import Handover
from sms.replies import render as render_sms

from .conftest import FRENCH

FR = load_content(FRENCH)
ASK = Ask("accueil", "Pour la CAF, tapez 1.", ("1",))
HANDOFF = HandOff("humain", "demande une personne", text="Je cherche une personne.")
BASE = "http://relais.example.org"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    data = tmp_path_factory.mktemp("data")
    settings = load_settings(
        {
            "RELAIS_DATA_DIR": str(data),
            "RELAIS_PUBLIC_URL": BASE,
            "RELAIS_RENDER_PROMPTS": "0",
            "TWILIO_AUTH_TOKEN": "t",
        }
    )
    app = create_app(settings)
    with app.test_request_context():
        yield app


def _call(actions: list, handover: Handover | None = None, listening: bool = True) -> ET.Element:
    how = CallRendering(
        lambda kind: f"{BASE}/voice/{kind}?c=7&s=2",
        FR,
        speaker("fr"),
        listening,
        render_handover,
    )
    return ET.fromstring(render(actions, how, handover))


def _said(twiml: ET.Element) -> list[str]:
    return [say.text or "" for say in twiml.iter("Say")]


def test_a_question_is_a_key_then_a_spoken_answer_then_silence(app: Flask) -> None:
    twiml = _call([Say("Bonjour."), ASK])
    assert [verb.tag for verb in twiml] == ["Say", "Gather", "Record", "Redirect"]
    gather = twiml.find("Gather")
    assert gather.get("numDigits") == "1" and gather.get("action") == f"{BASE}/voice/key?c=7&s=2"
    assert _said(twiml) == ["Bonjour.", "Pour la CAF, tapez 1."]
    assert all(say.get("language") == "fr-FR" for say in twiml.iter("Say"))
    assert twiml.find("Redirect").text == f"{BASE}/voice/silence?c=7&s=2"
    # Without a speech model, nobody listens: no recording after a beep.
    assert [verb.tag for verb in _call([ASK], listening=False)] == ["Gather", "Redirect"]


def test_a_hand_off_rings_the_first_mediator_with_the_whisper(app: Flask) -> None:
    amina, bilal = Mediator(id=3, phone="+33611223344"), Mediator(id=5, phone="+33655667788")
    handover = Handover(9, False, True, (amina, bilal), "")
    twiml = _call([HANDOFF], handover)
    assert _said(twiml) == ["Je cherche une personne."]
    dial = twiml.find("Dial")
    assert dial.get("action") == f"{BASE}/voice/dialed?r=9&m=3&next=5"
    number = dial.find("Number")
    assert number.text == "+33611223344" and number.get("url") == f"{BASE}/voice/whisper?r=9&m=3"


def test_nobody_free_the_caller_hears_when_and_may_leave_a_message(app: Flask) -> None:
    promise = "Une personne vous rappellera demain à partir de 9 heures."
    twiml = _call([HANDOFF], Handover(9, False, True, (), promise))
    assert _said(twiml)[:3] == ["Je cherche une personne.", FR.phrase("nobody_free"), promise]
    record = twiml.find("Record")
    assert record is not None and record.get("action") == f"{BASE}/voice/voicemail?r=9"
    assert twiml[-1].tag == "Hangup"


def test_with_no_mediator_nobody_is_promised_or_searched_for(app: Flask) -> None:
    """No mediator registered: no "Je cherche une personne", no voice message nobody would
    hear; the person is told the truth and where to find help, then goodbye."""
    truth = FR.phrase("no_mediator")
    twiml = _call([HANDOFF], Handover(9, False, False, (), truth))
    assert _said(twiml) == [truth, FR.phrase("goodbye")]
    assert twiml.find("Record") is None and twiml.find("Dial") is None
    assert twiml[-1].tag == "Hangup"


def test_the_end_hangs_up(app: Flask) -> None:
    twiml = _call([Say("Merci. Au revoir."), End("completed")])
    assert [verb.tag for verb in twiml] == ["Say", "Hangup"]


def test_sms_replies_carry_the_procedure_and_the_promise() -> None:
    procedure = next(iter(FR.procedures))
    replies = render_sms(FR, [Say("Carte Vitale."), SendProcedure(procedure)])
    assert replies[0] == ("Carte Vitale.", None)
    assert replies[1] == (FR.procedures[procedure].sms, procedure)
    promise = "Une personne vous rappellera demain à partir de 9 heures."
    searching = render_sms(FR, [HANDOFF], Handover(9, False, True, (), promise))
    assert searching == [(f"Je cherche une personne.\n{promise}", None)]
    nobody = render_sms(FR, [HANDOFF], Handover(9, False, False, (), "Personne."))
    assert nobody == [("Personne.", None)]  # nobody searched for


def test_a_long_sms_reply_is_cut_into_messages_of_two_segments_in_gsm7() -> None:
    line = "Ligne {} : une phrase assez longue pour remplir un message « à la fin »."
    lines = [line.format(n) for n in range(12)]
    replies = render_sms(FR, [Say("\n".join(lines))])
    assert len(replies) > 1
    for body, _ in replies:
        size = sms_size(body)
        assert size.segments <= 2 and size.encoding == GSM7
    assert "\n".join(body for body, _ in replies).count("Ligne") == 12
