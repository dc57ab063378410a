"""A call or SMS exchange told in at most three short French sentences, for the mediator
who takes it: who and when, the subject and why a person is needed, what the person
chose and can do. The same text is spoken to the mediator before the call is put through.
"""

from __future__ import annotations

from datetime import datetime

from dialogues.engine import Engine, State
from relais.models import Turn
from relais.store import Exchange

from .hours import DAY_NAMES_FR, PARIS

MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def when_fr(at: datetime) -> str:
    local = at.astimezone(PARIS) if at.tzinfo else at.replace(tzinfo=PARIS)
    return (
        f"{DAY_NAMES_FR[local.weekday()]} {local.day} {MONTHS_FR[local.month - 1]} "
        f"à {local.hour} h {local.minute:02d}"
    )


def summarise(engine: Engine, conversation: Exchange, turns: list[Turn], reason: str) -> str:
    state = State.from_dict(conversation.state)
    channel = "Appel" if conversation.channel == "voice" else "SMS"
    ending = conversation.person.phone[-2:]
    first = f"{channel} du numéro qui finit par {ending}, {when_fr(conversation.started_at)}."
    topic = engine.label(state.topic) if state.topic else "pas de sujet choisi"
    second = f"Sujet : {topic}. {reason}"
    chosen = [
        engine.label(t.recognised)
        for t in turns
        if t.recognised and not t.recognised.startswith("@") and t.kind in ("key", "words", "text")
    ]
    said = [f"« {t.raw} »" for t in turns if t.kind == "words" and t.raw]
    parts = []
    if chosen:
        parts.append("a choisi " + ", puis ".join(dict.fromkeys(chosen)))
    if said:
        parts.append("a dit " + ", ".join(said[-2:]))
    if state.autonomy is not None:
        parts.append("peut ouvrir un lien" if state.autonomy else "ne peut pas ouvrir de lien")
    if state.sent:
        titles = [engine.content.procedures[p].title for p in state.sent]
        parts.append("a reçu par SMS " + ", ".join(titles))
    third = ("La personne " + " ; ".join(parts) + ".") if parts else ""
    return " ".join(s for s in (first, second, third) if s)
