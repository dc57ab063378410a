"""`relais try`: what Relais understands of a message, in French for content editors."""

from __future__ import annotations

from dialogues.engine import Engine


def _named(engine: Engine, target: str) -> str:
    try:
        return f"{engine.label(target)} ({target})"
    except KeyError:
        return target


def understanding_report(engine: Engine, text: str) -> str:
    """The decision, then the 3 best subjects: the model's probability, the keyword
    score, and the words that pushed the model toward each."""
    lines = [f"« {text} »"]
    danger = engine.danger(text)
    understanding = engine.understanding
    if danger is not None:
        lines.append(f"  Relais répond : DANGER ({danger.id}), il donne le {danger.lines[0]}")
    else:
        found = understanding.understand(text)
        if found.matched:
            kind = "un souci avec " if found.followup else ""
            how = "les exemples" if found.by_model else "les mots-clés"
            named = _named(engine, found.matched)
            lines.append(f"  Relais répond : {kind}{named}, trouvé par {how}")
        elif found.ambiguous:
            pair = " ou ".join(_named(engine, t) for t in found.targets)
            lines.append(f"  Relais demande : vous voulez dire {pair} ?")
        else:
            lines.append("  Relais n'a pas compris : il montre le menu et propose une personne")
    candidates, followup = understanding.top(text)
    for rank, candidate in enumerate(candidates, start=1):
        words = ", ".join(f"{w} ({s:+.2f})" for w, s in candidate.words) or "aucun"
        keywords = min(candidate.keyword_score, 100)  # a longer phrase's bonus is internal
        lines.append(
            f"  {rank}. {_named(engine, candidate.target)} : modèle "
            f"{100 * candidate.probability:.0f} %, mots-clés {keywords:.0f}/100, "
            f"mots : {words}"
        )
    if understanding.model is not None:
        lines.append(f"  Un souci avec une démarche déjà faite : {100 * followup:.0f} %")
    return "\n".join(lines)
