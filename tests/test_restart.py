"""A call survives the server being killed between two of its webhooks: the state lives in
the database, so the restarted server takes the next webhook at the same node."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from core.twilio_simulator import TwilioSimulator
from relais.server import free_port
from testsupport.processes import ServeProcess

TOKEN = "restart-token"


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data"


def test_sigkill_between_two_webhooks_then_the_call_goes_on(data_dir: Path) -> None:
    port = free_port()
    server = ServeProcess(data_dir, port, TOKEN)
    sim = TwilioSimulator(server.url, TOKEN)
    try:
        # "aides et argent", then (after the crash) "impôts", "yes, a link", "that's all".
        call = sim.call("+33612345678", ["2", "2", "1", "2"], max_webhooks=2)
        heard = [line.text for line in call.transcript if line.who == "relais"]
        assert not call.ended and heard[-1].startswith("Les aides et l'argent.")
        server.kill()
        server = ServeProcess(data_dir, port, TOKEN)
        call.run()
    finally:
        server.stop()
        sim.close()
    said = [line.text for line in call.transcript if line.who == "relais"]
    assert said[2].startswith("Sur votre téléphone, pouvez-vous ouvrir un lien internet"), said
    assert said[3].startswith("Vous déclarez vos revenus sur le site des impôts"), said
    assert said[-1] == "Merci. Bonne journée. Au revoir."
    db = create_engine(f"sqlite:///{data_dir / 'relais.db'}")
    with db.connect() as conn:
        sent = conn.execute(text("SELECT procedure FROM outbound_messages")).scalars().all()
        status = conn.execute(text("SELECT status, end_node FROM conversations")).one()
    db.dispose()
    assert sent == ["impots"]
    assert tuple(status) == ("ended", "fin")
