"""The `relais` command as the people who run Relais use it: the real command in a
subprocess, with or without a terminal, and against a real server for `relais sms`."""

from __future__ import annotations

import argparse
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from relais.cli import build_parser
from relais.cli import main as relais_main

from .conftest import Running

RELAIS = str(Path(sys.executable).parent / "relais")
ADD = ["mediators", "add", "--name", "Amina", "--phone", "06 11 22 33 44"]


def clean_env(**env: str) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("RELAIS_", "TWILIO_"))}
    return {**kept, "RELAIS_RENDER_PROMPTS": "0", **env}


def run(
    args: list[str], cwd: Path, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [RELAIS, *args],
        cwd=cwd,
        env=clean_env(**env),
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,  # the content loads first; the machine may be busy
    )


@pytest.fixture
def data(tmp_path: Path) -> dict[str, str]:
    return {"RELAIS_DATA_DIR": str(tmp_path / "data")}


def test_help_is_in_french(tmp_path: Path) -> None:
    shown = run(["--help"], tmp_path)
    assert shown.returncode == 0
    assert shown.stdout.startswith("utilisation : relais [-h] COMMANDE ...")
    assert "commandes :" in shown.stdout and "afficher cette aide" in shown.stdout
    assert "mediators" in shown.stdout and "les médiateurs : add, list" in shown.stdout
    add = run(["mediators", "add", "--help"], tmp_path)
    assert add.returncode == 0
    assert add.stdout.startswith("utilisation : relais mediators add [-h] --name NOM")
    assert "Ajouter un médiateur" in add.stdout and "options :" in add.stdout
    for english in ("usage:", "show this help", "positional arguments", "error"):
        assert english not in shown.stdout + add.stdout


def _commands(parser: argparse.ArgumentParser, words: list[str]):
    """Every command and action of `relais`, as (its words, its parser)."""
    yield words, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, [*words, name])


def test_every_command_says_what_it_does_in_french(capsys) -> None:
    commands = list(_commands(build_parser(), []))
    assert len(commands) == 1 + 12 + 5  # relais, its commands, and their actions
    for words, parser in commands:
        assert parser.description, words
        for action in parser._actions:  # every option and argument is said
            assert action.help or isinstance(action, argparse._SubParsersAction), words
        with pytest.raises(SystemExit) as done:
            relais_main([*words, "--help"])
        assert done.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"utilisation : {' '.join(['relais', *words])} [-h]"), out
        assert "afficher cette aide" in out and "usage" not in out


@pytest.mark.parametrize(
    "words, refused_by, said",
    [
        (
            ["mediators", "list", "--name", "x"],
            "mediators list",
            "option ou argument inconnu : --name x",
        ),
        (["models", "list", "fr"], "models list", "option ou argument inconnu : fr"),
        (["models", "install"], "models install", "il manque : LANGUE"),
        (
            ["models", "install", "fr", "--url", "u", "--file", "f"],
            "models install",
            "--file : pas en même temps que --url",
        ),
        (
            ["prompts", "render", "--limit", "3"],
            "prompts render",
            "option ou argument inconnu : --limit 3",
        ),
        (["mediators", "add", "--phone", "0611223344"], "mediators add", "il manque : --name"),
        (["mediators", "add", "--name"], "mediators add", "--name : il manque sa valeur"),
        (
            ["mediators", "add", "--name", "A", "--phone", "06", "--pin=1"],
            "mediators add",
            "--pin : cette option ne prend pas de valeur (« 1 » en trop)",
        ),
        (
            ["mediators", "ajouter"],
            "mediators",
            "ACTION : « ajouter » n'existe pas (au choix : 'add', 'list')",
        ),
        (["outbox", "--limit", "dix"], "outbox", "--limit : « dix » n'est pas un nombre entier"),
        (["check", "--speach"], "check", "option ou argument inconnu : --speach"),
        (["forget"], "forget", "il manque : NUMÉRO"),
        (["mediators"], "mediators", "il manque : ACTION"),
        ([], "", "il manque : COMMANDE"),
    ],
)
def test_a_wrong_option_is_refused_in_french(capsys, words, refused_by, said) -> None:
    with pytest.raises(SystemExit) as refused:
        relais_main(words)
    assert refused.value.code == 2
    err = capsys.readouterr().err
    prog = f"relais {refused_by}".strip()  # the action's own parser refuses it
    assert err.startswith(f"utilisation : {prog} [-h]"), err
    assert f"\n{prog} : erreur : {said}" in err, err
    assert err.endswith(f"Pour l'aide : {prog} --help\n")


def test_a_wrong_option_is_refused_by_the_real_command(tmp_path: Path, data) -> None:
    refused = run(["mediators", "list", "--name", "x"], tmp_path, **data)
    assert refused.returncode == 2 and refused.stdout == ""
    assert "relais mediators list : erreur : option ou argument inconnu : --name x" in (
        refused.stderr
    )
    assert not (tmp_path / "data").exists()  # refused before anything is done


def test_mediators_list_says_when_there_is_none(tmp_path: Path, data) -> None:
    listed = run(["mediators", "list"], tmp_path, **data)
    assert listed.returncode == 0 and "Aucun médiateur" in listed.stdout


