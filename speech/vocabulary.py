"""Words of the content that a speech model does not know: Vosk ignores them in a grammar
without a word, so a caller saying them could never be understood."""

from __future__ import annotations

from dialogues.engine import Engine, State
from dialogues.model import Content
from dialogues.source import Problem

from .recognition import Recogniser


def vocabulary_problems(
    content: Content, recogniser: Recogniser, severity: str = "warning"
) -> list[Problem]:
    """One problem per question with words the model cannot recognise."""
    engine = Engine(content)
    problems = []
    for node in content.nodes.values():
        if node.type != "question":
            continue
        state = State(content.lang, content.version, "voice", node.id)
        missing = recogniser.missing_words(engine.expected_words(state))
        if missing:
            words = ", ".join(f'"{w}"' for w in missing)
            problems.append(
                Problem(
                    node.file,
                    node.line,
                    f"node '{node.id}': the {content.lang} speech model does not know {words}: "
                    "a caller saying them cannot be understood (use other words, or keys)",
                    severity,
                )
            )
    missing = recogniser.missing_words(content.decoys)
    if missing:
        problems.append(
            Problem(
                f"{content.lang}/language.yaml",
                1,
                f"decoys unknown to the speech model: {', '.join(missing)}",
                severity,
            )
        )
    return problems
