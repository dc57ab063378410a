"""Loading and checking one language's content folder.

`check_content` finds every problem it can (each with file, line and reason, in words a
content author understands) and `load_content` refuses content with any error. The files:

- dialogue.yaml    start, after_procedure, nodes
- procedures.yaml  procedures
- places.yaml      places (help desks)
- language.yaml    commands, answers, phrases, pronunciations, reading (how words are read)
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict
from urllib.parse import urlsplit

from .danger import AGAIN, NOW, STILL
from .matching import Matcher
from .messages import CHECKS, Messages, load_messages
from .model import (
    COMMANDS,
    NODE_TYPES,
    Choice,
    Command,
    Content,
    Danger,
    EndNode,
    Example,
    HandoffNode,
    MessageNode,
    Node,
    Phone,
    Place,
    Procedure,
    ProcedureNode,
    QuestionNode,
    VoiceSettings,
)
from .normalise import Reading, words_of
from .procedure_text import procedure_sms, written_phone
from .pronounce import spelt_out
from .sms_encoding import PLAIN, sms_size, to_gsm7, ucs2_characters
from .source import ContentError, LocatedList, LocatedMap, Problem, problem, read_yaml
from .texted import FOLDER as TEXTED
from .texted import read_texted


class NodeFields(TypedDict):
    """What every node has, wherever it is read."""

    id: str
    file: str
    line: int


FILES = ("dialogue.yaml", "procedures.yaml", "places.yaml", "language.yaml")
DANGER_FILE = "danger.yaml"  # optional: without it, no danger route (a warning says so)
MAX_MENU_KEYS = 4  # a voice menu never reads more than 4 choices
MAX_SPOKEN_WORDS = 15  # a spoken sentence longer than this is hard to follow
MAX_SMS_SEGMENTS = 2
CHOICE_KEYS = tuple("123456789")  # 0, * and # belong to the global commands

# Phrases the engine says in every dialogue, with the values each one is given.
PHRASES: dict[str, tuple[str, ...]] = {
    "choice_voice": ("key", "label"),
    "choice_sms": ("key", "label"),
    "sms_hint": (),
    "no_input": (),
    "no_match": (),
    "human_label": (),
    "which_one": (),
    "understood": ("label",),
    "understood_followup": ("label",),
    "followup_person": (),
    "reason_followup": ("title",),
    "danger_label": (),
    "closing": (),
    "repeat_label": (),
    "back_label": (),
    "menu_label": (),
    "cannot_read_sms": (),
    "cannot_read_voice": (),
    "reason_cannot_read": (),
    "listen_label": (),
    "papers_intro": (),
    "phone_again": ("number",),
    "replay_hint": (),
    "autonomy_alone": (),
    "autonomy_helped": (),
    "autonomy_none": (),
    "help_nearby": (),
    "no_place_sms": (),
    "place_phone": ("phone",),
    "confirm": ("label",),
    "autonomy": (),
    "sms_sent": (),
    "no_link": (),
    "phone_label": (),
    "place_label": (),
    "phone_line": ("number", "cost"),
    "place": ("name", "address", "hours"),
    "no_place": (),
    "content_changed": (),
    "handoff": (),
    "goodbye": (),
    "reason_asked": (),
    "reason_stuck": (),
    "reason_no_link": ("title",),
    "number_ask": (),
    "number_confirm": ("number",),
    "callback": ("when",),
    "callback_asap": (),
    "callback_now": (),
    "callback_today": ("hour",),
    "callback_tomorrow": ("hour",),
    "callback_day": ("day", "hour"),
    "hour": ("hour",),
    "hour_minutes": ("hour", "minutes"),
    "day": ("weekday", "day", "month"),
    "day_first": ("weekday", "month"),
    "clock": ("day", "hour", "minutes"),
    "weekdays": (),
    "months": (),
    "nobody_free": (),
    "voicemail_invite": (),
    "voicemail_thanks": (),
    "whisper_accept": (),
    "callback_sms": ("when",),
    "sms_help": (),
    "sms_empty": (),
    "sms_stop": (),
    "sms_start": (),
    "unavailable": (),
    "unavailable_line": ("number",),
    "sms_unavailable": (),
    "ring_back_hello": (),
    "ring_back_machine": (),
    "bridge_intro": (),
    "bridge_calling": (),
    "no_mediator": (),
    "no_mediator_sms": (),
    "urgent_alert": (),
    "whisper_urgent": (),
    "summary_start": ("channel", "ending", "when"),
    "summary_call": (),
    "summary_sms": (),
    "summary_topic": ("topic", "reason"),
    "summary_no_topic": (),
    "summary_person": ("facts",),
    "summary_chose": ("choices",),
    "summary_then": (),
    "summary_said": ("words",),
    "summary_quote": ("words",),
    "summary_and": ("first", "next"),
    "summary_alone": (),
    "summary_helped": (),
    "summary_no_link": (),
    "summary_sent": ("titles",),
    "line_welcome": (),
    "line_pin_again": (),
    "line_pin_wrong": (),
    "line_locked": ("minutes",),
    "line_empty": (),
    "line_restart": (),
    "line_request": ("position", "count", "summary"),
    "line_keys": (),
    "line_calling": (),
    "sms_documents": ("documents",),
    "sms_phone": ("number", "cost"),
}
WORD_LISTS = {"weekdays": 7, "months": 12}  # phrases that are lists of words, in order
ANSWERS = ("yes", "no")
SMS_WORD_KINDS = ("stop", "help")  # language.yaml's sms_words
# language.yaml's reading (see normalise.Reading)
_READING_FIELDS = {f.name for f in dataclasses.fields(Reading) if not f.name.startswith("_")}

_FIELDS = {
    "question": {"type", "topic", "prompt", "simple", "choices", "examples"},
    "message": {"type", "topic", "text", "next", "examples"},
    "procedure": {"type", "procedure", "next"},
    "handoff": {"type", "topic", "text", "reason", "examples"},
    "end": {"type", "text"},
}
_CHOICE_FIELDS = {"key", "label", "words", "goto"}
_PROCEDURE_FIELDS = {
    "topic",
    "title",
    "keywords",
    "old_names",
    "url",
    "phone",
    "documents",
    "steps",
    "voice",
    "sms_title",
    "warning",
    "examples",
    "followup",
}
_FOLLOWUP_FIELDS = {"examples", "text"}
MIN_EXAMPLES = 5  # a procedure needs at least this many examples of what people say
_PLACE_FIELDS = {"name", "address", "hours", "phone", "topics"}
# An acronym's explanation counts when it comes before the acronym's first use, or starts
# within this many characters after it: "RSA (revenu...", "le RSA, c'est le revenu...".
ACRONYM_WINDOW = 40
# What a person must not read: "EUR" and "€" (write "euros"), "+" (write "et").
_NOT_FOR_PEOPLE = re.compile(r"\bEUR\b|€| \+ ")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


# danger.yaml's times that are lists of words, not moments: {count}, {unit}, {month}, and
# how a year said in words starts ("deux mille") and goes on ("quinze").
TIME_SLOTS = ("count", "unit", "month", "year", "year_words")


def time_pattern(phrase: str, slots: dict[str, str]) -> str:
    """One phrase of a moment as a regular expression on plain words: "il y a {count}
    {unit}", "l ete/hiver dernier" (KeyError for an unknown slot)."""
    out = []
    for word in phrase.split():
        if word.startswith("{") and word.endswith("}"):
            out.append(slots[word[1:-1]])
        else:
            choices = [" ".join(words_of(w)) for w in word.split("/")]
            out.append("(?:" + "|".join(map(re.escape, choices)) + ")")
    return " ".join(out)


