"""The content check: one broken example per rule, each reported with file, line, reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialogues.loader import check_content, load_content
from dialogues.source import ContentError
from relais.cli import main as relais_main

from .conftest import make_content

LONG_SMS = "Passeport: https://passeport.ants.gouv.fr/demarches-en-ligne " + "tres long " * 30
LONG_SENTENCE = (
    "Vous faites une pré-demande sur internet puis vous prenez un rendez-vous à la mairie "
    "de votre ville avec tous vos papiers."
)

# id, file, edits, marker (the reported line is the line of this text in the edited file),
# reason (a part of the message), severity
BROKEN = [
    (
        "yaml-syntax",
        "dialogue.yaml",
        [('prompt: "Vos papiers."', 'prompt: "Vos papiers." ]')],
        'prompt: "Vos papiers." ]',
        "YAML syntax",
        "error",
    ),
    (
        "written-twice",
        "dialogue.yaml",
        [("  cni:\n", "  cni:\n    type: question\n")],
        "    type: procedure\n    procedure: cni",
        "written twice",
        "error",
    ),
    (
        "unknown-target",
        "dialogue.yaml",
        [("goto: papiers", "goto: papier")],
        "goto: papier",
        "unknown node 'papier'",
        "error",
    ),
    (
        "unreachable",
        "dialogue.yaml",
        [("goto: aide", "goto: fin")],
        "  aide:",
        "cannot be reached",
        "error",
    ),
    (
        "no-way-out-message",
        "dialogue.yaml",
        [("    next: travail\n", "")],
        "  travail_info:",
        "no way out",
        "error",
    ),
    (
        "no-way-out-question",
        "dialogue.yaml",
        [
            (
                '    prompt: "Autre chose ?"\n    choices:\n      - key: 1\n        label: revenir au menu\n'
                "        goto: menu\n      - key: 2\n        label: terminer\n        goto: fin\n",
                '    prompt: "Autre chose ?"\n',
            )
        ],
        "  encore:",
        "no way out",
        "error",
    ),
    (
        "same-key",
        "dialogue.yaml",
        [
            (
                "      - key: 2\n        label: le travail",
                "      - key: 1\n        label: le travail",
            )
        ],
        "      - key: 1\n        label: le travail",
        "key 1 is used twice",
        "error",
    ),
    (
        "reserved-key",
        "dialogue.yaml",
        [("      - key: 3\n", "      - key: 0\n")],
        "      - key: 0",
        "key '0' is not allowed",
        "error",
    ),
    (
        "no-key-no-words",
        "dialogue.yaml",
        [("      - key: 3\n        label: parler", "      - label: parler")],
        "      - label: parler",
        "needs a key or words",
        "error",
    ),
    (
        "missing-prompt",
        "dialogue.yaml",
        [('    prompt: "Vos papiers."\n', "")],
        "  papiers:",
        "no 'prompt' text",
        "error",
    ),
    (
        "unknown-procedure",
        "dialogue.yaml",
        [("procedure: passeport", "procedure: passport")],
        "procedure: passport",
        "unknown procedure 'passport'",
        "error",
    ),
    (
        "unknown-field",
        "dialogue.yaml",
        [('prompt: "Vos papiers."', 'promt: "Vos papiers."')],
        "promt:",
        "unknown field 'promt'",
        "error",
    ),
    (
        "unknown-type",
        "dialogue.yaml",
        [("    type: end\n", "    type: fin\n")],
        "    type: fin",
        "type must be one of",
        "error",
    ),
    (
        "too-many-choices",
        "dialogue.yaml",
        [
            (
                "        goto: aide\n",
                "        goto: aide\n      - key: 4\n        label: a\n        goto: fin\n"
                "      - key: 5\n        label: b\n        goto: fin\n",
            )
        ],
        "    choices:",
        "reads 5 choices",
        "error",
    ),
    (
        "http-url",
        "procedures.yaml",
        [("url: https://www.francetravail.fr", "url: http://www.francetravail.fr")],
        "url: http://www.francetravail.fr",
        "must start with https://",
        "error",
    ),
    (
        "sms-too-long",
        "procedures.yaml",
        [
            (
                'sms: "Passeport: https://passeport.ants.gouv.fr/demarches-en-ligne 1. Timbre 2. Pré-demande 3. Mairie. Aide: 3400"',
                f'sms: "{LONG_SMS} 3400"',
            )
        ],
        'sms: "Passeport',
        "3 parts",
        "error",
    ),
    (
        "sms-ucs2-char",
        "procedures.yaml",
        [("1. S'inscrire", "1. S’inscrire")],
        "1. S’inscrire",
        "write ''' instead",
        "warning",
    ),
    (
        "sms-without-link",
        "procedures.yaml",
        [
            (
                'sms: "Inscription France Travail: https://www.francetravail.fr 1.',
                'sms: "Inscription France Travail: francetravail.fr 1.',
            )
        ],
        'sms: "Inscription France Travail',
        "must contain the link",
        "error",
    ),
    (
        "steps-count",
        "procedures.yaml",
        [("      - Cliquez sur s'inscrire.\n      - Remplissez le formulaire.\n", "")],
        "    steps:\n      - Allez sur le site.",
        "1 steps (write 3 to 5)",
        "error",
    ),
    (
        "keyword-clash",
        "dialogue.yaml",
        [("words: [travail, emploi]", "words: [travail, emploi, passeports]")],
        "words: [travail, emploi, passeports]",
        "sound the same",
        "error",
    ),
    (
        "long-sentence",
        "procedures.yaml",
        [
            (
                'voice: "Vous faites une pré-demande sur internet. Puis vous allez à la mairie."',
                f'voice: "{LONG_SENTENCE}"',
            )
        ],
        f'voice: "{LONG_SENTENCE}"',
        "spoken sentence of 21 words",
        "warning",
    ),
    (
        "phrase-blank",
        "language.yaml",
        [('confirm: "Vous avez dit : {label} ?"', 'confirm: "Vous avez dit : {mot} ?"')],
        "confirm:",
        "unknown blank 'mot'",
        "error",
    ),
]


def _line_of(path: Path, marker: str) -> int:
    text = path.read_text(encoding="utf-8")
    assert marker in text, marker
    return text[: text.index(marker)].count("\n") + 1 + (marker.startswith("\n"))


@pytest.mark.parametrize("case", BROKEN, ids=[case[0] for case in BROKEN])
def test_each_rule_reports_file_line_and_reason(tmp_path: Path, case) -> None:
    _, name, edits, marker, reason, severity = case
    folder = make_content(tmp_path, {name: edits})
    _, problems = check_content(folder)
    line = _line_of(folder / name, marker)
    found = [p for p in problems if reason in p.message]
    assert found, f"no problem mentions {reason!r}; got: {[str(p) for p in problems]}"
    assert any(
        p.file == f"fr/{name}" and p.line == line and p.severity == severity for p in found
    ), [str(p) for p in found]
    if severity == "error":
        with pytest.raises(ContentError) as raised:
            load_content(folder)
        assert reason in str(raised.value)
    else:
        load_content(folder)  # a warning never blocks loading


def test_missing_file_is_named(tmp_path: Path) -> None:
    folder = make_content(tmp_path)
    (folder / "places.yaml").unlink()
    _, problems = check_content(folder)
    assert [str(p) for p in problems] == ["fr/places.yaml:1: error: the file is missing"]


def test_yes_and_no_stay_words(tmp_path: Path) -> None:
    # YAML 1.1 would read `no` as false: a French content author writes "non", "no", "oui".
    folder = make_content(
        tmp_path,
        {"dialogue.yaml": [("words: [papiers, documents]", "words: [papiers, documents, no, on]")]},
    )
    content = load_content(folder)
    assert content.nodes["menu"].choices[0].words == ("papiers", "documents", "no", "on")


def test_check_command_exit_codes(tmp_path: Path, capsys) -> None:
    good = make_content(tmp_path / "good")
    assert relais_main(["check", "--content", str(good.parent)]) == 0
    assert "fr: OK" in capsys.readouterr().out
    bad = make_content(tmp_path / "bad", {"dialogue.yaml": [("goto: papiers", "goto: nulle_part")]})
    assert relais_main(["check", "--content", str(bad)]) == 1
    out = capsys.readouterr().out
    line = _line_of(bad / "dialogue.yaml", "goto: nulle_part")
    assert (
        f"fr/dialogue.yaml:{line}: error: node 'menu': a choice leads to unknown node 'nulle_part'"
        in out
    )


def test_shipped_french_content_passes() -> None:
    content, problems = check_content(Path(__file__).resolve().parent.parent / "content" / "fr")
    assert [str(p) for p in problems if p.severity == "error"] == []
    assert content is not None and len(content.procedures) >= 20
