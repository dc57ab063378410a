"""How Relais sounds on a call, against the real server and the Twilio simulator: its
rendered prompts, and Twilio's <Say> in a French voice where a sentence cannot be rendered
in advance (a summary, a date)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from core.twilio_simulator import Call
from relais.app import voice_prompts

from .conftest import Running, make_content

MOBILE = "+33612345678"
MEDIATOR = "+33611223344"


def test_a_call_is_heard_in_the_rendered_voice_only(tmp_path: Path) -> None:
    """Every sentence a caller hears on the way to a link, or to a callback when no
    mediator is free, is a rendered prompt: Twilio's own voice never cuts in (the "SMS
    sent" sentence and the day of the callback were not rendered)."""
    from sqlalchemy.orm import Session

    from mediation.roster import add_mediator

    content = make_content(tmp_path / "content")
    relais = Running(
        tmp_path / "data",
        RELAIS_CONTENT_DIR=str(content.parent),
        RELAIS_RENDER_PROMPTS="1",
        RELAIS_OPENING_HOURS="mon-fri 09:00-12:00",
    )
    try:
        with Session(relais.db) as session:
            add_mediator(session, "Amina", MEDIATOR, "un mot de passe", [], [])
            session.commit()
        cache, texts = voice_prompts(relais.settings)  # what the server renders at start
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and cache.missing(texts):
            time.sleep(0.2)
        # Papers, the identity card, "I open links alone": the procedure, then the SMS.
        call = relais.sim.call(MOBILE, ["1", "1", "1"])
        said_to_link = said(call)
        assert len(said_to_link) >= 6 and relais.count("outbound_messages") == 1
        # A person, nobody free (or closed): when they will be called back, a message.
        call = relais.sim.call("+33698765432", ["3", "silence"], mediators="decline")
        said_to_person = said(call)
        assert len(said_to_person) >= 5
        heard = said_to_link + said_to_person
        assert [text for text in heard if not text.startswith("[son] ")] == []
    finally:
        relais.close()


@pytest.mark.parametrize("voice", ["", "Google.fr-FR-Neural2-A"])
def test_every_say_has_a_french_voice(tmp_path: Path, voice: str) -> None:
    """Twilio's <Say> speaks in English by default: every sentence Relais has Twilio say
    (to a caller, to a mediator in the whisper or on their line, in the fallback) names a
    French voice, RELAIS_SAY_VOICE or Amazon Polly's Léa."""
    from sqlalchemy.orm import Session

    from mediation.roster import add_mediator

    relais = Running(
        tmp_path / "data", RELAIS_OPENING_HOURS="mon-sun 00:00-23:59", RELAIS_SAY_VOICE=voice
    )
    try:
        with Session(relais.db) as session:
            add_mediator(session, "Amina", MEDIATOR, "un mot de passe", [], [], pin="432198")
            session.commit()
        # A caller asks for a person; the mediator hears the whisper and presses nothing;
        # the caller hears when they will be called back and leaves no message.
        handed = relais.sim.call(MOBILE, ["0", "silence"], mediators="decline")
        assert "Personne n'est libre pour le moment." in said(handed)
        assert any(line.who == "mediator" for line in handed.transcript)
        line = relais.sim.call(MEDIATOR, ["432198#", "3"])  # the mediators' line
        assert said(line)[0].startswith("Bonjour. Espace des médiateurs.")
        fallback = Call(relais.sim, "+33698765432", relais.sim.service_number)
        fallback.start_url = relais.sim.public_url + "/voice/fallback"
        fallback.run()
        assert said(fallback)[0].startswith("Désolé.")
        expected = {(voice or "Polly.Lea-Neural", "fr-FR")}
        assert handed.voices == line.voices == fallback.voices == expected
    finally:
        relais.close()


def said(call: Call) -> list[str]:
    return [line.text for line in call.transcript if line.who == "relais"]