class _Checker:
    def __init__(self, directory: Path, say: Messages):
        self.directory = directory
        self.say = say
        self.problems: list[Problem] = []

    # -- reporting --------------------------------------------------------------------
    def error(
        self, where: LocatedMap | LocatedList, line: int, key: str, /, **values: object
    ) -> None:
        """An error whose reason is the message `key` of checks.yaml."""
        self.problems.append(problem(self.say, where.file, line, key, "error", **values))

    def warn(
        self, where: LocatedMap | LocatedList, line: int, key: str, /, **values: object
    ) -> None:
        self.problems.append(problem(self.say, where.file, line, key, "warning", **values))

    # -- typed field access -----------------------------------------------------------
    def unknown_fields(self, block: LocatedMap, allowed: set[str], what: str) -> None:
        for key in block:
            if key not in allowed:
                self.error(
                    block,
                    block.line_of(key),
                    "fields.unknown",
                    what=what,
                    key=key,
                    allowed=", ".join(sorted(allowed)),
                )

    def text(self, block: LocatedMap, key: str, what: str, required: bool = True) -> str:
        value = block.get(key)
        if value is None or value == "":
            if required:
                self.error(block, block.line, "fields.no_text", what=what, key=key)
            return ""
        if isinstance(value, bool):
            self.error(block, block.line_of(key), "fields.quote_text", what=what, key=key)
            return ""
        if not isinstance(value, str | int | float):
            self.error(block, block.line_of(key), "fields.not_text", what=what, key=key)
            return ""
        return str(value).strip()

    def texts(self, block: LocatedMap, key: str, what: str) -> tuple[str, ...]:
        value = block.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.error(block, block.line_of(key), "fields.not_list", what=what, key=key)
            return ()
        out = []
        for index, item in enumerate(value):
            line = value.line_of(index) if isinstance(value, LocatedList) else block.line
            if isinstance(item, bool) or not isinstance(item, str | int):
                self.error(block, line, "fields.quote_item", what=what, key=key)
            elif str(item).strip():
                out.append(str(item).strip())
        return tuple(out)

    def located_texts(self, block: LocatedMap, key: str, what: str) -> list[tuple[str, int]]:
        """The texts of a list, each with its line."""
        value = block.get(key)
        texts = self.texts(block, key, what)
        if not isinstance(value, LocatedList):
            return [(text, block.line_of(key)) for text in texts]
        lines = [value.line_of(i) for i, item in enumerate(value) if str(item).strip()]
        return list(zip(texts, lines, strict=False))

    def mapping(self, block: LocatedMap, key: str, what: str) -> LocatedMap:
        value = block.get(key)
        if value is None:
            empty = LocatedMap()
            empty.file, empty.line = block.file, block.line
            return empty
        if not isinstance(value, LocatedMap):
            self.error(block, block.line_of(key), "fields.not_block", what=what, key=key)
            empty = LocatedMap()
            empty.file, empty.line = block.file, block.line_of(key)
            return empty
        return value

    def entries(self, block: LocatedMap, key: str, what: str) -> Iterator[tuple[str, LocatedMap]]:
        """The named blocks under `key`; each block's line becomes the line of its name."""
        parent = self.mapping(block, key, what)
        for name, value in parent.items():
            if isinstance(value, LocatedMap):
                value.line = parent.line_of(name)
                yield str(name), value
            else:
                self.error(block, parent.line_of(name), "fields.not_entry", what=what, name=name)

    def spoken(self, block: LocatedMap, key: str, text: str, what: str) -> None:
        for sentence in sentences(text):
            count = len(sentence.split())
            if count > MAX_SPOKEN_WORDS:
                self.warn(
                    block,
                    block.line_of(key),
                    "fields.long_sentence",
                    what=what,
                    count=count,
                    most=MAX_SPOKEN_WORDS,
                    sentence=sentence,
                )

    # -- files ------------------------------------------------------------------------
    def read(self, name: str) -> LocatedMap | None:
        path = self.directory / name
        shown = f"{self.directory.name}/{name}"
        if not path.is_file():
            self.problems.append(problem(self.say, shown, 1, "yaml.missing"))
            return None
        try:
            return read_yaml(path, shown, self.say)
        except ContentError as exc:
            self.problems.extend(exc.problems)
            return None

    def run(self) -> Content | None:
        read = {name: self.read(name) for name in FILES}
        files = {name: data for name, data in read.items() if data is not None}
        if len(files) < len(read):
            return None
        dialogue, catalogue = files["dialogue.yaml"], files["procedures.yaml"]
        places_file, language = files["places.yaml"], files["language.yaml"]
        the_file = self.say("what.file")
        self.unknown_fields(dialogue, {"start", "after_procedure", "nodes"}, the_file)
        self.unknown_fields(catalogue, {"procedures"}, the_file)
        self.unknown_fields(places_file, {"places"}, the_file)
        self.unknown_fields(
            language,
            {
                "commands",
                "answers",
                "phrases",
                "pronunciations",
                "decoys",
                "closings",
                "cannot_read",
                "sms_words",
                "costs",
                "acronyms",
                "reading",
                "paper_small_words",
                "voice",
            },
            the_file,
        )
        phrases = self.phrases(language)
        commands, answers = self.commands(language)
        self.costs = self.cost_kinds(language)
        self.acronyms = self.acronym_table(language)
        self.paper_small_words = self.texts(language, "paper_small_words", "language.yaml")
        procedure_blocks = dict(
            self.entries(catalogue, "procedures", self.say("what.procedure_entry"))
        )
        procedures = {pid: self.procedure(pid, b, phrases) for pid, b in procedure_blocks.items()}
        places = tuple(
            self.place(pid, b)
            for pid, b in self.entries(places_file, "places", self.say("what.place_entry"))
        )
        node_blocks = dict(self.entries(dialogue, "nodes", self.say("what.node_entry")))
        read_nodes = {nid: self.node(nid, b, procedures) for nid, b in node_blocks.items()}
        nodes = {nid: node for nid, node in read_nodes.items() if node is not None}
        examples = self.examples(procedure_blocks, node_blocks, nodes)
        start = self.text(dialogue, "start", the_file)
        texted, problems = read_texted(self.directory, self.say, nodes)
        self.problems += problems
        after = self.text(dialogue, "after_procedure", the_file)
        for key, target in (("start", start), ("after_procedure", after)):
            if target and target not in nodes:
                self.error(
                    dialogue, dialogue.line_of(key), "dialogue.no_node", key=key, target=target
                )
        if start in nodes and nodes[start].type != "question":
            self.error(dialogue, dialogue.line_of("start"), "dialogue.start_not_question")
        self.links(nodes, procedures, after)
        if start in nodes and (after in nodes or not after):
            self.reachability(dialogue, nodes, start, after)
        table = self.mapping(language, "pronunciations", "language.yaml")
        said_as = self.say("what.pronunciation")
        pronunciations = {str(k): self.text(table, k, said_as) for k in table}
        content = Content(
            lang=self.directory.name,
            version=self.version(),
            start=start,
            after_procedure=after,
            nodes=nodes,
            procedures=procedures,
            places=places,
            commands=commands,
            answers=answers,
            phrases=phrases,
            pronunciations=pronunciations,
            decoys=self.texts(language, "decoys", "language.yaml"),
            **self.dangers(),
            closings=self.texts(language, "closings", "language.yaml"),
            cannot_read=self.texts(language, "cannot_read", "language.yaml"),
            sms_words=self.sms_words(language),
            examples=examples,
            texted=tuple(texted),
            reading=self.reading(language),
            voice=self.voice(language),
        )
        if not any(p.severity == "error" for p in self.problems):
            self.sms_menus(content)
            self.labels(content)
            self.clashes(content)
            self.spelt_out(content, language)
            self.acronyms_explained(content, catalogue)
            self.examples_understood(content)
        content.warnings = [p for p in self.problems if p.severity == "warning"]
        return content

    def version(self) -> str:
        digest = hashlib.sha256()
        texted = sorted((self.directory / TEXTED).glob("*.tsv"))
        for path in [*(self.directory / name for name in (*FILES, DANGER_FILE)), *texted]:
            if path.is_file():
                digest.update(path.read_bytes())
        return digest.hexdigest()[:12]

    # -- examples ---------------------------------------------------------------------
    def examples(
        self,
        procedure_blocks: dict[str, LocatedMap],
        node_blocks: dict[str, LocatedMap],
        nodes: dict[str, Node],
    ) -> tuple[Example, ...]:
        """What people say about each place: a node's own examples, and for a procedure
        node its procedure's examples and follow-up examples."""
        shown = {
            n.procedure: n.id
            for n in reversed(list(nodes.values()))
            if isinstance(n, ProcedureNode)
        }
        out: list[Example] = []
        for pid, block in procedure_blocks.items():
            if pid not in shown:
                continue
            what = self.say("what.procedure", id=pid)
            for text, line in self.located_texts(block, "examples", what):
                out.append(Example(text, shown[pid], False, block.file, line))
            followup = block.get("followup")
            if isinstance(followup, LocatedMap):
                for text, line in self.located_texts(followup, "examples", what):
                    out.append(Example(text, shown[pid], True, block.file, line))
        for nid, block in node_blocks.items():
            if nid in nodes:
                what = self.say("what.node", id=nid)
                for text, line in self.located_texts(block, "examples", what):
                    out.append(Example(text, nid, False, block.file, line))
        return tuple(out)

    def examples_understood(self, content: Content) -> None:
        """Each example leads to its own place once the model is trained on all of them,
        and none is taken for a danger by its phrases (the examples are ordinary messages:
        a person writing one would get an emergency line)."""
        from .engine import Engine

        engine = Engine(content)
        understanding = engine.understanding
        for example in content.examples:
            danger = engine.danger_phrase(example.text)
            if danger is not None:
                self.problems.append(
                    problem(
                        self.say,
                        example.file,
                        example.line,
                        "examples.danger",
                        "warning",
                        text=example.text,
                        line=danger.lines[0],
                    )
                )
            found = understanding.understand(example.text)
            wanted = understanding.place(example.target)
            if found.matched == wanted and found.followup == example.followup:
                continue
            if found.matched is None:
                got = self.say("examples.nothing_sure")
            else:
                got = self._place(found.matched, found.followup)
            self.problems.append(
                problem(
                    self.say,
                    example.file,
                    example.line,
                    "examples.misled",
                    "warning",
                    text=example.text,
                    got=got,
                    wanted=self._place(wanted, example.followup),
                )
            )

    def _place(self, place: str | None, followup: bool) -> str:
        return self.say("examples.followup_place" if followup else "examples.place", place=place)

    # -- danger.yaml ------------------------------------------------------------------
    def dangers(self) -> dict:
        """The situations of danger and the words never taken for one another, as the
        `dangers` and `distinct` fields of the content."""
        if not (self.directory / DANGER_FILE).is_file():
            self.problems.append(
                problem(
                    self.say, f"{self.directory.name}/{DANGER_FILE}", 1, "danger.no_file", "warning"
                )
            )
            return {}
        block = self.read(DANGER_FILE)
        if block is None:
            return {}
        self.unknown_fields(
            block,
            {"situations", "distinct", "ordinary", "harmless", "never_skipped", "times"},
            DANGER_FILE,
        )
        times = self.times(block)
        found, entries = [], []
        for did, entry in self.entries(block, "situations", self.say("what.situation_entry")):
            entries.append(entry)
            what = self.say("what.situation", id=did)
            self.unknown_fields(
                entry,
                {"lines", "say", "sms", "reason", "phrases", "examples", "not_when", "for_a_minor"},
                what,
            )
            not_when = self.texts(entry, "not_when", what)
            for kind in not_when:
                if kind in (NOW, AGAIN, STILL) or kind not in times:
                    known = ", ".join(sorted(set(times) - {NOW, AGAIN, STILL}))
                    self.error(
                        entry,
                        entry.line_of("not_when"),
                        "danger.not_a_time",
                        what=what,
                        kind=kind,
                        known=known or self.say("danger.no_times"),
                    )
            lines = self.texts(entry, "lines", what)
            if not lines:
                self.error(entry, entry.line, "danger.no_lines", what=what)
            for number in lines:
                if not number.isdigit():
                    self.error(
                        entry, entry.line_of("lines"), "danger.digits", what=what, number=number
                    )
            say, sms = self.text(entry, "say", what), self.text(entry, "sms", what)
            self.spoken(entry, "say", say, what)
            self.check_sms(entry, "sms", sms, what)
            for key, text in (("say", say), ("sms", sms)):
                said = text.replace(" ", "")
                if lines and lines[0] not in said:
                    self.error(
                        entry,
                        entry.line_of(key),
                        "danger.give_line",
                        what=what,
                        key=key,
                        number=lines[0],
                    )
            phrases = self.texts(entry, "phrases", what)
            if not phrases:
                self.error(entry, entry.line, "danger.no_phrases", what=what)
            found.append(
                Danger(
                    id=did,
                    lines=lines,
                    say=say,
                    sms=sms,
                    reason=self.text(entry, "reason", what),
                    phrases=phrases,
                    line=entry.line_of("phrases"),
                    examples=self.texts(entry, "examples", what),
                    not_when=not_when,
                    for_a_minor=self.text(entry, "for_a_minor", what, required=False),
                )
            )
        situations = {d.id for d in found}
        for danger, entry in zip(found, entries, strict=True):
            if danger.for_a_minor and danger.for_a_minor not in situations:
                self.error(
                    entry,
                    entry.line_of("for_a_minor"),
                    "danger.for_a_minor",
                    what=self.say("what.situation", id=danger.id),
                    other=danger.for_a_minor,
                    known=", ".join(sorted(situations)),
                )
        return {
            "dangers": tuple(found),
            "distinct": self.distinct(block),
            "ordinary": self.texts(block, "ordinary", DANGER_FILE),
            "harmless": self.texts(block, "harmless", DANGER_FILE),
            "never_skipped": self.texts(block, "never_skipped", DANGER_FILE),
            "times": times,
        }

    def times(self, block: LocatedMap) -> dict[str, str]:
        """Each kind of moment of danger.yaml's `times` as a regular expression on plain
        words: its phrases, their slots ({count}, {unit}, {month}, {year}) filled, and
        "a/b" for one word or the other."""
        times = self.mapping(block, "times", DANGER_FILE)
        slots = {}
        for slot in TIME_SLOTS:
            words = sorted({" ".join(words_of(w)) for w in self.texts(times, slot, "times")})
            escaped = list(map(re.escape, words)) or ["(?!)"]  # none: never said
            if slot == "count":  # a number in digits always counts
                escaped.insert(0, r"\d+")
            slots[slot] = "(?:" + "|".join(escaped) + ")"
        # A year in digits, or said in words: its start, then number words.
        said = slots.pop("year") + "(?: " + slots.pop("year_words") + ")*"
        slots["year"] = r"(?:(?:19|20)\d\d|" + said + ")"
        out = {}
        for kind in (k for k in times if k not in TIME_SLOTS):
            patterns = []
            for phrase, line in self.located_texts(times, kind, "times"):
                try:
                    patterns.append(time_pattern(phrase, slots))
                except KeyError as exc:
                    self.error(
                        times,
                        line,
                        "danger.time_slot",
                        kind=kind,
                        phrase=phrase,
                        slot=exc,
                        slots=", ".join("{" + s + "}" for s in slots),
                    )
            if patterns:
                out[kind] = r"\b(?:" + "|".join(patterns) + r")\b"
        return out

    def distinct(self, block: LocatedMap) -> tuple[tuple[str, str], ...]:
        """Pairs of words that look alike but mean different things ("volé", "violé")."""
        pairs = block.get("distinct") or []
        out = []
        for index, pair in enumerate(pairs):
            if not (isinstance(pair, list) and len(pair) == 2):
                line = pairs.line_of(index) if isinstance(pairs, LocatedList) else block.line
                self.error(block, line, "danger.distinct")
                continue
            out.append((str(pair[0]), str(pair[1])))
        return tuple(out)

    # -- language.yaml ----------------------------------------------------------------
    def voice(self, language: LocatedMap) -> VoiceSettings:
        """How Relais's voice speaks the language; the language's code where not said."""
        block = self.mapping(language, "voice", "language.yaml")
        self.unknown_fields(block, {"say_language", "say_voice", "espeak"}, "voice")
        lang = self.directory.name
        return VoiceSettings(
            say_language=self.text(block, "say_language", "voice", required=False) or lang,
            say_voice=self.text(block, "say_voice", "voice", required=False),
            espeak=self.text(block, "espeak", "voice", required=False) or lang,
        )

    def phrases(self, language: LocatedMap) -> dict[str, str]:
        block = self.mapping(language, "phrases", "language.yaml")
        self.unknown_fields(block, set(PHRASES), "phrases")
        out = {}
        for name, fields in PHRASES.items():
            what = self.say("what.phrase", id=name)
            if name in block:
                text = self.text(block, name, what)
            else:
                self.error(block, block.line, "language.phrase_missing", id=name)
                text = ""
            try:
                text.format(**dict.fromkeys(fields, "x"))
            except (KeyError, IndexError, ValueError) as exc:
                self.error(
                    block,
                    block.line_of(name),
                    "language.phrase_braces",
                    id=name,
                    reason=exc,
                    fields=", ".join("{" + f + "}" for f in fields)
                    or self.say("language.no_fields"),
                )
            self.spoken(block, name, text, what)
            out[name] = text
        for name, count in WORD_LISTS.items():
            if name in block and len(out[name].split()) != count:
                self.error(block, block.line_of(name), "language.word_count", id=name, count=count)
        return out

    def reading(self, language: LocatedMap) -> Reading:
        """How the language's words are read for matching (its `reading` block); without
        it, every word as written."""
        block = self.mapping(language, "reading", self.say("what.file"))
        self.unknown_fields(block, _READING_FIELDS, "reading")

        def words(key: str) -> frozenset[str]:
            return frozenset(" ".join(words_of(w)) for w in self.texts(block, key, "reading"))

        joined = []
        for pair in self.located_texts(block, "joined", "reading"):
            written = words_of(pair[0])
            if len(written) == 2:
                joined.append((written[0], written[1]))
            else:
                self.error(block, pair[1], "language.joined")
        return Reading(
            shorthands=self.shorthands(block),
            small_words=words("small_words"),
            negations=words("negations"),
            not_negation_after=words("not_negation_after"),
            kept_small_words=words("kept_small_words"),
            shading_words=words("shading_words"),
            hesitations=words("hesitations"),
            elided=tuple(sorted(words("elided"), key=lambda w: (-len(w), w))),
            not_glued=words("not_glued"),
            joined=frozenset(joined),
            abbreviations=self.count(block, "abbreviations", 0),
            short=self.count(block, "short", 0),
            short_rules=self.rules(block, "short_rules"),
            sound_rules=self.rules(block, "sound_rules"),
            silent_endings=self.rules(block, "silent_endings"),
            keep_at_least=self.count(block, "keep_at_least", 1),
            last_rules=self.rules(block, "last_rules"),
        )

    def shorthands(self, block: LocatedMap) -> frozenset[tuple[str, str]]:
        """SMS shorthands: one written word, and the words it stands for."""
        table = self.mapping(block, "shorthands", "reading")
        out = set()
        for key, value in table.items():
            written, full = words_of(str(key)), words_of(str(value or ""))
            if len(written) != 1 or not full:
                self.error(table, table.line_of(key), "language.shorthands")
                continue
            out.add((written[0], " ".join(full)))
        return frozenset(out)

    def rules(self, block: LocatedMap, key: str) -> tuple[tuple[str, str], ...]:
        """Rewrite rules: pairs of a regular expression and what replaces it."""
        value = block.get(key) or []
        out = []
        for index, pair in enumerate(value if isinstance(value, list) else [value]):
            line = value.line_of(index) if isinstance(value, LocatedList) else block.line_of(key)
            if not (isinstance(pair, list) and len(pair) == 2):
                self.error(block, line, "language.rules", key=key)
                continue
            pattern, replacement = str(pair[0]), "" if pair[1] is None else str(pair[1])
            try:
                re.compile(pattern).sub(replacement, "")
            except re.error as exc:
                self.error(block, line, "language.bad_rule", key=key, pattern=pattern, reason=exc)
                continue
            out.append((pattern, replacement))
        return tuple(out)

    def count(self, block: LocatedMap, key: str, default: int) -> int:
        value = block.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.error(block, block.line_of(key), "fields.not_whole", key=key)
            return default
        return value

    def sms_words(self, language: LocatedMap) -> dict[str, frozenset[str]]:
        """The whole messages that stop Relais's SMS or ask for help, per kind, as their
        plain words."""
        block = self.mapping(language, "sms_words", self.say("what.file"))
        self.unknown_fields(block, set(SMS_WORD_KINDS), "sms_words")
        return {
            kind: frozenset(" ".join(words_of(w)) for w in self.texts(block, kind, "sms_words"))
            for kind in SMS_WORD_KINDS
        }

    def commands(self, language: LocatedMap) -> tuple[dict[str, Command], dict[str, tuple]]:
        block = self.mapping(language, "commands", self.say("what.file"))
        self.unknown_fields(block, set(COMMANDS), "commands")
        commands = {}
        for name in COMMANDS:
            what = self.say("what.command", id=name)
            entry = self.mapping(block, name, "commands")
            if name not in block:
                self.error(block, block.line, "language.command_missing", what=what)
            self.unknown_fields(entry, {"keys", "words", "alone"}, what)
            keys = self.texts(entry, "keys", what)
            for key in keys:
                if key not in ("0", "*", "#"):
                    self.error(
                        entry, entry.line_of("keys"), "language.command_key", what=what, key=key
                    )
            words = self.texts(entry, "words", what)
            if name in block and not words:
                self.error(entry, entry.line, "language.no_words", what=what)
            alone = self.texts(entry, "alone", what)
            commands[name] = Command(name, keys, words, entry.line_of("words"), alone)
        answers_block = self.mapping(language, "answers", self.say("what.file"))
        self.unknown_fields(answers_block, set(ANSWERS), "answers")
        answers = {}
        for name in ANSWERS:
            what = self.say("what.answer", id=name)
            answers[name] = self.texts(answers_block, name, what)
            if not answers[name]:
                self.error(answers_block, answers_block.line, "language.answer_no_words", what=what)
        return commands, answers

    def cost_kinds(self, language: LocatedMap) -> dict[str, str]:
        """The few kinds of price of a phone line (`costs`), each with its one wording."""
        block = self.mapping(language, "costs", self.say("what.file"))
        kinds = {}
        for kind in block:
            what = self.say("what.cost", id=kind)
            wording = self.text(block, kind, what)
            if _NOT_FOR_PEOPLE.search(wording):
                self.error(block, block.line_of(kind), "fields.symbols", what=what)
            kinds[str(kind)] = wording
        return kinds

    def acronym_table(self, language: LocatedMap) -> dict[str, tuple[str, ...]]:
        """Each listed acronym with its plain explanations (the first one is suggested)."""
        block = self.mapping(language, "acronyms", self.say("what.file"))
        table = {}
        for acronym in block:
            what = self.say("what.acronym", id=acronym)
            explanations = self.texts(block, acronym, what)
            if not explanations:
                self.error(block, block.line_of(acronym), "language.no_explanation", what=what)
                continue
            table[str(acronym)] = explanations
        return table

    # -- procedures.yaml --------------------------------------------------------------
    def procedure(self, pid: str, block: LocatedMap, phrases: dict[str, str]) -> Procedure:
        what = self.say("what.procedure", id=pid)
        self.unknown_fields(block, _PROCEDURE_FIELDS, what)
        url = self.text(block, "url", what)
        parts = urlsplit(url)
        if url and (parts.scheme != "https" or not parts.netloc):
            self.error(block, block.line_of("url"), "procedures.https", what=what, url=url)
        phone = None
        if "phone" in block:
            phone = self.phone(
                self.mapping(block, "phone", what), self.say("what.phone", what=what)
            )
        steps = self.texts(block, "steps", what)
        if not 3 <= len(steps) <= 5:
            self.error(
                block, block.line_of("steps"), "procedures.steps", what=what, count=len(steps)
            )
        documents = self.texts(block, "documents", what)
        if not documents:
            self.error(block, block.line, "procedures.no_documents", what=what)
        keywords = self.texts(block, "keywords", what)
        if not keywords:
            self.error(block, block.line, "procedures.no_keywords", what=what)
        voice = self.text(block, "voice", what)
        self.spoken(block, "voice", voice, what)
        self.papers_not_in_voice(block, voice, documents, what)
        examples = self.located_texts(block, "examples", what)
        if "examples" in block and len(examples) < MIN_EXAMPLES:
            self.error(
                block,
                block.line_of("examples"),
                "procedures.few_examples",
                what=what,
                count=len(examples),
                least=MIN_EXAMPLES,
            )
        followup = self.mapping(block, "followup", what)
        of_followup = self.say("what.followup", what=what)
        self.unknown_fields(followup, _FOLLOWUP_FIELDS, of_followup)
        followup_text = ""
        if "followup" in block:
            named = self.say("what.followup_named", what=what)
            followup_text = self.text(followup, "text", named)
            self.spoken(followup, "text", followup_text, of_followup)
            self.check_sms(followup, "text", to_gsm7(followup_text), of_followup)
            if not self.located_texts(followup, "examples", of_followup):
                self.error(followup, followup.line, "procedures.followup_examples", what=named)
        procedure = Procedure(
            id=pid,
            topic=self.text(block, "topic", what),
            title=self.text(block, "title", what),
            keywords=keywords,
            old_names=self.texts(block, "old_names", what),
            url=url,
            phone=phone,
            documents=documents,
            steps=steps,
            voice=voice,
            sms="",
            warning=self.text(block, "warning", what, required=False),
            line=block.line_of("keywords"),
            sms_title=self.text(block, "sms_title", what, required=False),
            followup=followup_text,
        )
        try:
            sms = procedure_sms(phrases, procedure, self.paper_small_words)
        except (KeyError, IndexError, ValueError):
            return procedure  # a broken phrase: already reported in language.yaml
        self.check_procedure_sms(block, procedure, sms, what)
        return dataclasses.replace(procedure, sms=sms)

    def phone(self, block: LocatedMap, what: str) -> Phone:
        self.unknown_fields(block, {"number", "cost"}, what)
        number = self.text(block, "number", what)
        if number and not number.isdigit():
            self.error(block, block.line_of("number"), "procedures.phone_digits", what=what)
        kind = self.text(block, "cost", what)
        if kind and kind not in self.costs:
            known = ", ".join(self.costs) or self.say("procedures.no_costs")
            self.error(
                block,
                block.line_of("cost"),
                "procedures.unknown_cost",
                what=what,
                kind=kind,
                known=known,
            )
        return Phone(number, self.costs.get(kind, ""), kind)

    def papers_not_in_voice(
        self, block: LocatedMap, voice: str, documents: tuple[str, ...], what: str
    ) -> None:
        """The voice path reads the papers one by one: the voice text should not list them."""
        said = _plain(voice)
        for document in documents:
            if len(_plain(document)) > 12 and _plain(document) in said:
                self.warn(
                    block,
                    block.line_of("voice"),
                    "procedures.papers_in_voice",
                    what=what,
                    document=document,
                )

    def check_procedure_sms(
        self, block: LocatedMap, procedure: Procedure, sms: str, what: str
    ) -> None:
        """The composed SMS: its size and encoding, and the link and number it must give."""
        self.check_sms(block, "steps", sms, self.say("what.composed_sms", what=what))
        if procedure.url and procedure.url not in sms:
            self.error(
                block, block.line_of("url"), "procedures.sms_link", what=what, url=procedure.url
            )
        if procedure.phone and procedure.phone.number:
            written = written_phone(procedure.phone.number)
            if written not in sms:
                self.error(
                    block,
                    block.line_of("phone"),
                    "procedures.sms_number",
                    what=what,
                    number=written,
                )
        for key, text in (("sms_title", procedure.sms_title), ("warning", procedure.warning)):
            if _NOT_FOR_PEOPLE.search(text):
                self.warn(block, block.line_of(key), "fields.symbols", what=what)
        for key, items in (("documents", procedure.documents), ("steps", procedure.steps)):
            if any(_NOT_FOR_PEOPLE.search(item) for item in items):
                self.warn(block, block.line_of(key), "fields.symbols", what=what)
        if _NOT_FOR_PEOPLE.search(procedure.voice):
            self.warn(block, block.line_of("voice"), "fields.symbols", what=what)

    def check_sms(self, block: LocatedMap, key: str, text: str, what: str) -> None:
        size = sms_size(text)
        if size.segments > MAX_SMS_SEGMENTS:
            limit = self.say("sms.limit_gsm7" if size.encoding == "gsm7" else "sms.limit_ucs2")
            self.error(
                block,
                block.line_of(key),
                "sms.too_long",
                what=what,
                units=size.units,
                segments=size.segments,
                most=MAX_SMS_SEGMENTS,
                limit=limit,
            )
        for char in ucs2_characters(text):
            if char in PLAIN:
                self.warn(
                    block,
                    block.line_of(key),
                    "sms.dearer",
                    what=what,
                    char=char,
                    code=ord(char),
                    plain=PLAIN[char],
                )
            elif not _other_script(char):
                self.error(
                    block, block.line_of(key), "sms.not_plain", what=what, char=char, code=ord(char)
                )

    # -- places.yaml ------------------------------------------------------------------
    def place(self, pid: str, block: LocatedMap) -> Place:
        what = self.say("what.place", id=pid)
        self.unknown_fields(block, _PLACE_FIELDS, what)
        return Place(
            id=pid,
            name=self.text(block, "name", what),
            address=self.text(block, "address", what),
            hours=self.text(block, "hours", what),
            phone=self.text(block, "phone", what, required=False),
            topics=self.texts(block, "topics", what),
        )

    # -- dialogue.yaml ----------------------------------------------------------------
    def node(self, nid: str, block: LocatedMap, procedures: dict) -> Node | None:
        what = self.say("what.node", id=nid)
        kind = block.get("type")
        if kind not in NODE_TYPES:
            self.error(
                block,
                block.line_of("type"),
                "dialogue.wrong_type",
                what=what,
                types=", ".join(NODE_TYPES),
                kind=kind,
            )
            return None
        self.unknown_fields(block, _FIELDS[kind], what)
        common = NodeFields(id=nid, file=block.file, line=block.line)
        topic = self.text(block, "topic", what, required=False) or None
        if kind == "question":
            prompt = self.text(block, "prompt", what)
            simple = self.text(block, "simple", what, required=False)
            self.spoken(block, "prompt", prompt, what)
            self.spoken(block, "simple", simple, what)
            return QuestionNode(
                **common, topic=topic, text=prompt, simple=simple, choices=self.choices(block, what)
            )
        if kind == "message":
            text = self.text(block, "text", what)
            self.spoken(block, "text", text, what)
            nxt = self.text(block, "next", what, required=False)
            if not nxt:
                self.error(block, block.line, "dialogue.no_next", what=what)
            return MessageNode(**common, topic=topic, text=text, next=nxt or None)
        if kind == "procedure":
            pid = self.text(block, "procedure", what)
            if pid and pid not in procedures:
                self.error(
                    block, block.line_of("procedure"), "dialogue.no_procedure", what=what, id=pid
                )
            return ProcedureNode(
                **common,
                topic=procedures[pid].topic if pid in procedures else None,
                procedure=pid,
                next=self.text(block, "next", what, required=False) or None,
            )
        if kind == "handoff":
            text = self.text(block, "text", what, required=False)
            self.spoken(block, "text", text, what)
            if not topic:
                self.error(block, block.line, "dialogue.handoff_topic", what=what)
            reason = self.text(block, "reason", what)
            return HandoffNode(**common, topic=topic, text=text, reason=reason)
        text = self.text(block, "text", what, required=False)
        self.spoken(block, "text", text, what)
        return EndNode(**common, text=text)

    def choices(self, block: LocatedMap, what: str) -> tuple[Choice, ...]:
        raw = block.get("choices")
        if not isinstance(raw, LocatedList) or not raw:
            self.error(block, block.line_of("choices"), "dialogue.no_choices", what=what)
            return ()
        out: list[Choice] = []
        keys: dict[str, int] = {}
        for index, item in enumerate(raw):
            line = raw.line_of(index)
            if not isinstance(item, LocatedMap):
                self.error(raw, line, "dialogue.choice_not_block", what=what)
                continue
            a_choice = self.say("what.choice", what=what)
            self.unknown_fields(item, _CHOICE_FIELDS, a_choice)
            key = item.get("key")
            key = None if key is None else str(key)
            words = self.texts(item, "words", a_choice)
            label = self.text(item, "label", a_choice, required=key is not None)
            goto = self.text(item, "goto", a_choice)
            if key is None and not words:
                self.error(item, line, "dialogue.choice_empty", what=what)
            if key is not None:
                if key not in CHOICE_KEYS:
                    self.error(
                        item, item.line_of("key"), "dialogue.key_not_allowed", what=what, key=key
                    )
                elif key in keys:
                    self.error(
                        item,
                        item.line_of("key"),
                        "dialogue.key_twice",
                        what=what,
                        key=key,
                        line=keys[key],
                    )
                else:
                    keys[key] = item.line_of("key")
            out.append(Choice(key, label, words, goto, item.line_of("words"), item.line_of("goto")))
        if len(keys) > MAX_MENU_KEYS:
            self.error(
                block,
                block.line_of("choices"),
                "dialogue.too_many_keys",
                what=what,
                count=len(keys),
                most=MAX_MENU_KEYS,
            )
        return tuple(out)

    def links(self, nodes: dict[str, Node], procedures: dict, after: str) -> None:
        used = set()
        for node in nodes.values():
            holder = _at(node)
            for choice in node.choices:
                if choice.goto and choice.goto not in nodes:
                    self.error(
                        holder,
                        choice.goto_line,
                        "dialogue.choice_to_nowhere",
                        id=node.id,
                        target=choice.goto,
                    )
            if node.next and node.next not in nodes:
                self.error(
                    holder, node.line, "dialogue.next_to_nowhere", id=node.id, target=node.next
                )
            if isinstance(node, ProcedureNode):
                used.add(node.procedure)
        for pid, procedure in procedures.items():
            if pid not in used:
                self.problems.append(
                    problem(
                        self.say,
                        "procedures.yaml",
                        1,
                        "dialogue.procedure_unused",
                        "warning",
                        id=pid,
                        title=procedure.title,
                    )
                )

    def reachability(
        self, dialogue: LocatedMap, nodes: dict[str, Node], start: str, after: str
    ) -> None:
        seen, todo = set(), [start]
        while todo:
            nid = todo.pop()
            if nid in seen or nid not in nodes:
                continue
            seen.add(nid)
            todo.extend(successors(nodes[nid], after))
        for nid, node in nodes.items():
            if nid not in seen:
                self.error(_at(node), node.line, "dialogue.unreachable", id=nid, start=start)

    def labels(self, content: Content) -> None:
        """Every place a person may be offered has a name to show or say."""
        from .engine import Engine

        for nid in Engine(content).unlabelled():
            node = content.nodes[nid]
            self.error(_at(node), node.line, "dialogue.no_label", id=nid)

    def sms_menus(self, content: Content) -> None:
        from .engine import render_question

        for node in content.nodes.values():
            if node.type == "question":
                # The SMS channel writes plain letters for those that force UCS-2.
                text = to_gsm7(render_question(content, node.text, node.choices, "sms"))
                what = self.say("what.node_by_sms", id=node.id)
                self.check_sms(_at(node), "prompt", text, what)

    def spelt_out(self, content: Content, language: LocatedMap) -> None:
        """Capital words the synthetic voice would spell letter by letter."""
        from .engine import Engine

        found: set[str] = set()
        for text in Engine(content).voice_prompts():
            found.update(spelt_out(text, content.pronunciations))
        for word in sorted(found):
            self.warn(language, language.line_of("pronunciations"), "language.spelt_out", word=word)

    def clashes(self, content: Content) -> None:
        from .engine import catalogue_phrases, person_places, question_phrases, subtree

        covers = {nid: subtree(content, nid) for nid in content.nodes}
        same = person_places(content)
        scopes = [(self.say("what.catalogue"), catalogue_phrases(content))]
        for node in content.nodes.values():
            if node.type == "question":
                scopes.append(
                    (
                        self.say("what.node", id=node.id),
                        question_phrases(content, node, node.choices),
                    )
                )
        reported = set()
        for scope, phrases in scopes:
            origin = {
                (" ".join(content.reading.normalise(text)), same.get(target, target)): (file, line)
                for text, target, file, line in reversed(phrases)
            }
            matcher = Matcher(phrases, content.reading, covers, same)
            for form_a, a, form_b, b in matcher.similar_phrases():
                if (form_a, a, form_b, b) in reported:
                    continue
                reported.add((form_a, a, form_b, b))
                file_a, line_a = origin[(form_a, a)]
                file_b, line_b = origin[(form_b, b)]
                self.problems.append(
                    problem(
                        self.say,
                        file_b,
                        line_b,
                        "dialogue.clash",
                        scope=scope,
                        form=form_b,
                        target=b,
                        other_form=form_a,
                        other_target=a,
                        other_file=file_a,
                        other_line=line_a,
                    )
                )

    def acronyms_explained(self, content: Content, catalogue: LocatedMap) -> None:
        """A listed acronym must be explained at its first use in each SMS and spoken text."""
        from .engine import render_question

        if not self.acronyms:
            return
        listed = self.mapping(catalogue, "procedures", self.say("what.file"))
        for pid, procedure in content.procedures.items():
            block = listed.get(pid)
            if not isinstance(block, LocatedMap):
                continue
            what = self.say("what.procedure", id=pid)
            self.explained(block, "steps", procedure.sms, self.say("what.procedure_sms", what=what))
            spoken = " ".join((procedure.voice, *procedure.documents))
            self.explained(block, "voice", spoken, self.say("what.procedure_voice", what=what))
        for node in content.nodes.values():
            if node.type == "question":
                text = render_question(content, node.text, node.choices, "voice")
            else:
                text = node.text
            self.explained(_at(node), "text", text, self.say("what.node", id=node.id))

    def explained(self, block: LocatedMap, key: str, text: str, what: str) -> None:
        for acronym, explanations in self.acronyms.items():
            found = re.search(rf"(?<![\w-]){re.escape(acronym)}(?![\w-])", text)
            if not found:
                continue
            before = _plain(text[: found.start()])
            after = _plain(text[found.end() : found.end() + ACRONYM_WINDOW + 60])
            window = _plain(text[found.end() : found.end() + ACRONYM_WINDOW])
            if any(
                _plain(e) in before or (_plain(e) in after and after.index(_plain(e)) < len(window))
                for e in explanations
            ):
                continue
            self.warn(
                block,
                block.line_of(key),
                "language.acronym",
                what=what,
                acronym=acronym,
                explanation=explanations[0],
            )


