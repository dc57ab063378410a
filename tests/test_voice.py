"""How Relais sounds on a call, against the real server and the Twilio simulator: its
rendered prompts, and Twilio's <Say> in a French voice where a sentence cannot be rendered
in advance (a summary, a date)."""

from __future__ import annotations

import time
from pathlib import Path

from dialogues.engine import Engine
from dialogues.loader import load_content

from .conftest import Running, make_content

MOBILE = "+33612345678"


def test_a_call_to_a_link_is_heard_in_the_rendered_voice_only(tmp_path: Path) -> None:
    """Every sentence of a call that ends with a link is a rendered prompt: Twilio's own
    voice never cuts in (the "SMS sent" sentence was left out of the rendering)."""
    content = make_content(tmp_path / "content")
    relais = Running(
        tmp_path / "data", RELAIS_CONTENT_DIR=str(content.parent), RELAIS_RENDER_PROMPTS="1"
    )
    try:
        audio_dir = relais.settings.data_dir / "audio"
        prompts = Engine(load_content(content)).voice_prompts()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list(audio_dir.glob("*.wav"))) < len(prompts):
            time.sleep(0.2)
        # Papers, the identity card, "I open links alone": the procedure, then the SMS.
        call = relais.sim.call(MOBILE, ["1", "1", "1"])
        said = [line.text for line in call.transcript if line.who == "relais"]
        assert len(said) >= 6 and relais.count("outbound_messages") == 1
        assert [text for text in said if not text.startswith("[son] ")] == []
    finally:
        relais.close()
