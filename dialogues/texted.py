"""Messages as people text them, each with the place it is about: the `texted/` folder of a
language's content, read for the examples' model.

The examples of procedures.yaml are what content editors write, in plain words, for each
place. People write otherwise: misspelt, phonetic, without accents, a life story with the
subject in the middle ("mon mari il est assis a la maison depuis 2 ans"). Lists of such
messages, written blindly by people who had not read the content, each message with the
place it should reach, teach the model how people write. They are training data only: no
one reads them back, the speech grammar and the danger model leave them aside, and the
held-out lists that measure Relais (tests/data and bench/data) are never copied into them.

list01 to list13 were the understanding model's development lists (bench/data's
understanding_dev_fr.tsv, then understanding_dev2_fr.tsv to understanding_dev13_fr.tsv,
the names their headers use); list14 to list27, nothing01 and nothing02 were written for
this folder. A new list is measured before the model learns from it (bench/matching.py's
`--heldout`), which makes it one more blind measure.

Each file is tab-separated: a header line (message, expected, kind), then one message per
line with its place (a node id, "<node>/suivi" for a follow-up on a right already asked
for) and its kind (not read here). A message that asks for nothing Relais does (small
talk, sent by mistake) has the main menu's id: the model learns it as a place of its own,
and a message it finds there gets "Je n'ai pas compris", the menu and the offer of a
person, rather than a person at once.
Lines starting with "#" are comments.
"""

from __future__ import annotations

from collections.abc import Container
from pathlib import Path

from .messages import Messages
from .model import Example
from .source import Problem, problem

FOLDER = "texted"
FOLLOWUP_SUFFIX = "/suivi"


def read_texted(
    directory: Path, say: Messages, places: Container[str]
) -> tuple[list[Example], list[Problem]]:
    """The texted messages of a language folder, in file then line order, and the problems
    found (each an error with file, line and reason)."""
    examples: list[Example] = []
    problems: list[Problem] = []
    folder = directory / FOLDER
    for path in sorted(folder.glob("*.tsv")) if folder.is_dir() else ():
        shown = f"{directory.name}/{FOLDER}/{path.name}"
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            problems.append(problem(say, shown, 1, "yaml.not_utf8", reason=exc.reason))
            continue
        rows = [(n, line) for n, line in enumerate(lines, 1) if line.strip() and line[0] != "#"]
        for number, line in rows[1:]:  # after the column names
            message, _, rest = line.partition("\t")
            expected = rest.split("\t")[0].strip()
            place = expected.removesuffix(FOLLOWUP_SUFFIX)
            if not message.strip() or not expected:
                problems.append(problem(say, shown, number, "texted.row"))
            elif place not in places:
                problems.append(problem(say, shown, number, "texted.place", place=place))
            else:
                followup = expected.endswith(FOLLOWUP_SUFFIX)
                examples.append(Example(message.strip(), place, followup, shown, number))
    return examples, problems
