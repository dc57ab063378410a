"""Figures for the mediators: calls and SMS per day, how conversations ended, where callers
hang up, and the dialogue tree drawn by Graphviz with those counts. Charts are SVG drawn
by pygal, sized to be read on a phone as on a desk: whole legends under the chart, counts
on whole-number axes. Nothing here holds a phone number."""

from __future__ import annotations

import textwrap
from collections import Counter
from datetime import timedelta

import graphviz
import pygal
from pygal.style import CleanStyle
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import Conversation, Person, Turn, now
from dialogues.engine import Engine

from .words import Words

DAYS = 14
INPUTS = ("key", "words", "text", "no_input", "recording")
# The conversations counted: people's, not the dashboard simulator's.
REAL = Conversation.person.has(Person.sandbox.is_(False))
OUTCOMES = ("sent", "handoff", "ended", "hangup")  # how a conversation ended (else: going)
WIDTH = 420  # drawn at this width, shown at the page's: 390 px phones to desks
LABEL_WIDTH = 24  # characters on a line of a box of the diagram

STYLE = CleanStyle(
    font_family="system-ui, sans-serif",
    title_font_size=20,
    legend_font_size=18,
    label_font_size=16,
    major_label_font_size=16,
    value_font_size=18,
    no_data_font_size=24,
)


def per_day(session: Session) -> dict[str, Counter]:
    since = now() - timedelta(days=DAYS)
    rows = session.execute(
        select(func.date(Conversation.started_at), Conversation.channel, func.count())
        .where(Conversation.started_at >= since, REAL)
        .group_by(func.date(Conversation.started_at), Conversation.channel)
    )
    counts: dict[str, Counter] = {"voice": Counter(), "sms": Counter()}
    for day, channel, count in rows:
        counts[channel][str(day)] = count
    return counts


def outcomes(session: Session) -> Counter:
    """How many conversations ended each way (None: still going)."""
    rows = session.execute(
        select(Conversation.outcome, func.count()).where(REAL).group_by(Conversation.outcome)
    )
    return Counter(dict(rows.all()))


def hang_ups(session: Session) -> Counter:
    rows = session.execute(
        select(Conversation.end_node, func.count())
        .where(Conversation.status == "hangup", REAL)
        .group_by(Conversation.end_node)
    )
    return Counter({node: count for node, count in rows if node})


def visits(session: Session) -> Counter:
    """How many answers (or silences) were given at each node."""
    rows = session.execute(
        select(Turn.node, func.count())
        .where(Turn.kind.in_(INPUTS), Turn.conversation.has(REAL))
        .group_by(Turn.node)
    )
    return Counter({node: count for node, count in rows if node})


