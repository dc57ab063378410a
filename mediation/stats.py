"""Figures for the mediators: calls and SMS per day, how conversations ended, where callers
hang up, and the dialogue tree drawn by Graphviz with those counts. Charts are SVG drawn
by pygal; nothing here holds a phone number."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import graphviz
import pygal
from pygal.config import Config
from pygal.style import CleanStyle
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import Conversation, Turn, now
from dialogues.engine import Engine

DAYS = 14
OUTCOMES_FR = {
    "sent": "lien envoyé",
    "handoff": "vers un médiateur",
    "ended": "terminé",
    "hangup": "a raccroché",
    None: "en cours",
}
INPUTS = ("key", "words", "text", "no_input", "recording")


def per_day(session: Session) -> dict[str, Counter]:
    since = now() - timedelta(days=DAYS)
    rows = session.execute(
        select(func.date(Conversation.started_at), Conversation.channel, func.count())
        .where(Conversation.started_at >= since)
        .group_by(func.date(Conversation.started_at), Conversation.channel)
    )
    counts: dict[str, Counter] = {"voice": Counter(), "sms": Counter()}
    for day, channel, count in rows:
        counts[channel][str(day)] = count
    return counts


def outcomes(session: Session) -> Counter:
    rows = session.execute(
        select(Conversation.outcome, func.count()).group_by(Conversation.outcome)
    )
    return Counter({OUTCOMES_FR.get(outcome, outcome): count for outcome, count in rows})


def hang_ups(session: Session) -> Counter:
    rows = session.execute(
        select(Conversation.end_node, func.count())
        .where(Conversation.status == "hangup")
        .group_by(Conversation.end_node)
    )
    return Counter({node: count for node, count in rows if node})


def visits(session: Session) -> Counter:
    """How many answers (or silences) were given at each node."""
    rows = session.execute(
        select(Turn.node, func.count()).where(Turn.kind.in_(INPUTS)).group_by(Turn.node)
    )
    return Counter({node: count for node, count in rows if node})


def _config(title: str, height: int) -> Config:
    return Config(
        style=CleanStyle,
        height=height,
        title=title,
        no_data_text="Aucune donnée",
        x_label_rotation=45,
    )


def _chart(chart: pygal.Graph) -> str:
    chart.config.js = []  # pygal's tooltips load a script from its site: none here
    return chart.render(is_unicode=True)


def charts(session: Session, engine: Engine) -> dict[str, str]:
    """SVG charts, each with a title, for the statistics page."""
    days = [(now() - timedelta(days=n)).date().isoformat() for n in range(DAYS - 1, -1, -1)]
    daily = per_day(session)
    by_day = pygal.Bar(
        style=CleanStyle,
        height=320,
        x_label_rotation=45,
        title=f"Appels et SMS par jour ({DAYS} derniers jours)",
    )
    by_day.x_labels = [d[5:] for d in days]
    by_day.add("Appels", [daily["voice"][d] for d in days])
    by_day.add("SMS", [daily["sms"][d] for d in days])
    ends = pygal.HorizontalBar(
        style=CleanStyle, height=300, title="Comment se terminent les échanges"
    )
    for label, count in outcomes(session).most_common():
        ends.add(label, count)
    dropped = pygal.HorizontalBar(
        style=CleanStyle, height=340, title="Où les appelants raccrochent"
    )
    for node, count in hang_ups(session).most_common(10):
        dropped.add(engine.label(node), count)
    return {"par_jour": _chart(by_day), "issues": _chart(ends), "raccrochent": _chart(dropped)}


def diagram(session: Session, engine: Engine) -> str:
    """The dialogue tree as SVG: each node with how many answers were given there and how
    many callers hung up there."""
    seen, dropped = visits(session), hang_ups(session)
    graph = graphviz.Digraph(
        graph_attr={"rankdir": "LR", "fontname": "sans-serif"},
        node_attr={"shape": "box", "style": "rounded", "fontname": "sans-serif"},
    )
    for node in engine.content.nodes.values():
        name = engine.label(node.id) if node.id != engine.content.start else "accueil"
        label = f"{name}\n{seen[node.id]} réponses"
        if dropped[node.id]:
            label += f", {dropped[node.id]} raccrochent"
        color = "#9a3412" if dropped[node.id] else "#0b5cad"
        graph.node(node.id, label, color=color)
        for choice in node.choices:
            graph.edge(node.id, choice.goto, label=choice.key or "")
        if node.next:
            graph.edge(node.id, node.next, style="dashed")
    return graph.pipe(format="svg", encoding="utf-8")
