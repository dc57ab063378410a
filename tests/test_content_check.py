"""The content check: one broken example per rule, each reported with file, line, reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dialogues.loader import check_content, load_content
from dialogues.procedure_text import procedure_sms, written_phone
from dialogues.sms_encoding import sms_size
from dialogues.source import ContentError
from relais.cli import main as relais_main

from .conftest import make_content

LONG_STEP = "Achetez le timbre " + "tres long " * 20
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
        "écriture YAML",
        "error",
    ),
    (
        "written-twice",
        "dialogue.yaml",
        [("  cni:\n", "  cni:\n    type: question\n")],
        "    type: procedure\n    procedure: cni",
        "écrit deux fois",
        "error",
    ),
    (
        "unknown-target",
        "dialogue.yaml",
        [("goto: papiers", "goto: papier")],
        "goto: papier",
        "mène au nœud 'papier', qui n'existe pas",
        "error",
    ),
    (
        "unreachable",
        "dialogue.yaml",
        [("goto: aide", "goto: fin")],
        "  aide:",
        "ne peut pas être atteint",
        "error",
    ),
    (
        "no-way-out-message",
        "dialogue.yaml",
        [("    next: travail\n", "")],
        "  travail_info:",
        "n'a pas de suite",
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
        "n'a pas de suite",
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
        "la touche 1 sert deux fois",
        "error",
    ),
    (
        "reserved-key",
        "dialogue.yaml",
        [("      - key: 3\n", "      - key: 0\n")],
        "      - key: 0",
        "la touche '0' n'est pas permise",
        "error",
    ),
    (
        "no-key-no-words",
        "dialogue.yaml",
        [("      - key: 3\n        label: parler", "      - label: parler")],
        "      - label: parler",
        "un choix a besoin d'une touche ou de mots",
        "error",
    ),
    (
        "missing-prompt",
        "dialogue.yaml",
        [('    prompt: "Vos papiers."\n', "")],
        "  papiers:",
        "n'a pas de texte 'prompt'",
        "error",
    ),
    (
        "unknown-procedure",
        "dialogue.yaml",
        [("procedure: passeport", "procedure: passport")],
        "procedure: passport",
        "la démarche 'passport' n'existe pas",
        "error",
    ),
    (
        "unknown-field",
        "dialogue.yaml",
        [('prompt: "Vos papiers."', 'promt: "Vos papiers."')],
        "promt:",
        "le champ 'promt' n'existe pas",
        "error",
    ),
    (
        "unknown-type",
        "dialogue.yaml",
        [("    type: end\n", "    type: fin\n")],
        "    type: fin",
        "le type doit être",
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
        "lit 5 choix",
        "error",
    ),
    (
        "http-url",
        "procedures.yaml",
        [("url: https://www.francetravail.fr", "url: http://www.francetravail.fr")],
        "url: http://www.francetravail.fr",
        "doit commencer par https://",
        "error",
    ),
    (
        # The SMS is written from the fields: a long step makes it too long.
        "sms-too-long",
        "procedures.yaml",
        [("      - Achetez le timbre.\n", f"      - {LONG_STEP}\n")],
        "    steps:\n      - Achetez le timbre",
        "soit 3 SMS",
        "error",
    ),
    (
        # A sign with no plain equivalent would switch the whole SMS to UCS-2.
        "sms-ucs2-char",
        "procedures.yaml",
        [("      - Allez sur le site.\n", "      - Allez sur le site \U0001f600.\n")],
        "    steps:\n      - Allez sur le site",
        "n'existe pas dans les SMS simples",
        "error",
    ),
    (
        # The SMS must give the phone number: here the phrase that writes it lost {number}.
        "sms-without-number",
        "language.yaml",
        [('sms_phone: "Aide : {number}, {cost}"', 'sms_phone: "Aide : {cost}"')],
        None,
        "le SMS doit donner le numéro 34 00",
        "error",
    ),
    (
        "sms-field-left",
        "procedures.yaml",
        [('    voice: "Vous achetez', '    sms: "Passeport: 3400"\n    voice: "Vous achetez')],
        '    sms: "Passeport',
        "le champ 'sms' n'existe pas",
        "error",
    ),
    (
        "unknown-cost",
        "procedures.yaml",
        [("      cost: service_free\n", "      cost: gratuit\n")],
        "      cost: gratuit",
        "le prix 'gratuit' n'existe pas (prix possibles : free, normal, service_free)",
        "error",
    ),
    (
        "unexplained-acronym",
        "procedures.yaml",
        [
            (
                'voice: "Vous vous inscrivez sur le site de France Travail."',
                'voice: "Avec le RSA, vous êtes inscrit à France Travail."',
            )
        ],
        'voice: "Avec le RSA',
        "le sigle RSA n'est pas expliqué la première fois",
        "warning",
    ),
    (
        "steps-count",
        "procedures.yaml",
        [("      - Cliquez sur s'inscrire.\n      - Remplissez le formulaire.\n", "")],
        "    steps:\n      - Allez sur le site.",
        "a 1 étapes (steps) : écrivez-en de 3 à 5",
        "error",
    ),
    (
        "keyword-clash",
        "dialogue.yaml",
        [("words: [travail, emploi]", "words: [travail, emploi, passeports]")],
        "words: [travail, emploi, passeports]",
        "se disent presque pareil",
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
        "une phrase dite de 21 mots",
        "warning",
    ),
    (
        "phrase-blank",
        "language.yaml",
        [('confirm: "Vous avez dit : {label} ?"', 'confirm: "Vous avez dit : {mot} ?"')],
        "confirm:",
        "mot entre accolades inconnu : 'mot'",
        "error",
    ),
    (
        "time-slot-unknown",
        "danger.yaml",
        [('"il y a {count} {unit}"', '"il y a {count} {unite}"')],
        '"il y a {count} {unite}"',
        "a un mot entre accolades inconnu 'unite'",
        "error",
    ),
    (
        "not-when-unknown",
        "danger.yaml",
        [("    not_when: [over]\n", "    not_when: [plus_tard]\n")],
        "    not_when: [plus_tard]",
        "not_when 'plus_tard' n'est pas un moment de times",
        "error",
    ),
    (
        "reading-rule-unreadable",
        "language.yaml",
        [("    - [ph, f]\n", "    - [ph(, f]\n")],
        "    - [ph(, f]",
        "règle « ph( » illisible",
        "error",
    ),
    (
        "reading-rule-not-a-pair",
        "language.yaml",
        [("    - [sch, x]\n", "    - [sch]\n")],
        "    - [sch]",
        "reading, sound_rules : écrivez des paires",
        "error",
    ),
    (
        "reading-shorthand-two-words",
        "language.yaml",
        [("    vx: veux\n", "    v x: veux\n")],
        "    v x: veux",
        "reading, shorthands : un mot",
        "error",
    ),
    (
        "danger-for-a-minor-unknown",
        "danger.yaml",
        [("    for_a_minor: child", "    for_a_minor: enfant")],
        "    for_a_minor: enfant",
        "for_a_minor 'enfant' n'est pas une situation",
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
    found = [p for p in problems if reason in p.message]
    assert found, f"no problem mentions {reason!r}; got: {[str(p) for p in problems]}"
    if marker is None:  # a phrase of language.yaml: reported where the procedure is
        name, marker = "procedures.yaml", "    phone:"
    line = _line_of(folder / name, marker)
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
    assert [str(p) for p in problems] == ["fr/places.yaml:1: erreur: le fichier manque"]


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
    out = capsys.readouterr().out
    assert "fr: OK" in out and "conseil(s)" in out
    bad = make_content(tmp_path / "bad", {"dialogue.yaml": [("goto: papiers", "goto: nulle_part")]})
    assert relais_main(["check", "--content", str(bad)]) == 1
    out = capsys.readouterr().out
    line = _line_of(bad / "dialogue.yaml", "goto: nulle_part")
    assert (
        f"fr/dialogue.yaml:{line}: erreur: le nœud 'menu' : un choix mène au nœud 'nulle_part', "
        "qui n'existe pas" in out
    )


def test_shipped_french_content_passes() -> None:
    content, problems = check_content(Path(__file__).resolve().parent.parent / "content" / "fr")
    assert [str(p) for p in problems if p.severity == "error"] == []
    assert content is not None and len(content.procedures) >= 20


def test_the_sms_is_written_from_the_fields(mini_dir: Path) -> None:
    content = load_content(mini_dir)
    assert content.procedures["cni"].sms == (
        "Carte d'identité\n"
        "https://passeport.ants.gouv.fr/demarches-en-ligne\n"
        "A préparer : photo, justificatif de domicile\n"
        "1. Faites la pré-demande sur internet.\n"
        "2. Prenez rendez-vous à la mairie.\n"
        "3. Allez à la mairie avec vos papiers.\n"
        "Aide : 34 00, prix d'un appel"
    )
    procedure = content.procedures["ft_inscription"]
    assert procedure.phone.kind == "service_free"
    assert procedure.phone.cost == "service gratuit, prix d'un appel"
    # The same composition from the phrases alone; the title stands in for sms_title.
    assert procedure_sms(content.phrases, procedure, ["votre"]) == procedure.sms
    assert procedure.sms.startswith("L'inscription à France Travail\n")
    assert procedure.sms.splitlines()[2] == "A préparer : pièce d'identité"


@pytest.mark.parametrize(
    ("digits", "written"),
    [
        ("3230", "32 30"),
        ("3949", "39 49"),
        ("0809401401", "0 809 401 401"),
        ("0805204805", "0 805 204 805"),
        ("0123456789", "01 23 45 67 89"),
        ("115", "115"),
    ],
)
def test_phone_numbers_are_written_in_pairs(digits: str, written: str) -> None:
    assert written_phone(digits) == written


@pytest.mark.parametrize(
    "voice",
    [
        "Le RSA, c'est le revenu de solidarité active.",
        "Le revenu de solidarité active, le RSA, est pour vous.",
        "Avec le RSA (revenu de solidarité active), vous êtes inscrit.",
    ],
)
def test_an_acronym_explained_at_first_use_is_fine(tmp_path: Path, voice: str) -> None:
    old = 'voice: "Vous vous inscrivez sur le site de France Travail."'
    folder = make_content(tmp_path, {"procedures.yaml": [(old, f'voice: "{voice}"')]})
    _, problems = check_content(folder)
    assert not [str(p) for p in problems if "sigle" in p.message]


def test_the_french_sms_are_plain_and_short() -> None:
    content = load_content(Path(__file__).resolve().parent.parent / "content" / "fr")
    for procedure in content.procedures.values():
        size = sms_size(procedure.sms)
        assert size.encoding == "gsm7" and size.segments <= 2, procedure.id
        assert procedure.url in procedure.sms
        assert "EUR" not in procedure.sms and " + " not in procedure.sms
        if procedure.phone:
            assert written_phone(procedure.phone.number) in procedure.sms


def test_an_example_taken_for_a_danger_is_reported(tmp_path: Path) -> None:
    """An example is an ordinary message: if its words reveal a danger, a person who writes
    it would get an emergency line instead of their procedure."""
    french = Path(__file__).resolve().parent.parent / "content" / "fr"
    folder = tmp_path / "fr"
    shutil.copytree(french, folder)
    dialogue = folder / "dialogue.yaml"
    example = "      - je sais plus quoi faire\n"
    text = dialogue.read_text(encoding="utf-8")
    assert text.count(example) == 1
    dialogue.write_text(
        text.replace(example, "      - je sais plus quoi faire, mon mari me frappe\n"),
        encoding="utf-8",
    )
    _, problems = check_content(folder)
    found = [p for p in problems if "est pris pour une urgence" in p.message]
    assert [(p.file, p.line, p.severity) for p in found] == [
        ("fr/dialogue.yaml", _line_of(dialogue, "je sais plus quoi faire, mon mari"), "warning")
    ]
    assert "le numéro 3919" in found[0].message


def test_a_texted_list_reports_file_line_and_reason(tmp_path: Path) -> None:
    """A texted message (texted/*.tsv) needs its place after a tab, and the place must be a
    node of the dialogue: otherwise loading fails and says where."""
    folder = make_content(tmp_path)
    (folder / "texted").mkdir()
    (folder / "texted" / "a.tsv").write_text(
        "# messages\nmessage\texpected\tkind\n"
        "ma carte perdue\tcni\tsituation\n"
        "mon zorglub\tzorglub\tsituation\n"
        "un message sans lieu\n",
        encoding="utf-8",
    )
    _, problems = check_content(folder)
    found = [(p.file, p.line, p.severity) for p in problems if p.file == "fr/texted/a.tsv"]
    assert found == [("fr/texted/a.tsv", 4, "error"), ("fr/texted/a.tsv", 5, "error")]
    reasons = [p.message for p in problems if p.file == "fr/texted/a.tsv"]
    assert "'zorglub' n'est pas un nœud du dialogue" in reasons[0]
    assert "une tabulation" in reasons[1]
    with pytest.raises(ContentError):
        load_content(folder)
