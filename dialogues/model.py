"""The content model: what the YAML files of one language become once loaded and checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from .normalise import Reading

NODE_TYPES = ("question", "message", "procedure", "handoff", "end")
COMMANDS = ("repeat", "back", "menu", "human")
ANY_TOPIC = "humain"  # the topic of a hand-off with no subject: any mediator takes it
KEYS = tuple("0123456789*#")


@dataclass(frozen=True)
class Choice:
    key: str | None  # "1".."9", or None for a choice reached by words only
    label: str  # read in menus: "Pour {label}, tapez {key}."
    words: tuple[str, ...]  # what a person may say or type for it
    goto: str  # a node id (or, for the engine's own questions, an internal answer)
    line: int = field(default=0, compare=False)  # line of its words, for error messages
    goto_line: int = field(default=0, compare=False)


@dataclass(frozen=True, kw_only=True)
class Node:
    """A place of the dialogue; each type is a class of its own below. Every node may lead
    on, by the choices of a question or the `next` of a message or procedure."""

    type: ClassVar[str]
    id: str
    file: str
    line: int
    topic: str | None = None
    text: str = ""  # question prompt, message, words before a hand-off, goodbye
    choices: tuple[Choice, ...] = ()  # a question's
    next: str | None = None  # a message's (always), a procedure's (where to go after)


@dataclass(frozen=True, kw_only=True)
class QuestionNode(Node):
    type: ClassVar[str] = "question"
    simple: str = ""  # the simpler re-prompt


@dataclass(frozen=True, kw_only=True)
class MessageNode(Node):
    type: ClassVar[str] = "message"


@dataclass(frozen=True, kw_only=True)
class ProcedureNode(Node):
    type: ClassVar[str] = "procedure"
    procedure: str  # the id of a procedure of procedures.yaml


@dataclass(frozen=True, kw_only=True)
class HandoffNode(Node):
    type: ClassVar[str] = "handoff"
    reason: str = ""  # why a human is needed, for the mediator


@dataclass(frozen=True, kw_only=True)
class EndNode(Node):
    type: ClassVar[str] = "end"


NODE_CLASSES: dict[str, type[Node]] = {
    cls.type: cls for cls in (QuestionNode, MessageNode, ProcedureNode, HandoffNode, EndNode)
}


@dataclass(frozen=True)
class Phone:
    number: str  # digits only
    cost: str  # what the call costs, in words (the wording of its kind in language.yaml)
    kind: str = ""  # the kind of price: a name of `costs` in language.yaml ("free"...)


@dataclass(frozen=True)
class Procedure:
    id: str
    topic: str
    title: str
    keywords: tuple[str, ...]
    old_names: tuple[str, ...]
    url: str
    phone: Phone | None
    documents: tuple[str, ...]
    steps: tuple[str, ...]
    voice: str  # said before the SMS is sent; the papers are read from `documents`
    sms: str  # composed from the fields above by dialogues.procedure_text at load time
    warning: str = ""
    line: int = field(default=0, compare=False)  # line of its keywords in procedures.yaml
    sms_title: str = ""  # the SMS's first line (default: the title)
    followup: str = ""  # what to do when something went wrong (not paid, refused, a letter)


@dataclass(frozen=True)
class Example:
    """What a person may say or text about a place, for the model that learns from them:
    `followup` when it is about something that went wrong with a right already asked for."""

    text: str
    target: str  # a node id
    followup: bool
    file: str
    line: int


@dataclass(frozen=True)
class Place:
    id: str
    name: str
    address: str
    hours: str
    phone: str = ""
    topics: tuple[str, ...] = ()  # empty: every topic


@dataclass(frozen=True)
class Command:
    name: str  # one of COMMANDS
    keys: tuple[str, ...]
    words: tuple[str, ...]
    line: int = field(default=0, compare=False)  # line of its words in language.yaml
    alone: tuple[str, ...] = ()  # words that count only as the whole message ("pardon")


@dataclass(frozen=True)
class Danger:
    """A situation of danger (danger.yaml): the line to call, said first, and the phrases
    that reveal it."""

    id: str
    lines: tuple[str, ...]  # the numbers to call, digits only, the most fitting first
    say: str  # the first reply on the phone
    sms: str  # the first reply by SMS
    reason: str  # for the mediator
    phrases: tuple[str, ...]
    line: int = field(default=0, compare=False)  # line of its phrases in danger.yaml
    examples: tuple[str, ...] = ()  # what people in this situation say, for the model
    # The moments that rule it out (danger.yaml's `times`): a situation about right now.
    not_when: tuple[str, ...] = ()
    # The situation it is instead when the person says they are a minor (`minor` times).
    for_a_minor: str = ""


@dataclass(frozen=True)
class VoiceSettings:
    """How Relais's voice speaks a language (language.yaml's `voice`): Twilio's <Say>
    language and voice, and espeak-ng's voice for the rendered prompts."""

    say_language: str  # e.g. fr-FR
    say_voice: str  # e.g. Polly.Lea-Neural ("": Twilio's default voice)
    espeak: str  # e.g. roa/fr


@dataclass
class Content:
    """One language's content, checked. `version` changes whenever any file changes."""

    lang: str
    version: str
    start: str
    after_procedure: str
    nodes: dict[str, Node]
    procedures: dict[str, Procedure]
    places: tuple[Place, ...]
    commands: dict[str, Command]
    answers: dict[str, tuple[str, ...]]  # "yes" and "no": the words of a yes/no answer
    phrases: dict[str, str]
    voice: VoiceSettings  # how Relais's voice speaks it
    pronunciations: dict[str, str] = field(default_factory=dict)
    decoys: tuple[str, ...] = ()  # common words that absorb off-list speech
    dangers: tuple[Danger, ...] = ()  # in order: the first wins a tie
    distinct: tuple[tuple[str, str], ...] = ()  # danger words never taken for one another
    ordinary: tuple[str, ...] = ()  # messages that look like danger and are not (danger.yaml)
    harmless: tuple[str, ...] = ()  # phrases whose words are no danger ("me tape sur les nerfs")
    never_skipped: tuple[str, ...] = ()  # words a phrase never skips ("me faire tuer")
    # Moments said in a message (danger.yaml's `times`): a regular expression on its plain
    # words for each kind ("past", "later", and "now", which rules nothing out).
    times: dict[str, str] = field(default_factory=dict)
    closings: tuple[str, ...] = ()  # a whole message that ends politely ("merci")
    cannot_read: tuple[str, ...] = ()  # phrases of a person who says they cannot read
    # Whole SMS that stop Relais's messages ("stop") or ask for help ("help"), each as its
    # plain words (normalise.words_of joined by spaces: "arrêter" is "arreter").
    sms_words: dict[str, frozenset[str]] = field(default_factory=dict)
    examples: tuple[Example, ...] = ()  # what people say about each place (examples_model)
    texted: tuple[Example, ...] = ()  # messages as people text them (texted.py), for the model
    reading: Reading = field(default_factory=Reading)  # how its words are read for matching
    warnings: list = field(default_factory=list)

    def phrase(self, phrase_name: str, /, **values: str) -> str:
        return self.phrases[phrase_name].format(**values)

    def procedure_of(self, nid: str) -> Procedure:
        """The procedure of the procedure node `nid` (KeyError for any other node)."""
        node = self.nodes[nid]
        if not isinstance(node, ProcedureNode):
            raise KeyError(f"{nid} is a {node.type}, not a procedure")
        return self.procedures[node.procedure]
