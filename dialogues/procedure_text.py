"""The SMS of a procedure, composed from its structured fields.

procedures.yaml holds each procedure once: a short title, the link, the papers to have
ready, 3 to 5 steps, the phone line and an optional warning. The voice reads the papers one
by one; the SMS is written from the same fields here, so the two can never say different
things. Only a few fixed words of the SMS ("A préparer", "Aide") come from the phrases of
language.yaml. The result is plain GSM-7 (no circumflex, no curly apostrophe): the fields
keep their correct French spelling for the voice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .model import Procedure
from .sms_encoding import to_gsm7

_ELISION = ("'", "’")


def written_phone(digits: str) -> str:
    """A French phone number as people write it: "32 30", "0 809 401 401", "01 23 45 67 89".
    Other lengths (3-digit emergency lines, 6-digit numbers) stay as they are."""
    if not digits.isdigit():
        return digits
    if len(digits) == 4:
        return f"{digits[:2]} {digits[2:]}"
    if len(digits) == 10 and digits.startswith("08"):
        return f"{digits[0]} {digits[1:4]} {digits[4:7]} {digits[7:]}"
    if len(digits) == 10:
        return " ".join(digits[i : i + 2] for i in range(0, 10, 2))
    return digits


def sms_document(document: str, leading_words: Iterable[str] = ()) -> str:
    """One paper as the SMS lists it: without a leading small word of the language
    (language.yaml's `paper_small_words`: "votre RIB" reads "RIB", as on a checklist)."""
    lowered = document.lower()
    for word in leading_words:
        forms = [word[:-1] + mark for mark in _ELISION] if word.endswith(_ELISION) else [word + " "]
        for form in forms:
            if lowered.startswith(form) and len(document) > len(form):
                return document[len(form) :]
    return document


def sentence(text: str) -> str:
    """`text` ending as a sentence ends."""
    text = text.strip()
    return text if text.endswith((".", "!", "?", ":")) else text + "."


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def procedure_sms(
    table: Mapping[str, str], procedure: Procedure, leading_words: Iterable[str] = ()
) -> str:
    """The SMS of `procedure`: title, link, papers, numbered steps, phone line, warning.
    `table` is the language's phrases, `leading_words` its paper_small_words."""
    lines = [capitalised(procedure.sms_title or procedure.title), procedure.url]
    if procedure.documents:
        papers = ", ".join(sms_document(d, leading_words) for d in procedure.documents)
        lines.append(table["sms_documents"].format(documents=papers))
    lines += [f"{number}. {sentence(step)}" for number, step in enumerate(procedure.steps, 1)]
    if procedure.phone:
        lines.append(
            table["sms_phone"].format(
                number=written_phone(procedure.phone.number), cost=procedure.phone.cost
            )
        )
    if procedure.warning:
        lines.append(sentence(procedure.warning))
    return to_gsm7("\n".join(line.strip() for line in lines if line.strip()))
