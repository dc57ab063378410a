"""Loading and checking one language's content folder.

`check_content` finds every problem it can (each with file, line and reason, in words a
content author understands) and `load_content` refuses content with any error. The files:

- dialogue.yaml    start, after_procedure, nodes
- procedures.yaml  procedures
- places.yaml      places (help desks)
- language.yaml    commands, answers, phrases, pronunciations
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from sms.encoding import PLAIN, sms_size, to_gsm7, ucs2_characters

from .matching import Matcher
from .model import (
    COMMANDS,
    NODE_TYPES,
    Choice,
    Command,
    Content,
    Node,
    Phone,
    Place,
    Procedure,
)
from .normalise import normalise
from .pronounce import spelt_out
from .source import ContentError, LocatedList, LocatedMap, Problem, read_yaml

FILES = ("dialogue.yaml", "procedures.yaml", "places.yaml", "language.yaml")
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
}
ANSWERS = ("yes", "no")

_FIELDS = {
    "question": {"type", "topic", "prompt", "simple", "choices"},
    "message": {"type", "topic", "text", "next"},
    "procedure": {"type", "procedure", "next"},
    "handoff": {"type", "topic", "text", "reason"},
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
    "sms",
    "warning",
}
_PLACE_FIELDS = {"name", "address", "hours", "phone", "topics"}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


class _Checker:
    def __init__(self, directory: Path):
        self.directory = directory
        self.problems: list[Problem] = []

    # -- reporting --------------------------------------------------------------------
    def error(self, where: LocatedMap | LocatedList, line: int, message: str) -> None:
        self.problems.append(Problem(where.file, line, message))

    def warn(self, where: LocatedMap | LocatedList, line: int, message: str) -> None:
        self.problems.append(Problem(where.file, line, message, "warning"))

    # -- typed field access -----------------------------------------------------------
    def unknown_fields(self, block: LocatedMap, allowed: set[str], what: str) -> None:
        for key in block:
            if key not in allowed:
                self.error(
                    block,
                    block.line_of(key),
                    f"unknown field '{key}' in {what} (allowed: {', '.join(sorted(allowed))})",
                )

    def text(self, block: LocatedMap, key: str, what: str, required: bool = True) -> str:
        value = block.get(key)
        if value is None or value == "":
            if required:
                self.error(block, block.line, f"{what} has no '{key}' text")
            return ""
        if isinstance(value, bool):
            self.error(block, block.line_of(key), f"'{key}' of {what}: put the words in quotes")
            return ""
        if not isinstance(value, str | int | float):
            self.error(block, block.line_of(key), f"'{key}' of {what} must be a text")
            return ""
        return str(value).strip()

    def texts(self, block: LocatedMap, key: str, what: str) -> tuple[str, ...]:
        value = block.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.error(block, block.line_of(key), f"'{key}' of {what} must be a list")
            return ()
        out = []
        for index, item in enumerate(value):
            line = value.line_of(index) if isinstance(value, LocatedList) else block.line
            if isinstance(item, bool) or not isinstance(item, str | int):
                self.error(block, line, f"an item of '{key}' in {what}: put the words in quotes")
            elif str(item).strip():
                out.append(str(item).strip())
        return tuple(out)

    def mapping(self, block: LocatedMap, key: str, what: str) -> LocatedMap:
        value = block.get(key)
        if value is None:
            empty = LocatedMap()
            empty.file, empty.line = block.file, block.line
            return empty
        if not isinstance(value, LocatedMap):
            self.error(block, block.line_of(key), f"'{key}' in {what} must be a block of names")
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
                self.error(block, parent.line_of(name), f"{what} '{name}' must be a block")

    def spoken(self, block: LocatedMap, key: str, text: str, what: str) -> None:
        for sentence in sentences(text):
            count = len(sentence.split())
            if count > MAX_SPOKEN_WORDS:
                self.warn(
                    block,
                    block.line_of(key),
                    f"{what}: a spoken sentence of {count} words (at most {MAX_SPOKEN_WORDS} "
                    f'are easy to follow): "{sentence}"',
                )

    # -- files ------------------------------------------------------------------------
    def read(self, name: str) -> LocatedMap | None:
        path = self.directory / name
        shown = f"{self.directory.name}/{name}"
        if not path.is_file():
            self.problems.append(Problem(shown, 1, "the file is missing"))
            return None
        try:
            return read_yaml(path, shown)
        except ContentError as exc:
            self.problems.extend(exc.problems)
            return None

    def run(self) -> Content | None:
        files = {name: self.read(name) for name in FILES}
        if any(data is None for data in files.values()):
            return None
        dialogue, catalogue = files["dialogue.yaml"], files["procedures.yaml"]
        places_file, language = files["places.yaml"], files["language.yaml"]
        self.unknown_fields(dialogue, {"start", "after_procedure", "nodes"}, "dialogue.yaml")
        self.unknown_fields(catalogue, {"procedures"}, "procedures.yaml")
        self.unknown_fields(places_file, {"places"}, "places.yaml")
        self.unknown_fields(
            language,
            {"commands", "answers", "phrases", "pronunciations", "decoys"},
            "language.yaml",
        )
        phrases = self.phrases(language)
        commands, answers = self.commands(language)
        procedures = {
            pid: self.procedure(pid, b)
            for pid, b in self.entries(catalogue, "procedures", "procedure")
        }
        places = tuple(
            self.place(pid, b) for pid, b in self.entries(places_file, "places", "place")
        )
        nodes = {
            nid: self.node(nid, b, procedures) for nid, b in self.entries(dialogue, "nodes", "node")
        }
        nodes = {nid: node for nid, node in nodes.items() if node is not None}
        start = self.text(dialogue, "start", "dialogue.yaml")
        after = self.text(dialogue, "after_procedure", "dialogue.yaml")
        for key, target in (("start", start), ("after_procedure", after)):
            if target and target not in nodes:
                self.error(dialogue, dialogue.line_of(key), f"{key} '{target}' is not a node")
        if start in nodes and nodes[start].type != "question":
            self.error(dialogue, dialogue.line_of("start"), "the start node must be a question")
        self.links(nodes, procedures, after)
        if start in nodes and (after in nodes or not after):
            self.reachability(dialogue, nodes, start, after)
        table = self.mapping(language, "pronunciations", "language.yaml")
        pronunciations = {str(k): self.text(table, k, "pronunciation") for k in table}
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
        )
        if not any(p.severity == "error" for p in self.problems):
            self.sms_menus(content)
            self.clashes(content)
            self.spelt_out(content, language)
        content.warnings = [p for p in self.problems if p.severity == "warning"]
        return content

    def version(self) -> str:
        digest = hashlib.sha256()
        for name in FILES:
            digest.update((self.directory / name).read_bytes())
        return digest.hexdigest()[:12]

    # -- language.yaml ----------------------------------------------------------------
    def phrases(self, language: LocatedMap) -> dict[str, str]:
        block = self.mapping(language, "phrases", "language.yaml")
        self.unknown_fields(block, set(PHRASES), "phrases")
        out = {}
        for name, fields in PHRASES.items():
            text = self.text(block, name, f"phrase '{name}'")
            try:
                text.format(**dict.fromkeys(fields, "x"))
            except (KeyError, IndexError, ValueError) as exc:
                self.error(
                    block,
                    block.line_of(name),
                    f"phrase '{name}' uses an unknown blank {exc} "
                    f"(it may use: {', '.join('{' + f + '}' for f in fields) or 'none'})",
                )
            self.spoken(block, name, text, f"phrase '{name}'")
            out[name] = text
        return out

    def commands(self, language: LocatedMap) -> tuple[dict[str, Command], dict[str, tuple]]:
        block = self.mapping(language, "commands", "language.yaml")
        self.unknown_fields(block, set(COMMANDS), "commands")
        commands = {}
        for name in COMMANDS:
            entry = self.mapping(block, name, "commands")
            if name not in block:
                self.error(block, block.line, f"the global command '{name}' is missing")
            self.unknown_fields(entry, {"keys", "words"}, f"command '{name}'")
            keys = self.texts(entry, "keys", f"command '{name}'")
            for key in keys:
                if key not in ("0", "*", "#"):
                    self.error(
                        entry,
                        entry.line_of("keys"),
                        f"command '{name}': key '{key}' must be 0, * or #",
                    )
            words = self.texts(entry, "words", f"command '{name}'")
            if name in block and not words:
                self.error(entry, entry.line, f"command '{name}' has no words")
            commands[name] = Command(name, keys, words, entry.line_of("words"))
        answers_block = self.mapping(language, "answers", "language.yaml")
        self.unknown_fields(answers_block, set(ANSWERS), "answers")
        answers = {}
        for name in ANSWERS:
            answers[name] = self.texts(answers_block, name, f"answer '{name}'")
            if not answers[name]:
                self.error(answers_block, answers_block.line, f"answer '{name}' has no words")
        return commands, answers

    # -- procedures.yaml --------------------------------------------------------------
    def procedure(self, pid: str, block: LocatedMap) -> Procedure:
        what = f"procedure '{pid}'"
        self.unknown_fields(block, _PROCEDURE_FIELDS, what)
        url = self.text(block, "url", what)
        parts = urlsplit(url)
        if url and (parts.scheme != "https" or not parts.netloc):
            self.error(
                block,
                block.line_of("url"),
                f"{what}: the link must start with https:// (found '{url}')",
            )
        phone = None
        if "phone" in block:
            phone_block = self.mapping(block, "phone", what)
            self.unknown_fields(phone_block, {"number", "cost"}, f"phone of {what}")
            number = self.text(phone_block, "number", f"phone of {what}")
            if number and not number.isdigit():
                self.error(
                    phone_block,
                    phone_block.line_of("number"),
                    f"phone of {what}: write the number with digits only",
                )
            phone = Phone(number, self.text(phone_block, "cost", f"phone of {what}"))
        steps = self.texts(block, "steps", what)
        if not 3 <= len(steps) <= 5:
            self.error(
                block, block.line_of("steps"), f"{what} has {len(steps)} steps (write 3 to 5)"
            )
        documents = self.texts(block, "documents", what)
        if not documents:
            self.error(block, block.line, f"{what} has no documents to prepare")
        keywords = self.texts(block, "keywords", what)
        if not keywords:
            self.error(block, block.line, f"{what} has no keywords")
        voice = self.text(block, "voice", what)
        self.spoken(block, "voice", voice, what)
        sms = self.text(block, "sms", what)
        self.check_sms(block, "sms", sms, what)
        if url and sms and url not in sms:
            self.error(block, block.line_of("sms"), f"{what}: the SMS must contain the link {url}")
        if phone and phone.number and sms and phone.number not in sms:
            self.error(
                block,
                block.line_of("sms"),
                f"{what}: the SMS must contain the phone number {phone.number}",
            )
        return Procedure(
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
            sms=sms,
            warning=self.text(block, "warning", what, required=False),
            line=block.line_of("keywords"),
        )

    def check_sms(self, block: LocatedMap, key: str, text: str, what: str) -> None:
        size = sms_size(text)
        if size.segments > MAX_SMS_SEGMENTS:
            self.error(
                block,
                block.line_of(key),
                f"{what}: the SMS takes {size.segments} parts ({size.units} characters "
                f"in {size.encoding.upper()}); at most {MAX_SMS_SEGMENTS} are allowed",
            )
        for char in ucs2_characters(text):
            if char in PLAIN:
                self.warn(
                    block,
                    block.line_of(key),
                    f"{what}: the character '{char}' (U+{ord(char):04X}) makes the SMS "
                    f"cost more (UCS-2); write '{PLAIN[char]}' instead",
                )

    # -- places.yaml ------------------------------------------------------------------
    def place(self, pid: str, block: LocatedMap) -> Place:
        what = f"place '{pid}'"
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
        what = f"node '{nid}'"
        kind = block.get("type")
        if kind not in NODE_TYPES:
            self.error(
                block,
                block.line_of("type"),
                f"{what}: type must be one of {', '.join(NODE_TYPES)} (found '{kind}')",
            )
            return None
        self.unknown_fields(block, _FIELDS[kind], what)
        common = {
            "id": nid,
            "type": kind,
            "file": block.file,
            "line": block.line,
            "topic": self.text(block, "topic", what, required=False) or None,
        }
        if kind == "question":
            prompt = self.text(block, "prompt", what)
            simple = self.text(block, "simple", what, required=False)
            self.spoken(block, "prompt", prompt, what)
            self.spoken(block, "simple", simple, what)
            return Node(**common, text=prompt, simple=simple, choices=self.choices(block, what))
        if kind == "message":
            text = self.text(block, "text", what)
            self.spoken(block, "text", text, what)
            nxt = self.text(block, "next", what, required=False)
            if not nxt:
                self.error(block, block.line, f"{what} has no way out: give it a 'next' node")
            return Node(**common, text=text, next=nxt or None)
        if kind == "procedure":
            pid = self.text(block, "procedure", what)
            if pid and pid not in procedures:
                self.error(block, block.line_of("procedure"), f"{what}: unknown procedure '{pid}'")
            topic = procedures[pid].topic if pid in procedures else None
            return Node(
                **{**common, "topic": topic},
                procedure=pid,
                next=self.text(block, "next", what, required=False) or None,
            )
        if kind == "handoff":
            text = self.text(block, "text", what, required=False)
            self.spoken(block, "text", text, what)
            if not common["topic"]:
                self.error(block, block.line, f"{what}: a hand-off needs a 'topic'")
            return Node(**common, text=text, reason=self.text(block, "reason", what))
        text = self.text(block, "text", what, required=False)
        self.spoken(block, "text", text, what)
        return Node(**{**common, "topic": None}, text=text)

    def choices(self, block: LocatedMap, what: str) -> tuple[Choice, ...]:
        raw = block.get("choices")
        if not isinstance(raw, LocatedList) or not raw:
            self.error(
                block,
                block.line_of("choices"),
                f"{what} has no way out: a question needs 'choices'",
            )
            return ()
        out, keys = [], {}
        for index, item in enumerate(raw):
            line = raw.line_of(index)
            if not isinstance(item, LocatedMap):
                self.error(raw, line, f"{what}: each choice must be a block (key, label, goto)")
                continue
            self.unknown_fields(item, _CHOICE_FIELDS, f"a choice of {what}")
            key = item.get("key")
            key = None if key is None else str(key)
            words = self.texts(item, "words", f"a choice of {what}")
            label = self.text(item, "label", f"a choice of {what}", required=key is not None)
            goto = self.text(item, "goto", f"a choice of {what}")
            if key is None and not words:
                self.error(item, line, f"{what}: a choice needs a key or words")
            if key is not None:
                if key not in CHOICE_KEYS:
                    self.error(
                        item,
                        item.line_of("key"),
                        f"{what}: key '{key}' is not allowed (use 1 to 9; 0, * and # "
                        "are kept for a human, repeat and the keypad)",
                    )
                elif key in keys:
                    self.error(
                        item,
                        item.line_of("key"),
                        f"{what}: key {key} is used twice (also line {keys[key]})",
                    )
                else:
                    keys[key] = item.line_of("key")
            out.append(Choice(key, label, words, goto, item.line_of("words"), item.line_of("goto")))
        if len(keys) > MAX_MENU_KEYS:
            self.error(
                block,
                block.line_of("choices"),
                f"{what} reads {len(keys)} choices; a voice menu reads at most "
                f"{MAX_MENU_KEYS}: group them in a sub-menu",
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
                        f"node '{node.id}': a choice leads to unknown node '{choice.goto}'",
                    )
            if node.next and node.next not in nodes:
                self.error(
                    holder,
                    node.line,
                    f"node '{node.id}': 'next' leads to unknown node '{node.next}'",
                )
            if node.procedure:
                used.add(node.procedure)
        for pid, procedure in procedures.items():
            if pid not in used:
                self.problems.append(
                    Problem(
                        "procedures.yaml",
                        1,
                        f"procedure '{pid}' ({procedure.title}) is never offered by any node",
                        "warning",
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
                self.error(
                    _at(node),
                    node.line,
                    f"node '{nid}' cannot be reached from the start node '{start}'",
                )

    def sms_menus(self, content: Content) -> None:
        from .engine import render_question

        for node in content.nodes.values():
            if node.type == "question":
                # The SMS channel writes plain letters for those that force UCS-2.
                text = to_gsm7(render_question(content, node.text, node.choices, "sms"))
                self.check_sms(_at(node), "prompt", text, f"node '{node.id}' (sent by SMS)")

    def spelt_out(self, content: Content, language: LocatedMap) -> None:
        """Capital words the synthetic voice would spell letter by letter."""
        from .engine import Engine

        found: set[str] = set()
        for text in Engine(content).voice_prompts():
            found.update(spelt_out(text, content.pronunciations))
        for word in sorted(found):
            self.warn(
                language,
                language.line_of("pronunciations"),
                f'the voice spells "{word}" letter by letter: say in pronunciations '
                f'how people say it ("{word}: ..."), even as letters',
            )

    def clashes(self, content: Content) -> None:
        from .engine import catalogue_phrases, person_places, question_phrases, subtree

        covers = {nid: subtree(content, nid) for nid in content.nodes}
        same = person_places(content)
        scopes = [("the whole catalogue", catalogue_phrases(content))]
        for node in content.nodes.values():
            if node.type == "question":
                scopes.append((f"node '{node.id}'", question_phrases(content, node, node.choices)))
        reported = set()
        for scope, phrases in scopes:
            origin = {
                (" ".join(normalise(text)), same.get(target, target)): (file, line)
                for text, target, file, line in reversed(phrases)
            }
            for form_a, a, form_b, b in Matcher(phrases, covers, same).similar_phrases():
                if (form_a, a, form_b, b) in reported:
                    continue
                reported.add((form_a, a, form_b, b))
                file_a, line_a = origin[(form_a, a)]
                file_b, line_b = origin[(form_b, b)]
                self.problems.append(
                    Problem(
                        file_b,
                        line_b,
                        f"in {scope}, these words lead to two places and sound the same or "
                        f"nearly the same: \"{form_b}\" (to '{b}') and \"{form_a}\" (to '{a}', "
                        f"{file_a} line {line_a}); a person could not be told apart",
                    )
                )


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


def check_content(directory: str | Path) -> tuple[Content | None, list[Problem]]:
    """Every problem of the content folder (errors and warnings), and the content if it
    could be built at all."""
    checker = _Checker(Path(directory))
    content = checker.run()
    return content, sorted(set(checker.problems), key=lambda p: (p.file, p.line, p.message))


def load_content(directory: str | Path) -> Content:
    """The checked content of one language folder; raises ContentError on any error."""
    content, problems = check_content(directory)
    errors = [p for p in problems if p.severity == "error"]
    if errors or content is None:
        raise ContentError(errors)
    return content