@pytest.mark.parametrize(
    "extra, said",
    [
        (["--phone", "12ab"], "« 12ab » n'est pas un numéro de téléphone"),
        (["--topics", "caf,papiers-magiques"], "Sujet inconnu : papiers-magiques"),
        (["--pin"], "Le code doit avoir 6 chiffres ou plus."),
    ],
)
def test_mediators_add_refuses_what_would_not_work(tmp_path: Path, data, extra, said) -> None:
    added = run([*ADD, *extra, "--password-stdin"], tmp_path, "un long mot de passe\n12\n", **data)
    assert added.returncode == 2 and said in added.stderr
    assert "Traceback" not in added.stderr
    assert "Aucun médiateur" in run(["mediators", "list"], tmp_path, **data).stdout


def test_mediators_add_reads_the_password_and_pin_from_stdin(tmp_path: Path, data) -> None:
    added = run(
        [*ADD, "--topics", "caf,emploi", "--pin", "--password-stdin"],
        tmp_path,
        "un long mot de passe\n432198\n",
        **data,
    )
    assert added.returncode == 0, added.stderr
    assert "Amina est ajouté" in added.stdout
    listed = run(["mediators", "list"], tmp_path, **data).stdout
    assert "Amina" in listed and "caf, emploi" in listed and "06 11" not in listed
    again = run([*ADD, "--password-stdin"], tmp_path, "un long mot de passe\n", **data)
    assert again.returncode == 1 and "un médiateur a déjà le numéro" in again.stderr


def test_without_a_terminal_mediators_add_says_how_to_give_the_password(
    tmp_path: Path, data
) -> None:
    added = run(ADD, tmp_path, **data)  # stdin is not a terminal, nothing set
    assert added.returncode == 2 and "Traceback" not in added.stderr
    assert "--password-stdin" in added.stderr and "RELAIS_NEW_PASSWORD" in added.stderr


def typed_at_a_terminal(args: list[str], cwd: Path, lines: list[str], env: dict) -> str:
    """Run the command at a terminal (a pseudo-terminal), typing `lines` at its prompts
    (getpass's, which end with " : "); everything it wrote there. Never waits for ever: a
    command that asks nothing more within 120 s is stopped and the test sees its output."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [RELAIS, *args],
        cwd=cwd,
        env=clean_env(**env),
        stdin=follower,
        stdout=follower,
        stderr=follower,
        start_new_session=True,  # no other terminal: getpass reads this one
    )
    os.close(follower)
    shown, answered, deadline = b"", 0, time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if select.select([leader], [], [], 0.2)[0]:
            try:
                shown += os.read(leader, 4096)
            except OSError:  # the command ended: its terminal is closed
                break
        prompts = shown.count(b" : ")
        if lines and prompts > answered and shown.endswith(b" : "):
            os.write(leader, (lines.pop(0) + "\n").encode())
            answered = prompts
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)
    try:
        while select.select([leader], [], [], 0.2)[0] and (chunk := os.read(leader, 4096)):
            shown += chunk
    except OSError:
        pass
    os.close(leader)
    return shown.decode("utf-8", "replace")


def test_the_password_is_typed_twice(tmp_path: Path, data) -> None:
    shown = typed_at_a_terminal(ADD, tmp_path, ["un long mot de passe", "un autre mot"], data)
    assert "encore une fois" in shown and "Les deux ne sont pas pareils" in shown
    assert "Aucun médiateur" in run(["mediators", "list"], tmp_path, **data).stdout
    shown = typed_at_a_terminal(ADD, tmp_path, ["un long mot de passe"] * 2, data)
    assert "Amina est ajouté" in shown


def test_relais_sms_from_another_folder_says_what_is_wrong(
    relais_server: Running, tmp_path: Path
) -> None:
    url = relais_server.server.url
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    sent = run(["sms", "--url", url, "caf"], elsewhere)
    assert sent.returncode == 2 and "pas de jeton" in sent.stderr and "Traceback" not in sent.stderr
    assert list(elsewhere.iterdir()) == []  # no relais-data made here
    other = tmp_path / "other-data"
    other.mkdir()
    (other / "local-auth-token").write_text("not-this-relais-token")
    refused = run(["sms", "--url", url, "caf"], elsewhere, RELAIS_DATA_DIR=str(other))
    assert refused.returncode == 1 and "(403)" in refused.stderr
    assert "Traceback" not in refused.stderr
    called = run(["call", "--url", url, "--keys", "1"], elsewhere, RELAIS_DATA_DIR=str(other))
    assert called.returncode == 1 and "(403)" in called.stderr
    public = relais_server.settings.public_url
    sent = run(
        ["sms", "--url", url, "caf"],
        elsewhere,
        TWILIO_AUTH_TOKEN="test-auth-token",
        RELAIS_PUBLIC_URL=public,
    )
    assert sent.returncode == 0 and "CAF" in sent.stdout
    down = run(["sms", "--url", "http://127.0.0.1:9", "caf"], elsewhere, TWILIO_AUTH_TOKEN="x")
    assert down.returncode == 1 and "Relais ne répond pas" in down.stderr
    down = run(["call", "--url", "http://127.0.0.1:9"], elsewhere, TWILIO_AUTH_TOKEN="x")
    assert down.returncode == 1 and "Relais ne répond pas" in down.stderr
    assert "Traceback" not in down.stderr and "pas de réponse de" in down.stdout


@pytest.fixture
def relais_server(tmp_path: Path):
    running = Running(tmp_path / "data")
    yield running
    running.close()


def test_output_read_in_part_ends_quietly(tmp_path: Path, data: dict[str, str]) -> None:
    """`relais check | head -1`: the reader closes the pipe after one line; the command
    stops without a Python traceback."""
    shell = f"'{RELAIS}' check | head -1"
    done = subprocess.run(
        ["bash", "-c", shell],
        cwd=tmp_path,
        env=clean_env(**data),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.stdout.startswith("fr: OK")
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr
