"""The dialogue engine: `Engine(content).step(state, input) -> (state, actions)`.

Pure Python: no web framework, telephony, speech or database here. The state is a plain
JSON-serialisable dict (see `State`), so any process can take the next turn of any
conversation. Channels turn their input into one of the inputs below and render the
actions they get back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from functools import cached_property
from typing import NamedTuple

from .danger import DangerMatcher, DangerModel
from .examples_model import trained
from .matching import SPEECH_CONFIRM_BELOW, SPEECH_REJECT_BELOW, Matcher, MatchResult
from .model import (
    ANY_TOPIC,
    Choice,
    Content,
    Danger,
    HandoffNode,
    MessageNode,
    Node,
    ProcedureNode,
    QuestionNode,
)
from .normalise import words_of
from .procedure_text import capitalised, sentence, written_phone
from .pronounce import in_pairs
from .understanding import Understanding, Understood

MAX_TRIES = 3  # attempts on one question before a mediator takes over
DANGER_TOPIC = "urgence"  # the topic of a hand-off for danger
PLACES_NGRAMS = (4, 4)  # the places' model: character n-gram sizes (see `understanding`)
PLACES_TOLERANCE = 1e-3  # ...and when its fit stops

# How much a person can do with a link on their phone (asked once, kept with the person):
ALONE, HELPED, NO_LINK = "alone", "helped", "none"
AUTONOMY = (ALONE, HELPED, NO_LINK)


# -- inputs --------------------------------------------------------------------------
@dataclass(frozen=True)
class Key:
    """A key pressed on the phone keypad: 0-9, * or #."""

    key: str


@dataclass(frozen=True)
class Words:
    """Words recognised from speech, with the recogniser's confidence (0 to 1)."""

    text: str
    confidence: float = 1.0


@dataclass(frozen=True)
class Text:
    """The body of a text message."""

    text: str


@dataclass(frozen=True)
class Digits:
    """Several keys ending with #, typed as a phone number. The channel tells whether
    they make a number that can receive an SMS."""

    digits: str
    valid: bool


@dataclass(frozen=True)
class NoInput:
    """The person said and pressed nothing."""


@dataclass(frozen=True)
class HangUp:
    """The person hung up."""


Input = Key | Digits | Words | Text | NoInput | HangUp


# -- actions -------------------------------------------------------------------------
@dataclass(frozen=True)
class Say:
    text: str


class _Grammar(NamedTuple):
    """Words a speech grammar always has, in order and as a set (to add a question's own)."""

    words: tuple[str, ...]
    known: frozenset[str]

    @classmethod
    def of(cls, words: list[str]) -> _Grammar:
        unique = tuple(dict.fromkeys(words))
        return cls(unique, frozenset(unique))


@dataclass(frozen=True)
class Ask:
    """A question: `text` is rendered for the conversation's channel; `keys` the keys it
    accepts (the words a spoken answer may be: `Engine.expected_words`)."""

    node: str
    text: str
    keys: tuple[str, ...]
    number: bool = False  # the answer is a phone number typed on the keypad, then #


@dataclass(frozen=True)
class SendProcedure:
    procedure: str
    to: str | None = None  # None: the person's own number


@dataclass(frozen=True)
class HandOff:
    topic: str
    reason: str
    urgent: bool = False  # a danger: first in the queue, and the mediators on duty are told
    # What to say first when someone can take over ("Je cherche une personne..."); the
    # channel leaves it out when no mediator is registered: it would promise nobody.
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class End:
    outcome: str  # "completed" or "hangup"


Action = Say | Ask | SendProcedure | HandOff | End


# -- state ---------------------------------------------------------------------------
ACTIVE, HANDOFF, ENDED, HUNG_UP = "active", "handoff", "ended", "hangup"


class Question(StrEnum):
    """The engine's own questions, asked on top of a node (see Engine._question)."""

    WHICH = "which"  # which of these places? (`targets`)
    CONFIRM = "confirm"  # did you say `target`?
    AUTONOMY = "autonomy"  # can you open a link alone, with help, not at all?
    FOLLOWUP = "followup"  # something went wrong with `target`: a person?
    NUMBER = "number"  # type a mobile number for the SMS
    NUMBER_CONFIRM = "number_confirm"  # is `number` right?
    NO_LINK = "no_link"  # no link: the phone line, a place, or a person?


@dataclass(frozen=True)
class Pending:
    """One of the engine's own questions, waiting for its answer. `back` is the question
    a "which one?" or "did you say?" was asked on top of (None: the node's own)."""

    kind: Question
    target: str = ""
    targets: tuple[str, ...] = ()
    number: str = ""
    back: Pending | None = None

    @classmethod
    def from_dict(cls, data: dict | None) -> Pending | None:
        """From its JSON form (a conversation stored by any version of Relais)."""
        if not data:
            return None
        return cls(
            Question(data["kind"]),
            data.get("target", ""),
            tuple(data.get("targets", ())),
            data.get("number", ""),
            cls.from_dict(data.get("back")),
        )


@dataclass
class State:
    """Where a conversation stands. `autonomy` (what the person can do with a link on
    their phone: ALONE, HELPED, NO_LINK, or None for not asked yet) is the fact worth
    keeping per person: channels store it with the phone number, with the date it was
    given, and pass it to `Engine.start` while it is recent."""

    lang: str
    version: str
    channel: str  # "voice" or "sms"
    node: str
    history: list[str] = field(default_factory=list)
    tries: int = 0
    pending: Pending | None = None  # one of the engine's own questions
    topic: str | None = None
    autonomy: str | None = None
    can_sms: bool = True  # can the number in use receive an SMS (a landline cannot)
    sms_to: str | None = None  # another number the person typed for the SMS
    status: str = ACTIVE
    sent: list[str] = field(default_factory=list)  # procedures sent, in order
    understood: str | None = None  # what the last input chose: a node, or "@" + a command
    replay: list[str] = field(default_factory=list)  # said before the question: "*" again

    def to_dict(self) -> dict:
        """What `asdict` gives (lists copied), without its deep copies: every webhook
        stores its state."""
        data = {name: getattr(self, name) for name in _STATE_FIELDS}
        data["history"], data["sent"] = list(self.history), list(self.sent)
        data["replay"] = list(self.replay)
        data["pending"] = _pending_dict(self.pending)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> State:
        known = {f.name for f in fields(cls)}
        state = cls(**{k: v for k, v in data.items() if k in known})
        state.pending = Pending.from_dict(data.get("pending"))
        if isinstance(state.autonomy, bool):  # stored before there were three answers
            state.autonomy = ALONE if state.autonomy else NO_LINK
        return state


_STATE_FIELDS = tuple(f.name for f in fields(State))


def _pending_dict(pending: Pending | None) -> dict | None:
    if pending is None:
        return None
    return {
        "kind": pending.kind,
        "target": pending.target,
        "targets": tuple(pending.targets),
        "number": pending.number,
        "back": _pending_dict(pending.back),
    }


# -- content helpers shared with the validator ---------------------------------------
def render_question(
    content: Content, prompt: str, choices: tuple[Choice, ...], channel: str
) -> str:
    keyed = [(c.key, c.label) for c in choices if c.key]
    if channel == "sms":
        lines = [content.phrase("choice_sms", key=key, label=label) for key, label in keyed]
        return "\n".join([prompt, *lines, content.phrase("sms_hint")]).strip()
    lines = [content.phrase("choice_voice", key=key, label=label) for key, label in keyed]
    return " ".join([prompt, *lines]).strip()


# A phrase that leads somewhere: (words, target, file, line where it is written).
Phrase = tuple[str, str, str, int]


def command_phrases(content: Content) -> list[Phrase]:
    where = f"{content.lang}/language.yaml"
    return [(w, "@" + c.name, where, c.line) for c in content.commands.values() for w in c.words]


def _choice_phrases(node: Node, choices: tuple[Choice, ...]) -> list[Phrase]:
    return [(w, c.goto, node.file, c.line) for c in choices for w in (*c.words, c.label) if w]


def question_phrases(content: Content, node: Node, choices: tuple[Choice, ...]) -> list[Phrase]:
    """What may be said or typed at one question: its choices and the global commands."""
    return _choice_phrases(node, choices) + command_phrases(content)


def catalogue_phrases(content: Content) -> list[Phrase]:
    """Every word that leads to a subject in the whole dialogue (matched against a first
    SMS): menus' choices and the procedures' keywords, old names and titles. Choices that
    lead back to the start or to the end ("anything else?") are not subjects."""
    phrases = []
    for node in content.nodes.values():
        if node.type == "question":
            subjects = tuple(
                c
                for c in node.choices
                if c.goto != content.start and content.nodes[c.goto].type != "end"
            )
            phrases += _choice_phrases(node, subjects)
        elif isinstance(node, ProcedureNode) and node.procedure in content.procedures:
            procedure = content.procedures[node.procedure]
            where = f"{content.lang}/procedures.yaml"
            for word in (*procedure.keywords, *procedure.old_names, procedure.title):
                phrases.append((word, node.id, where, procedure.line))
    return phrases


def person_places(content: Content) -> dict[str, str]:
    """Hand-off nodes with no subject of their own (ANY_TOPIC) are the same place as the
    global command for a person."""
    return {
        n.id: "@human"
        for n in content.nodes.values()
        if n.type == "handoff" and n.topic == ANY_TOPIC
    }


def subtree(content: Content, nid: str) -> frozenset[str]:
    """The nodes below `nid` through its choices and messages (not through the
    after-procedure loop)."""
    seen: set[str] = set()
    todo = [c.goto for c in content.nodes[nid].choices]
    while todo:
        current = todo.pop()
        if current in seen or current not in content.nodes or current == nid:
            continue
        seen.add(current)
        node = content.nodes[current]
        todo.extend(c.goto for c in node.choices)
        if node.type == "message" and node.next:
            todo.append(node.next)
    return frozenset(seen)


_KEY_TEXT = re.compile(r"^\s*([0-9*#])\s*[.)!]?\s*$")


def place_text(content: Content, topic: str | None, channel: str = "voice") -> str:
    """Where to get help in person: the first place of places.yaml that helps with `topic`
    (a place without topics helps with all), or a maison France Services."""
    phrase = content.phrase
    for place in content.places:
        if not place.topics or topic in place.topics:
            text = phrase("place", name=place.name, address=place.address, hours=place.hours)
            if place.phone:
                text += " " + phrase("place_phone", phone=in_pairs(place.phone))
            return text
    return phrase("no_place_sms" if channel == "sms" else "no_place")


def _said(event: Input) -> str:
    """The words of a text or of a spoken answer heard with enough confidence."""
    if isinstance(event, Text):
        return event.text
    if isinstance(event, Words) and event.confidence >= SPEECH_REJECT_BELOW:
        return event.text
    return ""


def _is_place(target: str) -> bool:
    """A node of the dialogue, not a command or an answer of the engine's own questions."""
    return not target.startswith("@")


class Engine:
    def __init__(self, content: Content):
        self.content = content
        self._matchers: dict[tuple, Matcher] = {}
        self._forms: dict[tuple[str, ...], frozenset[str]] = {}

    # -- public -----------------------------------------------------------------------
    def start(
        self, channel: str, autonomy: str | None = None, can_sms: bool = True
    ) -> tuple[State, list[Action]]:
        """A new conversation at the start node, and what to say first."""
        state = State(
            lang=self.content.lang,
            version=self.content.version,
            channel=channel,
            node=self.content.start,
            autonomy=autonomy,
            can_sms=can_sms,
        )
        actions = self._enter(state, self.content.start)
        self._remember(state, actions)
        return state, actions

    def step(self, state: State, event: Input) -> tuple[State, list[Action]]:
        """The next state and actions for one input. `state` is not modified."""
        state = replace(
            state,
            understood=None,
            history=list(state.history),
            sent=list(state.sent),
        )
        if state.status != ACTIVE:
            return state, []
        if isinstance(event, HangUp):
            state.status = HUNG_UP
            return state, [End(HUNG_UP)]
        said = _said(event)
        danger = self.danger(said) if said else None
        if danger is not None:  # before anything else, at any point of the dialogue
            state.understood = "@danger"  # which danger: in the hand-off's reason
            return state, self._in_danger(state, danger)
        if state.version != self.content.version and not self._migrate(state):
            state.history, state.pending = [], None
            return state, [
                Say(self.content.phrase("content_changed")),
                *self._enter(state, self.content.start),
            ]
        if isinstance(event, NoInput):
            return state, self._retry(state, "no_input")
        if said and self._whole(said, self.content.closings):
            state.understood, state.status = "@bye", ENDED
            return state, [Say(self.content.phrase("closing")), End("completed")]
        if said and self._cannot_read(said):
            state.understood = "@cannot_read"
            return state, self._cannot_read_answer(state)
        _prompt, choices = self._question(state)
        answer = self._interpret(state, choices, event)
        if answer is None and said and (state.pending or state.node != self.content.start):
            answer = self._elsewhere(state, said)
        state.understood = answer
        if answer is None:
            return state, self._retry(state, "no_match")
        actions = self._answer(state, answer)
        if said and _is_place(answer) and self.content.nodes[answer].type == "procedure":
            label = self.label(answer)
            actions = [Say(self.content.phrase("understood", label=label)), *actions]
        if answer != "@repeat":
            self._remember(state, actions)
        return state, actions

    def reads_alone(self, text: str) -> bool:
        """A message of small words only that still means something on its own: thanks,
        goodbye, "pardon"."""
        alone = [a for c in self.content.commands.values() for a in c.alone]
        return self._whole(text, (*self.content.closings, *alone))

    def danger(self, text: str) -> Danger | None:
        """The situation of danger `text` reveals, if any: its phrases, then the model
        trained on its examples; the situation for a minor when the person says they are
        one ("j'ai 14 ans": 119 rather than 3919)."""
        found = self._danger_matcher.find(text)
        if found is None and self._danger_model is not None:
            found = self._danger_model.find(text)
            if found is not None and self._danger_matcher.at_another_time(text, found):
                return None
        if found is not None and found.for_a_minor and self._danger_matcher.said_by_a_minor(text):
            return next(d for d in self.content.dangers if d.id == found.for_a_minor)
        return found

    def danger_phrase(self, text: str) -> Danger | None:
        """The situation of danger the phrases of `text` reveal, the model aside."""
        return self._danger_matcher.find(text)

    def forget_words(self) -> None:
        """Empty every cache of words (sound spellings, similar words, model features), as
        if each word were new: for the benchmark's cold runs."""
        self.content.reading.forget_words()
        self.catalogue_matcher.forget_words()
        self._danger_matcher.forget_words()
        if self.understanding.model is not None:
            self.understanding.model.forget_words()
        if self._danger_model is not None:
            self._danger_model.forget_words()

    def train(self) -> None:
        """Train now the models a first message needs, the examples' and the danger
        check's (otherwise trained when the first message needs them)."""
        self.understanding  # noqa: B018
        self._danger_model  # noqa: B018

    @cached_property
    def _danger_matcher(self) -> DangerMatcher:
        content = self.content
        return DangerMatcher(
            content.dangers,
            content.reading,
            content.distinct,
            content.harmless,
            content.times,
            content.never_skipped,
        )

    @cached_property
    def _danger_model(self) -> DangerModel | None:
        content = self.content
        if not any(d.examples for d in content.dangers):
            return None
        ordinary = [
            *content.ordinary,
            *content.harmless,
            *(e.text for e in content.examples),
            *(text for text, *_ in catalogue_phrases(content)),
        ]
        return DangerModel(content.dangers, ordinary, content.reading)

    def _in_danger(self, state: State, danger: Danger) -> list[Action]:
        state.status, state.pending, state.topic = HANDOFF, None, DANGER_TOPIC
        text = danger.sms if state.channel == "sms" else danger.say
        return [Say(text), HandOff(DANGER_TOPIC, danger.reason, urgent=True)]

    def _whole(self, said: str, phrases: tuple[str, ...]) -> bool:
        """`said` is one of `phrases`, as a whole (case and accents aside)."""
        if phrases not in self._forms:
            self._forms[phrases] = frozenset(" ".join(words_of(p)) for p in phrases)
        return " ".join(words_of(said)) in self._forms[phrases]

    def _cannot_read(self, said: str) -> bool:
        return bool(self.content.cannot_read) and (
            self._cannot_read_matcher.match(said).matched is not None
        )

    @cached_property
    def _cannot_read_matcher(self) -> Matcher:
        return Matcher(
            ((p, "@cannot_read") for p in self.content.cannot_read), self.content.reading
        )

    def _cannot_read_answer(self, state: State) -> list[Action]:
        """By SMS, a call instead of more text; on the phone, everything said aloud."""
        state.autonomy = NO_LINK
        if state.channel == "sms":
            return self._hand_off(
                state,
                self.content.phrase("reason_cannot_read"),
                self.content.phrase("cannot_read_sms"),
            )
        return [Say(self.content.phrase("cannot_read_voice")), self._ask(state)]

    def _elsewhere(self, state: State, said: str) -> str | None:
        """A subject named or described while another question is open: go there."""
        result = self.understanding.understand(said)
        target = result.matched
        if target is None or not _is_place(target):
            return None
        if result.followup:
            state.pending = Pending(Question.FOLLOWUP, target)
            return "@followup"
        state.pending = None
        return target

    def _remember(self, state: State, actions: list[Action]) -> None:
        """What was said before the question the conversation now waits on, for "*"."""
        if actions and isinstance(actions[-1], Ask):
            state.replay = [a.text for a in actions if isinstance(a, Say)]

    def expected_words(self, state: State) -> tuple[str, ...]:
        """Every word the answer to the question `state` waits on may be (for a speech
        grammar): its choices' phrases, then the words heard at every question."""
        _, choices = self._choices(state)
        heard = self._heard_at_start if self._at_start(state) else self._heard_anywhere
        node = self.content.nodes[state.node]
        phrases = [p[0] for p in question_phrases(self.content, node, choices)]
        return (*dict.fromkeys(p for p in phrases if p not in heard.known), *heard.words)

    def voice_prompts(self) -> list[str]:
        """Every text a call can hear that does not depend on what the caller typed: each
        question as first asked, re-asked simply and with the offer of a person, the
        engine's own questions, messages, procedures and fixed phrases (for pre-rendering)."""
        content, texts = self.content, []
        for node in content.nodes.values():
            state = State(content.lang, content.version, "voice", node.id)
            if node.type == "question":
                for tries in range(MAX_TRIES):
                    state.tries = tries
                    texts.append(self._ask(state, simple=tries > 0).text)
            elif isinstance(node, ProcedureNode):
                procedure = content.procedures[node.procedure]
                for kind in (Question.AUTONOMY, Question.NO_LINK, Question.NUMBER):
                    state.pending = Pending(kind)
                    texts.append(self._ask(state).text)
                # What the call says when it sends the link (see _enter).
                texts += [procedure.voice, content.phrase("sms_sent")]
                texts += [a.text for a in self._told(procedure.id) if isinstance(a, Say)]
                if procedure.followup:
                    followup = self._followup(state, node.id)
                    texts += [a.text for a in followup if isinstance(a, Say | Ask)]
                texts.append(place_text(content, procedure.topic))
            elif node.text:
                texts.append(node.text)
        for target in self._labels:
            state = State(
                content.lang,
                content.version,
                "voice",
                content.start,
                pending=Pending(Question.CONFIRM, target),
            )
            texts.append(self._ask(state).text)
        texts += [danger.say for danger in content.dangers]
        fixed = [
            name
            for name, text in content.phrases.items()
            if "{" not in text and not name.startswith(("sms_", "reason_", "summary_"))
        ]
        texts += [content.phrase(name) for name in fixed]
        return list(dict.fromkeys(t for t in texts if t))

    # -- understanding ----------------------------------------------------------------
    def _interpret(self, state: State, choices: tuple[Choice, ...], event: Input) -> str | None:
        """The goto of the chosen answer ("@name" for a command or an engine answer)."""
        if state.pending and state.pending.kind == Question.NUMBER:
            return self._number(state, event)
        if isinstance(event, Digits):  # several keys where one was expected
            event = Key(event.digits[:1]) if len(event.digits) == 1 else Text(event.digits)
        if isinstance(event, Text):
            key = _KEY_TEXT.match(event.text)
            if key:
                event = Key(key.group(1))
        if isinstance(event, Key):
            for command in self.content.commands.values():
                if event.key in command.keys:
                    return "@" + command.name
            return next((c.goto for c in choices if c.key == event.key), None)
        if not isinstance(event, Words | Text):  # no words: nothing more to understand
            return None
        if isinstance(event, Words) and event.confidence < SPEECH_REJECT_BELOW:
            return None
        for command in self.content.commands.values():
            if command.alone and self._whole(event.text, command.alone):
                return "@" + command.name
        result: MatchResult
        if self._at_start(state):
            result = self.understanding.understand(event.text)
        else:
            result = self._matcher(state, choices).match(event.text)
        if result.ambiguous:
            return self._ask_which(state, result)
        target = result.matched
        if target and isinstance(result, Understood) and result.followup:
            state.pending = Pending(Question.FOLLOWUP, target)
            return "@followup"
        if (
            target
            and isinstance(event, Words)
            and event.confidence < SPEECH_CONFIRM_BELOW
            and not target.startswith("@")
        ):
            state.pending = Pending(Question.CONFIRM, target, back=state.pending)
            return "@ask"
        return target

    def _number(self, state: State, event: Input) -> str | None:
        """A phone number typed for the SMS, or a command key."""
        if isinstance(event, Key):
            event = Digits(event.key, False)
        if not isinstance(event, Digits):
            return None
        for command in self.content.commands.values():
            if event.digits in command.keys:
                return "@" + command.name
        if not event.valid:
            return None
        state.pending = Pending(Question.NUMBER_CONFIRM, number=event.digits)
        return "@ask"

    def _at_start(self, state: State) -> bool:
        """At the main menu a message may name or describe any subject of the dialogue."""
        return state.node == self.content.start and state.pending is None

    def _matcher(self, state: State, choices: tuple[Choice, ...]) -> Matcher:
        if self._at_start(state):
            return self.catalogue_matcher
        if choices not in self._matchers:
            node = self.content.nodes[state.node]
            self._matchers[choices] = Matcher(
                question_phrases(self.content, node, choices),
                self.content.reading,
                self._covers,
                self._people,
            )
        return self._matchers[choices]

    @cached_property
    def catalogue_matcher(self) -> Matcher:
        """The matcher for a message at the start: every subject of the dialogue. The main
        menu's broad groups and the commands other than "a person" yield to a precise
        subject."""
        content = self.content
        commands = {"@" + name for name in content.commands} - {"@human"}
        groups = frozenset(c.goto for c in content.nodes[content.start].choices) | commands
        return Matcher(
            catalogue_phrases(content) + command_phrases(content),
            content.reading,
            self._covers,
            self._people,
            groups,
        )

    @cached_property
    def understanding(self) -> Understanding:
        """What a first message names or describes: the catalogue's keywords, and a model
        trained on the content's examples and texted messages (none: keywords only)."""
        content, same = self.content, self._people
        model = None
        if content.examples:
            samples: list[tuple[str, str, bool | None]]
            samples = [(e.text, same.get(e.target, e.target), e.followup) for e in content.examples]
            # Texted messages teach places, and follow-ups where Relais tells one: on a
            # procedure with a `followup`. A message for a person, a menu or nothing is
            # never marked a follow-up, even when it is one ("la sécu ne me paie plus mes
            # indemnités" is for a person: no procedure): it tells nothing of follow-ups.
            followups = self._followups
            for e in content.texted:
                told = e.followup if e.target in followups else None
                samples.append((e.text, same.get(e.target, e.target), told))
            samples += [(text, same.get(t, t), False) for text, t, *_ in catalogue_phrases(content)]
            # 4-grams alone, not the danger model's 3 to 5: on the texted lists left out
            # in turn, 84.3 % of top-1 against 83.9 %, with half the features. The fit
            # stops at 1e-3 (1e-4 gives the same top-1, 0.7 CPU seconds later).
            model = trained(tuple(samples), content.reading, PLACES_NGRAMS, PLACES_TOLERANCE)
        menus = frozenset(n.id for n in content.nodes.values() if n.type == "question")
        return Understanding(
            self.catalogue_matcher,
            model,
            same,
            self._followups,
            menus,
            self._covers,
            content.start,
        )

    @cached_property
    def _followups(self) -> frozenset[str]:
        """The places that say what to do when something went wrong (a follow-up)."""
        content = self.content
        return frozenset(
            n.id
            for n in content.nodes.values()
            if isinstance(n, ProcedureNode) and content.procedures[n.procedure].followup
        )

    @cached_property
    def _covers(self) -> dict[str, frozenset[str]]:
        return {nid: subtree(self.content, nid) for nid in self.content.nodes}

    @cached_property
    def _people(self) -> dict[str, str]:
        return person_places(self.content)

    @cached_property
    def _labels(self) -> dict[str, str]:
        labels: dict[str, str] = {}
        for node in self.content.nodes.values():
            for choice in node.choices:
                if choice.label:
                    labels.setdefault(choice.goto, choice.label)
        for node in self.content.nodes.values():
            if isinstance(node, ProcedureNode) and node.procedure in self.content.procedures:
                labels.setdefault(node.id, self.content.procedures[node.procedure].title)
        phrase, answers = self.content.phrase, self.content.answers
        for name in self.content.commands:
            labels["@" + name] = phrase("human_label" if name == "human" else f"{name}_label")
        labels |= {  # the answers of the engine's own questions
            "@yes": answers["yes"][0],
            "@no": answers["no"][0],
            "@" + ALONE: phrase("autonomy_alone"),
            "@" + HELPED: phrase("autonomy_helped"),
            "@" + NO_LINK: phrase("autonomy_none"),
            "@phone": phrase("listen_label"),
            "@place": phrase("place_label"),
            DANGER_TOPIC: phrase("danger_label"),
        }
        for node in self.content.nodes.values():  # a place only reached by its words
            labels.setdefault(node.id, node.id)
        return labels

    def unlabelled(self) -> list[str]:
        """Places a person may be offered (in "which one?" or "did you say?") that have
        no label of their own in the content: the content check refuses them."""
        return [
            target
            for target in self._offered()
            if target in self.content.nodes and self._labels.get(target) == target
        ]

    def _offered(self) -> set[str]:
        targets = {p[1] for p in catalogue_phrases(self.content)}
        for node in self.content.nodes.values():
            targets.update(c.goto for c in node.choices)
        return {self._people.get(t, t) for t in targets}

    def label(self, target: str) -> str:
        """How the content names a place: the label of a choice leading there, the
        procedure's title, or for a command its label phrase. A place with none of these
        is refused by the content check, so no internal id is ever shown."""
        return self._labels[target]

    def _ask_which(self, state: State, result: MatchResult) -> str:
        state.pending = Pending(Question.WHICH, targets=tuple(result.targets), back=state.pending)
        return "@ask"

    # -- the current question ---------------------------------------------------------
    def _question(self, state: State) -> tuple[str, tuple[Choice, ...]]:
        content, pending = self.content, state.pending
        if pending is None:
            node = content.nodes[state.node]
            return node.text, node.choices
        kind = pending.kind
        if kind == Question.WHICH:
            return content.phrase("which_one"), tuple(
                Choice(str(i), self.label(t), (self.label(t),), t)
                for i, t in enumerate(pending.targets, start=1)
            )
        if kind == Question.CONFIRM:
            label = self.label(pending.target)
            return content.phrase("confirm", label=label), self._yes_no()
        if kind == Question.AUTONOMY:
            return content.phrase("autonomy"), self._autonomy_choices()
        if kind == Question.FOLLOWUP:
            return content.phrase("followup_person"), self._yes_no()
        if kind == Question.NUMBER:
            return content.phrase("number_ask"), ()
        if kind == Question.NUMBER_CONFIRM:
            spoken = in_pairs(pending.number)
            return content.phrase("number_confirm", number=spoken), self._yes_no()
        # kind == "no_link": other ways than a link
        procedure = content.procedure_of(state.node)
        choices = []
        if procedure.phone:
            choices.append(Choice("1", content.phrase("listen_label"), (), "@phone"))
        choices.append(Choice("2", content.phrase("place_label"), (), "@place"))
        choices.append(Choice("3", content.phrase("human_label"), (), "@human"))
        return content.phrase("no_link"), tuple(choices)

    @cached_property
    def _heard_anywhere(self) -> _Grammar:
        """What may be said at any question besides its answers (for a speech grammar):
        the commands said alone, danger, thanks, "I cannot read". Built once."""
        content = self.content
        alone = [a for c in content.commands.values() for a in c.alone]
        dangers = [p for d in content.dangers for p in d.phrases]
        return _Grammar.of([*alone, *dangers, *content.closings, *content.cannot_read])

    @cached_property
    def _heard_at_start(self) -> _Grammar:
        """`_heard_anywhere`, and what may be said at the main menu to name or describe a
        subject: the catalogue's phrases, and every word of the examples (a speech grammar
        built from single words lets the recogniser hear a sentence made of them)."""
        named = [text for text, *_ in catalogue_phrases(self.content)]
        described = [w for e in self.content.examples for w in e.text.split()]
        return _Grammar.of([*self._heard_anywhere.words, *named, *described])

    def _yes_no(self) -> tuple[Choice, ...]:
        yes, no = self.content.answers["yes"], self.content.answers["no"]
        return (Choice("1", yes[0], yes, "@yes"), Choice("2", no[0], no, "@no"))

    def _autonomy_choices(self) -> tuple[Choice, ...]:
        """Alone (a yes), with help, or not at all (a no)."""
        phrase = self.content.phrase
        yes, no = self.content.answers["yes"], self.content.answers["no"]
        helped = phrase("autonomy_helped")
        return (
            Choice("1", phrase("autonomy_alone"), (phrase("autonomy_alone"), *yes), "@" + ALONE),
            Choice("2", helped, (helped,), "@" + HELPED),
            Choice("3", phrase("autonomy_none"), (phrase("autonomy_none"), *no), "@" + NO_LINK),
        )

    def _ask(self, state: State, simple: bool = False) -> Ask:
        prompt, choices = self._choices(state)
        node = self.content.nodes[state.node]
        if simple and state.pending is None and isinstance(node, QuestionNode):
            prompt = node.simple
        text = render_question(self.content, prompt, choices, state.channel)
        keys = tuple(
            dict.fromkeys(
                [c.key for c in choices if c.key]
                + [k for c in self.content.commands.values() for k in c.keys]
            )
        )
        kind = state.pending.kind if state.pending else None
        return Ask(kind or state.node, text, keys, number=kind == Question.NUMBER)

    def _choices(self, state: State) -> tuple[str, tuple[Choice, ...]]:
        """The question `state` waits on and its choices, with the offer of a person
        added at the last try when it has none."""
        prompt, choices = self._question(state)
        offers_a_person = any(c.goto == "@human" or c.goto in self._people for c in choices)
        if state.tries >= MAX_TRIES - 1 and not offers_a_person:
            choices = (*choices, Choice("0", self.content.phrase("human_label"), (), "@human"))
        return prompt, choices

    # -- moving -----------------------------------------------------------------------
    def _answer(self, state: State, goto: str) -> list[Action]:
        content, pending = self.content, state.pending
        if goto == "@ask":  # the engine asks its own question (which one? / did you say?)
            return [self._ask(state)]
        if goto == "@followup" and pending is not None:
            return self._followup(state, pending.target)
        if goto == "@repeat":
            return [*(Say(t) for t in state.replay), self._ask(state)]
        if goto == "@menu":
            state.history = []
            return self._enter(state, content.start)
        if goto == "@back":
            if pending is not None:
                state.pending = pending.back
                if state.pending is not None or content.nodes[state.node].type == "question":
                    return [self._ask(state)]
            if state.history:
                return self._enter(state, state.history.pop(), push=False)
            return self._enter(state, content.start, push=False)
        if goto == "@human":
            if pending is not None and pending.kind == Question.NO_LINK:
                title = content.procedure_of(state.node).title
                return self._hand_off(state, content.phrase("reason_no_link", title=title))
            return self._hand_off(state, content.phrase("reason_asked"))
        if pending is None:
            return self._enter(state, goto)
        kind = pending.kind
        if kind == Question.WHICH:
            state.pending = pending.back
            return self._enter(state, goto)
        if kind == Question.CONFIRM:
            state.pending = pending.back
            if goto == "@yes":
                return self._answer(state, pending.target)
            return self._retry(state, "no_match")
        if kind == Question.FOLLOWUP:
            if goto == "@yes":
                title = content.procedure_of(pending.target).title
                return self._hand_off(state, content.phrase("reason_followup", title=title))
            state.pending = None
            return self._enter(state, content.after_procedure)
        if kind == Question.AUTONOMY:
            state.autonomy = goto[1:] if goto[1:] in AUTONOMY else state.autonomy
            return self._enter(state, state.node, push=False)
        if kind == Question.NUMBER_CONFIRM:
            if goto == "@yes":
                state.sms_to = pending.number
                return self._enter(state, state.node, push=False)
            state.pending = Pending(Question.NUMBER)
            return [self._ask(state)]
        if kind == Question.NO_LINK:
            procedure = content.procedure_of(state.node)
            if goto == "@phone" and procedure.phone:
                told = self._told(procedure.id)
            else:
                told = [Say(place_text(content, procedure.topic, state.channel))]
            return [*told, *self._enter(state, self._after(state.node))]
        return self._enter(state, goto)

    def _followup(self, state: State, nid: str) -> list[Action]:
        """Something went wrong with a right already asked for: what to do, the line, and
        the offer of a person."""
        content = self.content
        node = content.nodes[nid]
        procedure = content.procedure_of(nid)
        state.node, state.tries = nid, 0
        state.topic = node.topic or state.topic
        said = [
            Say(content.phrase("understood_followup", label=self.label(nid))),
            Say(procedure.followup),
        ]
        if procedure.phone:
            number = procedure.phone.number
            shown = written_phone(number) if state.channel == "sms" else in_pairs(number)
            said.append(Say(content.phrase("phone_line", number=shown, cost=procedure.phone.cost)))
        return [*said, self._ask(state)]

    def _told(self, procedure_id: str) -> list[Action]:
        """A procedure told aloud to a person who cannot use a link: what it is, the
        papers one by one, the phone line twice, and how to hear it all again."""
        content = self.content
        procedure = content.procedures[procedure_id]
        told: list[Action] = [Say(procedure.voice), Say(content.phrase("papers_intro"))]
        told += [Say(capitalised(sentence(document))) for document in procedure.documents]
        if procedure.phone:
            number = in_pairs(procedure.phone.number)
            told.append(Say(content.phrase("phone_line", number=number, cost=procedure.phone.cost)))
            told.append(Say(content.phrase("phone_again", number=number)))
        told.append(Say(content.phrase("replay_hint")))
        return told

    def _after(self, nid: str) -> str:
        return self.content.nodes[nid].next or self.content.after_procedure

    def _enter(self, state: State, nid: str, push: bool = True) -> list[Action]:
        content = self.content
        if (
            push
            and state.pending is None
            and state.node != nid
            and content.nodes.get(state.node, None) is not None
            and content.nodes[state.node].type == "question"
        ):
            state.history.append(state.node)
        node = content.nodes[nid]
        state.node, state.tries, state.pending = nid, 0, None
        if node.topic:
            state.topic = node.topic
        if node.type == "question":
            if nid == content.start:
                state.history = []
            return [self._ask(state)]
        if isinstance(node, MessageNode):
            return [Say(node.text), *self._enter(state, self._after(nid), push=False)]
        if isinstance(node, HandoffNode):
            return self._hand_off(state, node.reason, node.text)
        if node.type == "end":
            state.status = ENDED
            return [Say(node.text or content.phrase("goodbye")), End("completed")]
        # procedure
        if state.autonomy not in AUTONOMY:
            state.pending = Pending(Question.AUTONOMY)
            return [self._ask(state)]
        if state.autonomy == NO_LINK:
            state.pending = Pending(Question.NO_LINK)
            return [self._ask(state)]
        if not state.can_sms and not state.sms_to:  # a landline: ask for a mobile number
            state.pending = Pending(Question.NUMBER)
            return [self._ask(state)]
        procedure = content.procedure_of(nid)
        state.sent.append(procedure.id)
        if state.channel == "sms":
            actions: list[Action] = [SendProcedure(procedure.id)]
        else:
            actions = [
                Say(procedure.voice),
                SendProcedure(procedure.id, state.sms_to),
                Say(content.phrase("sms_sent")),
            ]
        if state.autonomy == HELPED:  # the link, and where to find someone to open it with
            help_text = place_text(content, procedure.topic, state.channel)
            actions += [Say(content.phrase("help_nearby")), Say(help_text)]
        return actions + self._enter(state, self._after(nid), push=False)

    def _hand_off(self, state: State, reason: str, text: str = "") -> list[Action]:
        state.status, state.pending = HANDOFF, None
        topic = state.topic or ANY_TOPIC
        return [HandOff(topic, reason, text=text or self.content.phrase("handoff"))]

    def _retry(self, state: State, why: str) -> list[Action]:
        state.tries += 1
        if state.tries >= MAX_TRIES:
            return self._hand_off(state, self.content.phrase("reason_stuck"))
        return [Say(self.content.phrase(why)), self._ask(state, simple=True)]

    def _migrate(self, state: State) -> bool:
        """Carry a conversation over to new content. False when its place is gone."""
        nodes = self.content.nodes
        node = nodes.get(state.node)
        waiting = node is not None and (
            (node.type == "question" and state.pending is None)
            or (
                isinstance(node, ProcedureNode)
                and state.pending is not None
                and node.procedure in self.content.procedures
            )
        )
        state.version = self.content.version
        if not waiting:
            return False
        state.history = [n for n in state.history if n in nodes]
        pending = state.pending
        if pending and pending.kind in (Question.WHICH, Question.CONFIRM):
            state.pending = pending.back
        return True
