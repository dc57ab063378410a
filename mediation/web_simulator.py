"""The web simulator, for mediators who write the content: a phone keypad and an SMS box
in the dashboard. It drives the very webhooks Twilio calls, signed as Twilio signs them,
through core.twilio_simulator, inside this process (no network).

A sandbox: each mediator tries Relais from their own number of the block ARCEP reserves
for fiction (06 39 98 xx xx, which no phone can have), a person marked `sandbox`, never
counted in the figures or the queue. Its webhooks carry core.web.SANDBOX: their SMS stay in
the outbox and no call is placed, whatever the transport. The Twilio player's state and the
SMS exchanged are kept in the database (simulator_sessions), so that every server process
shows the same conversation.
"""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from collections import deque
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Person, SimulatorSession, now
from core.phones import mask
from core.twilio_simulator import SPEAKERS, Call, InProcessHttp, Line, TwilioSimulator
from core.web import SANDBOX, services

from .words import Words

FICTION_MOBILES = "+3363998"  # ARCEP's block for fiction: +33 6 39 98 00 00 to 99 99
KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#")
_IN_PROCESS = "http://relais.in-process"
NUMBER = re.compile(r"\+\d{8,15}")


def caller_of(mediator_id: int) -> str:
    """The sandbox number a mediator tries Relais from."""
    return f"{FICTION_MOBILES}{mediator_id % 10000:04d}"


def _simulator() -> TwilioSimulator:
    app = current_app._get_current_object()
    settings = app.config["RELAIS"]
    # Each webhook marked as the sandbox's.
    http = InProcessHttp(app, environ={SANDBOX: True})
    words = app.config["RELAIS_WORDS"].table["simulator"]
    return TwilioSimulator(
        _IN_PROCESS, settings.auth_token, settings.public_url, http=http, words=words
    )


# -- the Twilio player's state, as JSON -----------------------------------------------


def _dump(value: Any) -> Any:
    if isinstance(value, ET.Element):
        return {"xml": ET.tostring(value, encoding="unicode")}
    if isinstance(value, Line):
        return {"line": [value.who, value.text, value.sound]}
    if isinstance(value, deque):
        return {"deque": [_dump(v) for v in value]}
    if isinstance(value, tuple):
        return {"tuple": [_dump(v) for v in value]}
    if isinstance(value, set | frozenset):
        return {"set": [_dump(v) for v in value]}
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {"dict": {k: _dump(v) for k, v in value.items()}}
    return value


def _load(value: Any) -> Any:
    if isinstance(value, list):
        return [_load(v) for v in value]
    if not isinstance(value, dict):
        return value
    ((kind, inner),) = value.items()
    if kind == "xml":
        return ET.fromstring(inner)
    if kind == "line":
        return Line(*inner)
    if kind == "deque":
        return deque(_load(v) for v in inner)
    if kind == "tuple":
        return tuple(_load(v) for v in inner)
    if kind == "set":
        return {_load(v) for v in inner}
    return {k: _load(v) for k, v in inner.items()}


def _saved(call: Call) -> dict:
    return {
        f.name: _dump(getattr(call, f.name)) for f in dataclasses.fields(call) if f.name != "sim"
    }


def _restored(saved: dict) -> Call:
    call = Call(_simulator(), saved["caller"], saved["to"])
    for name, value in saved.items():
        setattr(call, name, _load(value))
    return call


# -- one mediator's session -----------------------------------------------------------


@dataclasses.dataclass
class Tried:
    """What the simulator page shows: the call (None before the first) and the SMS."""

    call: Call | None
    texts: list[Line]


def _row(session: Session, mediator_id: int) -> SimulatorSession:
    """The mediator's row, and their sandbox person. The caller commits before the
    webhooks run (they write in their own transactions)."""
    row = session.get(SimulatorSession, mediator_id)
    if row is None:
        row = SimulatorSession(mediator_id=mediator_id, texts=[])
        session.add(row)
    phone = caller_of(mediator_id)
    person = session.scalar(select(Person).where(Person.phone == phone))
    if person is None:
        session.add(Person(phone=phone, sandbox=True))
    elif not person.sandbox:
        person.sandbox = True
    session.flush()
    return row


def tried(mediator_id: int) -> Tried:
    row = services().session.get(SimulatorSession, mediator_id)
    if row is None:
        return Tried(None, [])
    call = _restored(row.call) if row.call else None
    return Tried(call, [Line(who, text) for who, text in row.texts])


def _keep(session: Session, row: SimulatorSession, call: Call | None = None) -> None:
    if call is not None:
        row.call = _saved(call)
    row.updated_at = now()
    session.commit()


def start_call(mediator_id: int) -> None:
    session = services().session
    _row(session, mediator_id)
    session.commit()  # the sandbox person exists before the first webhook
    sim = _simulator()
    call = Call(sim, caller_of(mediator_id), sim.service_number, interactive=True).run()
    _keep(session, _row(session, mediator_id), call)


def press(mediator_id: int, key: str) -> None:
    """A key of the keypad, or "hangup"."""
    session = services().session
    saved = _row(session, mediator_id).call
    session.commit()
    if not saved or key not in (*KEYS, "hangup"):
        return
    call = _restored(saved)
    if not call.ended:
        call.run([key])
        _keep(session, _row(session, mediator_id), call)


def text(mediator_id: int, body: str) -> None:
    session = services().session
    _row(session, mediator_id)
    session.commit()
    replies = _simulator().sms(caller_of(mediator_id), body)
    row = _row(session, mediator_id)
    row.texts = [*row.texts, ["caller", body], *(["relais", reply] for reply in replies)]
    _keep(session, row)


# -- what the page shows ----------------------------------------------------------------


def _sentences() -> dict[str, str]:
    """What each prompt's sound file says, by its path under /audio/ (Twilio's <Play>
    gives the player a URL only)."""
    app = services()
    content = app.engine.content
    texts = [*app.engine.voice_prompts(), *content.phrases.values()]
    said = {
        f"human/{content.lang}/{node.id}.wav": node.text
        for node in content.nodes.values()
        if node.text
    }
    if app.speech.cache is not None:
        said |= {app.speech.cache.name(text): text for text in texts}
    return said


def shown(lines: list[Line], words: Words) -> list[tuple[str, str, str]]:
    """Each line as the page shows it: its speaker's kind, their name, what was said (the
    sentence of a sound, never its URL; phone numbers masked)."""
    audio = f"{services().settings.public_url}/audio/"
    sentences = current_app.config.get("RELAIS_SIM_SENTENCES")
    if sentences is None:
        sentences = current_app.config["RELAIS_SIM_SENTENCES"] = _sentences()
    out = []
    for line in lines:
        said = line.text
        if line.sound:
            name = line.sound.removeprefix(audio)
            said = sentences.get(name) or words("simulator", "recorded")
        said = NUMBER.sub(lambda found: mask(found.group(0)), said)
        kind = SPEAKERS.get(line.who, "network")
        out.append((kind, words("simulator", kind), said))
    return out


def last_sound(lines: list[Line]) -> str | None:
    """The path of the last sound Relais played, for the page's player."""
    audio = f"{services().settings.public_url}/audio/"
    played = [line.sound for line in lines if line.sound]
    return "/audio/" + played[-1].removeprefix(audio) if played else None