def _other_script(char: str) -> bool:
    """A letter of a script other than the Latin one (Korean, Arabic...): a language
    written in it always takes UCS-2, and only the SMS's length matters."""
    return unicodedata.category(char).startswith("L") and "LATIN" not in unicodedata.name(char, "")


def _plain(text: str) -> str:
    """Lower case, no accent, straight apostrophes, single spaces: to compare wordings."""
    text = unicodedata.normalize("NFKD", text.replace("’", "'").lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.split())


def _at(node: Node) -> LocatedMap:
    holder = LocatedMap()
    holder.file, holder.line = node.file, node.line
    return holder


def successors(node: Node, after: str) -> list[str]:
    out = [c.goto for c in node.choices]
    if node.next:
        out.append(node.next)
    elif node.type == "procedure" and after:
        out.append(after)
    return out


def check_content(
    directory: str | Path, say: Messages | None = None
) -> tuple[Content | None, list[Problem]]:
    """Every problem of the content folder (errors and warnings), and the content if it
    could be built at all; each problem in the words of `say` (a checks.yaml: the
    operator's language), else French."""
    checker = _Checker(Path(directory), say or load_messages(CHECKS))
    content = checker.run()
    return content, sorted(set(checker.problems), key=lambda p: (p.file, p.line, p.message))


def load_content(directory: str | Path, say: Messages | None = None) -> Content:
    """The checked content of one language folder; raises ContentError on any error."""
    content, problems = check_content(directory, say)
    errors = [p for p in problems if p.severity == "error"]
    if errors or content is None:
        raise ContentError(errors)
    return content