def whole_numbers(top: int, most: int = 5) -> list[int]:
    """The marks of an axis of counts: whole numbers from 0, at most `most` + 1 of them."""
    step = max(1, -(-top // most))
    return list(range(0, max(top, 1) + step, step))


def _chart(kind: type[pygal.Graph], words: Words, title: str, top: int, **config) -> pygal.Graph:
    settings = {
        "style": STYLE,
        "width": WIDTH,
        "title": title,
        "no_data_text": words("figures", "no_data"),
        "value_formatter": lambda value: f"{value:.0f}",
        "truncate_legend": -1,  # a legend is read whole ("passé à un médiateur")
        "truncate_label": -1,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 1,
        "print_values": True,  # each bar says its count (none on an empty day)
        "print_zeroes": False,
        "js": [],  # pygal's tooltips load a script from its site: none here
    }
    if top:  # (pygal fails on marks given to a chart with no data)
        settings["y_labels"] = whole_numbers(top)
    return kind(**(settings | config))


def charts(session: Session, engine: Engine, words: Words) -> dict[str, str]:
    """SVG charts, each with a title, for the statistics page."""
    days = [(now() - timedelta(days=n)).date().isoformat() for n in range(DAYS - 1, -1, -1)]
    daily = per_day(session)
    calls, texts = [daily["voice"][d] for d in days], [daily["sms"][d] for d in days]
    by_day = _chart(
        pygal.Bar,
        words,
        words("figures", "per_day", days=DAYS),
        max(calls + texts),
        height=420,
        x_label_rotation=60,
        legend_at_bottom_columns=2,
        print_values=False,  # too thin a bar for its number
    )
    by_day.x_labels = [f"{d[8:]}/{d[5:7]}" for d in days]  # 05/01: the French way
    by_day.add(words("figures", "calls"), calls)
    by_day.add(words("figures", "sms"), texts)

    ended = outcomes(session)
    ends = _chart(
        pygal.HorizontalBar,
        words,
        words("figures", "outcomes"),
        max(ended.values(), default=0),
        height=240 + 28 * len(ended),
    )
    for outcome, count in ended.most_common():
        ends.add(words("outcomes", outcome if outcome in OUTCOMES else "ongoing"), count)

    dropped = hang_ups(session).most_common(10)
    where = _chart(
        pygal.HorizontalBar,
        words,
        words("figures", "hang_ups"),
        max((count for _, count in dropped), default=0),
        height=240 + 28 * len(dropped),
    )
    for node, count in dropped:
        where.add(node_label(engine, words, node), count)
    return {
        "par_jour": by_day.render(is_unicode=True),
        "issues": ends.render(is_unicode=True),
        "raccrochent": where.render(is_unicode=True),
    }


def node_label(engine: Engine, words: Words, node_id: str) -> str:
    """How the mediators know a step of the menu: the content's label for it, else what
    the step says, never its id."""
    content = engine.content
    if node_id == content.start:
        return words("diagram", "start")
    label = engine.label(node_id)
    if label != node_id or node_id not in content.nodes:
        return label
    node = content.nodes[node_id]
    return node.text or words("diagram", "handoff")


def diagram(session: Session, engine: Engine, words: Words) -> str:
    """The dialogue tree as SVG, from left to right (each level of the menu is a column,
    its steps one under the other): each step with how many answers were given there and
    how many callers hung up there. Steps are named n1, n2... in the SVG, never by the
    content's ids."""
    seen, dropped = visits(session), hang_ups(session)
    graph = graphviz.Digraph(
        graph_attr={"rankdir": "LR", "fontname": "sans-serif"},
        node_attr={"shape": "box", "style": "rounded", "fontname": "sans-serif"},
        edge_attr={"fontname": "sans-serif"},
    )
    nodes = engine.content.nodes
    names: dict[str, str] = {}

    def name(target: str) -> str:
        if target not in names:
            names[target] = f"n{len(names) + 1}"
            # French puts a space before "?": it stays with the word before it.
            label = node_label(engine, words, target).replace(" ?", "\u00a0?")
            lines = textwrap.wrap(label, LABEL_WIDTH)
            if target in nodes:
                lines.append(words.count("diagram", "answers", seen[target]))
            if dropped[target]:
                lines.append(words.count("diagram", "hang_ups", dropped[target]))
            color = "#9a3412" if dropped[target] else "#0b5cad"
            graph.node(names[target], "\n".join(lines), color=color)
        return names[target]

    start = engine.content.start
    for node in nodes.values():
        for choice in node.choices:
            # "back to the menu" does not make the menu a step of this one
            back = "false" if choice.goto == start else "true"
            graph.edge(name(node.id), name(choice.goto), label=choice.key or "", constraint=back)
        if node.next:
            graph.edge(name(node.id), name(node.next), style="dashed")
    # Steps no menu leads to ("Voulez-vous autre chose ?" after a procedure) go last.
    reached = {c.goto for n in nodes.values() for c in n.choices}
    reached |= {n.next for n in nodes.values() if n.next}
    with graph.subgraph() as last:
        last.attr(rank="sink")
        for node_id in sorted(nodes.keys() - reached - {start}):
            last.node(name(node_id))
    for node_id in nodes:  # and those with no way in or out
        name(node_id)
    return graph.pipe(format="svg", encoding="utf-8")
