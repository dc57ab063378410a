"""Words of the content that a speech model does not know: Vosk ignores them in a grammar
without a word, so a caller saying them could never be understood."""

from __future__ import annotations

from dialogues.engine import Engine, State
from dialogues.messages import CHECKS, Messages, load_messages
from dialogues.model import Content
from dialogues.source import Problem, problem

from .recognition import Recogniser


def vocabulary_problems(
    content: Content,
    recogniser: Recogniser,
    severity: str = "warning",
    say: Messages | None = None,
) -> list[Problem]:
    """One problem per question with words the model cannot recognise, in the words of
    `say` (a checks.yaml), else French."""
    say = say or load_messages(CHECKS)
    engine = Engine(content)
    problems = []
    for node in content.nodes.values():
        if node.type != "question":
            continue
        state = State(content.lang, content.version, "voice", node.id)
        missing = recogniser.missing_words(engine.expected_words(state))
        if missing:
            words = ", ".join(f"« {w} »" for w in missing)
            problems.append(
                problem(
                    say,
                    node.file,
                    node.line,
                    "speech.unknown_words",
                    severity,
                    id=node.id,
                    language=content.lang,
                    words=words,
                )
            )
    missing = recogniser.missing_words(content.decoys)
    if missing:
        problems.append(
            problem(
                say,
                f"{content.lang}/language.yaml",
                1,
                "speech.unknown_decoys",
                severity,
                words=", ".join(missing),
            )
        )
    return problems
