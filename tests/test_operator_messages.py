"""The words for the people who run Relais and write its content are content
(content/<lang>/operator.yaml and checks.yaml): every message the code names is in the
French files with the values the code gives it, another language's file is refused when
it names a message French lacks or gives it other placeholders, and a second operator
language is a content folder only."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

from dialogues.messages import CHECKS, OPERATOR, MessagesError, load_messages, placeholders
from relais.cli import main as relais_main

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("dialogues", "speech", "core", "mediation", "runtime", "ivr", "sms", "relais")
ENGLISH = ROOT / "tests" / "data" / "en"
KOREAN = ROOT / "tests" / "data" / "ko"
KEY = re.compile(r"[a-z_]+\.[a-z0-9_-]+")


def _named(call: ast.Call) -> list[str]:
    """The message names a call passes (a string, or either branch of a conditional)."""
    names = []
    for arg in call.args:
        for value in (arg.body, arg.orelse) if isinstance(arg, ast.IfExp) else (arg,):
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                names.append(value.value)
    return names


def test_every_message_the_code_names_is_in_french_with_the_values_it_is_given() -> None:
    table = {**load_messages(OPERATOR).table, **load_messages(CHECKS).table}
    sections = {key.split(".")[0] for key in table}
    found, wrong = 0, []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(call, ast.Call):
                    continue
                for key in _named(call):
                    if not KEY.fullmatch(key) or key.endswith(".yaml"):  # a content file
                        continue
                    if key.split(".")[0] not in sections:
                        continue
                    found += 1
                    where = f"{path.relative_to(ROOT)}:{call.lineno}"
                    if key not in table:
                        wrong.append(f"{where}: no message {key!r}")
                        continue
                    given = {k.arg for k in call.keywords}
                    if None not in given and given != placeholders(table[key]):
                        wrong.append(f"{where}: {key!r} is given {sorted(given)}")
    assert found > 100 and not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    "written, refused",
    [
        ("chek:\n  ok: OK\n", "le message 'chek.ok' n'existe pas"),
        ("check:\n  ok: '{folder}: OK'\n", "le message 'check.ok' doit avoir les mots"),
        ("check:\n  no_folder: '{root'\n", "le message 'check.no_folder' a des accolades"),
        ("outbox:\n  none: [a, b]\n", "le message 'outbox.none' doit être un texte"),
        ("outbox: [\n", "ce fichier de messages ne se lit pas"),
    ],
)
def test_a_broken_messages_file_is_refused_with_its_file_and_the_message(
    tmp_path: Path, written: str, refused: str
) -> None:
    (tmp_path / OPERATOR).write_text(written, encoding="utf-8")
    with pytest.raises(MessagesError) as raised:
        load_messages(OPERATOR, tmp_path)
    assert str(raised.value).startswith(f"{tmp_path / OPERATOR} : ")
    assert refused in str(raised.value)


def test_a_message_left_out_is_said_in_french() -> None:
    english = load_messages(OPERATOR, ENGLISH)
    assert english("outbox.none") == "No SMS sent or kept."
    assert english("forget.nothing") == "Rien n'est gardé sur ce numéro."
    assert load_messages(OPERATOR, KOREAN) is load_messages(OPERATOR)  # no file: French


def test_a_second_operator_language_is_a_content_folder(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("RELAIS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(ENGLISH.parent))
    monkeypatch.setenv("RELAIS_OPERATOR_LANGUAGE", "en")
    with pytest.raises(SystemExit):
        relais_main(["--help"])
    shown = capsys.readouterr().out
    assert shown.startswith("usage: relais [-h] COMMAND ...")
    assert "Relais, the phone and SMS assistant." in shown and "commands:" in shown
    assert "check the content: each error" in shown
    assert relais_main(["outbox"]) == 0
    assert capsys.readouterr().out == "No SMS sent or kept.\n"
    assert relais_main(["check", "--content", str(KOREAN)]) == 0
    out = capsys.readouterr().out
    assert "ko: OK, " in out and " nodes, " in out and "piece(s) of advice" in out
    broken = tmp_path / "ko"
    shutil.copytree(KOREAN, broken)
    (broken / "places.yaml").unlink()  # its check's words are not in the folder checked
    assert relais_main(["check", "--content", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "ko/places.yaml:1: error: the file is missing\n" in out
    assert "ko: 1 error(s), " in out
