"""Understanding what people describe (issue 14): the model trained on the content's
examples, follow-ups for what went wrong, "which one?" when unsure, the menu and a person
when lost, on both channels; `relais try` for content editors; the checks of examples.

The held-out list (tests/data/heldout_understanding_fr.tsv) was written by someone who
read neither the content nor the examples; its messages must never be copied into them.
bench/matching.py prints the same figures beside the keyword matchers, and on a second
list written blind that nobody tuned on.
"""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path

import pytest

from dialogues.engine import Ask, Engine, HandOff, Say
from dialogues.loader import check_content, load_content
from dialogues.normalise import letters_joined, words_of
from relais.cli import main as relais_main
from testsupport.heldout import (
    KINDS,
    UNDERSTANDING,
    UNDERSTANDING_FRESH,
    load_heldout,
    load_understanding,
    matcher_score,
    relais_score,
)

from .conftest import FRENCH, make_content
from .test_safe_conversations import ENGINE, talk

ROWS = load_understanding()
NOTHING = UNDERSTANDING.parent / "heldout_nothing_fr.tsv"  # messages that ask for nothing
READING = ENGINE.content.reading


def reply(channel: str, *inputs: str) -> list[list]:
    """The actions of each turn after the welcome, for a person who opens links alone."""
    _, turns = talk(channel, *inputs, autonomy="alone")
    return turns[1:]


def said(actions: list) -> str:
    return " ".join(a.text for a in actions if isinstance(a, Say | Ask))


# -- the held-out list ---------------------------------------------------------------------
def test_the_list_is_large_and_varied() -> None:
    kinds = {kind: sum(k == kind for _, _, k in ROWS) for kind in KINDS}
    assert len(ROWS) >= 200
    assert kinds["situation"] >= 80 and kinds["followup"] >= 20 and kinds["letters"] >= 20
    places = {expected.split("/")[0] for _, expected, _ in ROWS}
    assert places <= set(ENGINE.content.nodes)


def _letters(text: str) -> str:  # case, accents, spaces and punctuation aside
    return "".join(words_of(text))


def test_no_held_out_message_was_copied_into_the_examples_or_texted_messages() -> None:
    """The model learns from the examples and the texted messages (content/fr/texted); a
    held-out message among them would be measured on what the model was taught. Both
    understanding lists and the first list of names are checked."""
    taught = {_letters(e.text) for e in (*ENGINE.content.examples, *ENGINE.content.texted)}
    held_out = [m for m, _, _ in ROWS] + [m for m, _ in load_heldout()]
    held_out += [m for m, _, _ in load_understanding(UNDERSTANDING_FRESH)]
    held_out += [m for m, _, _ in load_understanding(NOTHING)]
    assert len(held_out) > 700
    assert not [m for m in held_out if _letters(m) in taught]


def test_top1_holds_at_its_measured_level_and_beats_keywords_on_situations() -> None:
    """Issue 14 aims at 95 % overall and 90 % on situations; this session measured 90.7 %
    and 86.6 % (bench/matching.py). The test keeps what was reached from slipping back."""
    rows = [(m, e) for m, e, _ in ROWS]
    situations = [(m, e) for m, e, k in ROWS if k == "situation"]
    overall, described = relais_score(ENGINE, rows), relais_score(ENGINE, situations)
    assert overall.rate(overall.top1) >= 0.88, overall
    assert described.rate(described.top1) >= 0.84, described
    # Keywords alone, as before issue 14, understand far fewer situations.
    before = matcher_score(ENGINE, situations)
    assert before.rate(before.top1) < described.rate(described.top1) - 0.2


def test_few_messages_go_to_the_wrong_place_without_a_question() -> None:
    score = relais_score(ENGINE, [(m, e) for m, e, _ in ROWS])
    assert score.rate(score.misrouted) <= 0.09, score


