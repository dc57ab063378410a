"""`relais try`: what Relais understands of a message, for content editors, in the
operator's language (operator.yaml's `try`)."""

from __future__ import annotations

from dialogues.engine import Engine
from dialogues.messages import Messages


def _named(engine: Engine, target: str) -> str:
    try:
        return f"{engine.label(target)} ({target})"
    except KeyError:
        return target


def understanding_report(engine: Engine, text: str, say: Messages) -> str:
    """The decision, then the 3 best subjects: the model's probability, the keyword
    score, and the words that pushed the model toward each."""
    lines = [say("try.text", text=text)]
    danger = engine.danger(text)
    understanding = engine.understanding
    if danger is not None:
        lines.append(say("try.danger", danger=danger.id, line=danger.lines[0]))
    else:
        found = understanding.understand(text)
        if found.matched:
            lines.append(
                say(
                    "try.matched_followup" if found.followup else "try.matched",
                    target=_named(engine, found.matched),
                    how=say("try.by_examples" if found.by_model else "try.by_keywords"),
                )
            )
        elif found.ambiguous:
            pair = say("try.or").join(_named(engine, t) for t in found.targets)
            lines.append(say("try.which", targets=pair))
        else:
            lines.append(say("try.not_understood"))
    candidates, followup = understanding.top(text)
    for rank, candidate in enumerate(candidates, start=1):
        words = ", ".join(f"{w} ({s:+.2f})" for w, s in candidate.words) or say("try.no_words")
        lines.append(
            say(
                "try.candidate",
                rank=rank,
                target=_named(engine, candidate.target),
                probability=100 * candidate.probability,
                keywords=min(candidate.keyword_score, 100),  # a longer phrase's bonus is internal
                words=words,
            )
        )
    if understanding.model is not None:
        lines.append(say("try.followup", percent=100 * followup))
    return "\n".join(lines)
