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
            words = ", ".join(f"« {w} »" for w in missing)
            problems.append(
                Problem(
                    node.file,
                    node.line,
                    f"le nœud '{node.id}' : le modèle de reconnaissance de la voix "
                    f"({content.lang}) ne connaît pas {words} : une personne qui les dit ne "
                    "sera pas comprise (prenez d'autres mots, ou les touches)",
                    severity,
                )
            )
    missing = recogniser.missing_words(content.decoys)
    if missing:
        problems.append(
            Problem(
                f"{content.lang}/language.yaml",
                1,
                "des mots leurres (decoys) sont inconnus du modèle de reconnaissance de la voix : "
                + ", ".join(missing),
                severity,
            )
        )
    return problems