def test_the_texted_messages_teach_the_places_they_name(tmp_path: Path) -> None:
    """A texted list's messages are training data: with a list where "zorglub" is the
    passport, a message with that word reaches the passport; without it, nothing."""
    folder = tmp_path / "fr"
    shutil.copytree(FRENCH, folder)
    shutil.rmtree(folder / "texted")
    message = "jai un souci avec mon zorglub"
    assert Engine(load_content(folder)).understanding.understand(message).matched is None
    rows = [f"le zorglub {n} il faut le refaire\tpasseport\tsituation" for n in range(6)]
    (folder / "texted").mkdir()
    (folder / "texted" / "list.tsv").write_text(
        "# a list\nmessage\texpected\tkind\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    engine = Engine(load_content(folder))
    assert len(engine.content.texted) == 6
    assert engine.understanding.understand(message).matched == "passeport"


def test_a_follow_up_is_told_by_what_went_wrong_not_by_the_name_of_the_place() -> None:
    understanding = ENGINE.understanding
    assert not understanding.understand("passeport").followup
    assert not understanding.understand("mon compte ameli").followup
    assert understanding.understand("mon passeport est toujours en fabrication").followup
    assert understanding.understand("les impots ont encore rien rembourse").followup


# -- what people get ----------------------------------------------------------------------
@pytest.mark.parametrize("channel", ["sms", "voice"])
def test_a_described_situation_reaches_its_procedure_and_says_what_was_understood(
    channel: str,
) -> None:
    (turn,) = reply(channel, "on m'a pris mon sac dans le métro avec ma carte d'identité dedans")
    assert "J'ai compris : la carte d'identité." in said(turn)


@pytest.mark.parametrize("channel", ["sms", "voice"])
def test_a_follow_up_says_what_to_do_gives_the_line_and_offers_a_person(channel: str) -> None:
    turn, yes = reply(channel, "mon rsa a toujours pas ete verser ce mois ci", "#1")
    text = said(turn)
    assert text.startswith("J'ai compris : un souci pour le RSA")
    assert "Appelez le 32 30." in text  # the CAF's line, in pairs on both channels
    assert "Voulez-vous parler à une personne ?" in text
    assert not any(a.__class__.__name__ == "SendProcedure" for a in turn)  # not the request
    handoff = next(a for a in yes if isinstance(a, HandOff))
    assert "la demande de RSA" in handoff.reason


def test_a_follow_up_declined_goes_on_with_anything_else() -> None:
    _, no = reply("sms", "jai recu une lettre des impots je comprend pas", "#2")
    assert "Voulez-vous autre chose ?" in said(no)


@pytest.mark.parametrize(
    "message",
    [
        "ça coûte trop cher le passeport",  # "coûte" is no "couteau"
        "combien coute la carte grise",
        "jai un soucis avec ma caf",  # "souci" is not "suicide"
        "jai recu une lettre de la caf je comprend pas",  # "lettre" is not "illettré"
        "on est mort de rire avec mon frere",
    ],
)
def test_ordinary_words_that_look_like_danger_or_illiteracy_are_not_taken_for_them(
    message: str,
) -> None:
    (turn,) = reply("sms", message)
    assert not any(isinstance(a, HandOff) and a.urgent for a in turn), said(turn)
    assert "Vous n'aurez rien à lire" not in said(turn)


def test_spelled_letters_are_one_word() -> None:
    joined = partial(letters_joined, small_words=READING.small_words, pairs=False)
    assert joined(["c", "a", "f"]) == ["caf"]
    assert joined(["mon", "a", "p", "l", "est", "en", "retard"]) == [
        "mon",
        "apl",
        "est",
        "en",
        "retard",
    ]
    assert joined(["j", "ai"]) == ["j", "ai"]
    # "c'est" written "c est" after the letters; "il y a" is words, not letters.
    assert joined(["c", "s", "s", "c", "est", "quoi"]) == ["css", "c", "est", "quoi"]
    assert joined(["il", "y", "a", "un", "souci"]) == ["il", "y", "a", "un", "souci"]
    (turn,) = reply("sms", "a p l")
    assert "aide pour le loyer" in said(turn)
    # The keyword matcher reads them too, in a sentence.
    (turn,) = reply("sms", "c s s c est quoi")
    assert "complémentaire santé" in said(turn)
    (turn,) = reply("sms", "a m e pour ma tante qui vient d arriver")
    assert "aide médicale de l'État" in said(turn)


@pytest.mark.parametrize(
    ("message", "understood"),
    [("mes im pots", "impôts"), ("le passe port de mon fils", "passeport")],
)
def test_a_word_written_in_two_is_read_whole(message: str, understood: str) -> None:
    (turn,) = reply("sms", message)
    assert understood in said(turn)


@pytest.mark.parametrize(
    "message", ["le chat du voisin est tout bleu", "jsuis plus quoi faire", "bonjour"]
)
def test_a_message_relais_cannot_place_gets_the_menu_with_a_person(message: str) -> None:
    (turn,) = reply("sms", message)
    text = said(turn)
    assert text.startswith("Je n'ai pas compris.")
    assert "parler à quelqu'un" in text


def test_small_talk_gets_the_menu_and_the_offer_of_a_person_not_a_person_at_once() -> None:
    """Messages that ask for nothing (small talk, sent by mistake), from a list written
    blind apart from the training list (texted/nothing01.tsv): most get "Je n'ai pas
    compris", the menu and the offer of a person; few take a mediator's time at once
    (measured: 121 and 21 of 150; 65 and 64 before the training list)."""
    understood = [ENGINE.understanding.understand(m) for m, _, _ in load_understanding(NOTHING)]
    assert len(understood) == 150
    assert sum(not u.targets for u in understood) >= 100
    assert sum(u.targets == ("@human",) for u in understood) <= 30
    (turn,) = reply("sms", "slt cv ? on se voit ce soir chez ta soeur")
    assert said(turn).startswith("Je n'ai pas compris.")


def test_unsure_between_two_places_asks_which_one_with_their_names() -> None:
    understanding = ENGINE.understanding
    unsure = [m for m, _, _ in ROWS if understanding.understand(m).ambiguous]
    assert unsure, "no message of the list makes Relais hesitate"
    (turn,) = reply("sms", unsure[0])
    text = said(turn)
    assert text.startswith("Vous voulez dire quoi ?")
    assert "@" not in text and "_" not in text


def test_a_number_that_is_not_a_choice_does_not_choose() -> None:
    (turn,) = reply("sms", "ca fait 3 mois que jattends ma carte vitale")
    assert "carte Vitale" in said(turn)


def test_spoken_descriptions_go_through_the_same_understanding() -> None:
    state, _ = ENGINE.start("voice", autonomy="alone")
    grammar = ENGINE.expected_words(state)
    assert "portefeuille" in grammar  # a word of the examples, not of any keyword
    (turn,) = reply("voice", "on m'a volé mon portefeuille avec ma carte d'identité dedans")
    assert "J'ai compris : la carte d'identité." in said(turn)


# -- for content editors ------------------------------------------------------------------
def test_relais_try_shows_three_subjects_scores_and_words(capsys) -> None:
    assert (
        relais_main(["try", "--content", str(FRENCH), "mon titre il expire le mois prochain"]) == 0
    )
    out = capsys.readouterr().out
    assert "Relais répond : le titre de séjour (sejour)" in out
    assert out.count("modèle") == 3 and "mots-clés" in out
    assert "expire" in out.split("1. ", 1)[1].splitlines()[0]


def test_every_french_example_reaches_its_own_place() -> None:
    _, problems = check_content(FRENCH)
    assert not [p for p in problems if "l'exemple" in p.message]


def test_a_procedure_with_too_few_examples_is_refused_with_file_and_line(tmp_path) -> None:
    folder = make_content(
        tmp_path,
        {"procedures.yaml": [("    keywords:", "    examples: [un, deux]\n    keywords:")]},
    )
    _, problems = check_content(folder)
    errors = [p for p in problems if p.severity == "error"]
    assert errors and "2 exemples" in errors[0].message and errors[0].line > 0


def test_a_follow_up_needs_examples_and_a_text_within_two_sms(tmp_path) -> None:
    folder = make_content(
        tmp_path,
        {
            "procedures.yaml": [
                (
                    "    keywords:",
                    "    followup:\n      text: " + "Regardez. " * 40 + "\n    keywords:",
                )
            ]
        },
    )
    _, problems = check_content(folder)
    messages = " ".join(p.message for p in problems if p.severity == "error")
    assert "n'a pas d'exemples" in messages
    assert "SMS" in messages
