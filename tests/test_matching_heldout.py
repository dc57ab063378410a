"""Matching a first SMS against the whole catalogue, on a held-out list.

The list (tests/data/heldout_messages_fr.tsv, 142 messages over every subject) was written
independently of the content's keywords, by someone who saw neither the content nor the
matcher; its spellings must never be copied into the content. bench/matching.py prints the
same figures beside plain keyword matching.
"""

from __future__ import annotations

import pytest
from rapidfuzz import fuzz, process

from dialogues.engine import Engine, catalogue_phrases
from dialogues.loader import load_content
from dialogues.similar_words import Vocabulary
from testsupport.heldout import keyword_score, load_heldout, relais_score

from .conftest import FRENCH

ROWS = load_heldout()


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_content(FRENCH))


def test_the_list_is_large_and_covers_every_subject(engine: Engine) -> None:
    assert len(ROWS) >= 80
    expected = {target.removesuffix("/suivi") for _, target in ROWS}
    topics = {
        "emploi",
        "caf",
        "sante",
        "identite",
        "vehicule",
        "impots",
        "sejour",
        "retraite",
        "energie",
        "formation",
        "jeunes",
        "handicap",
        "humain",
    }
    assert topics <= expected
    assert expected <= set(engine.content.nodes)


def test_top1_accuracy_is_at_least_95_percent(engine: Engine) -> None:
    score = relais_score(engine, ROWS)
    assert score.rate(score.top1) >= 0.95, score


def test_few_messages_are_sent_to_the_wrong_place_without_asking(engine: Engine) -> None:
    score = relais_score(engine, ROWS)
    assert score.rate(score.decided) >= 0.90, score
    assert score.rate(score.misrouted) <= 0.05, score


def test_relais_does_far_better_than_plain_keywords(engine: Engine) -> None:
    relais, plain = relais_score(engine, ROWS), keyword_score(engine.content, ROWS)
    assert relais.top1 >= plain.top1 + 0.2 * len(ROWS), (relais, plain)


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("anploi", "emploi"),
        ("kaf", "CAF"),
        ("karte vital", "carte Vitale"),
        ("lé zimpo", "les impôts"),
        ("pasport", "passeport"),
        ("rétrète", "retraite"),
        ("cheque energi", "chèque énergie"),
        ("inscripsion", "inscription"),
    ],
)
def test_phonetic_spellings_meet_the_right_words(engine: Engine, written: str, meant: str) -> None:
    normalise = engine.content.reading.normalise
    a, b = normalise(written), normalise(meant)
    assert len(a) == len(b)
    from rapidfuzz import fuzz

    assert all(fuzz.ratio(x, y) >= 72 for x, y in zip(a, b, strict=True)), (a, b)


@pytest.mark.parametrize(
    ("message", "place"),
    [
        ("pe", "emploi"),  # an abbreviation of two letters, as written
        ("je dois payer mon loyer", "caf_logement"),  # "payer" sounds like PE
        ("mes apls", "caf_logement"),  # a short name with a letter more at its end
        ("ma cnie", "cni"),
        ("appelez moi", "@human"),  # "appelez" is not the APL
        ("laah refusée", "handicap"),  # "l'AAH" glued, which sounds like "la"
    ],
)
def test_short_names_abbreviations_and_glued_articles(
    engine: Engine, message: str, place: str
) -> None:
    assert engine.catalogue_matcher.match(message).targets == (place,)


@pytest.mark.parametrize(
    "message",
    [
        "ma voisine est une vieille dame",  # "dame" is no "d'AME"
        "il pourra plus jamais",  # "jamais" sounds like "j'AME"
        "j'en ai marre",  # "marre" sounds like "m'ARE"
        "la tempête a cassé ma fenêtre",  # "tempête" sounds like "t'ANPE", and like "ANPE"
    ],
)
def test_a_whole_word_is_not_read_as_a_small_word_glued_to_a_short_name(
    engine: Engine, message: str
) -> None:
    assert engine.catalogue_matcher.match(message).targets == ()


def test_a_word_cut_short_is_not_a_glued_phrase(engine: Engine) -> None:
    """ "papier" once met "papiers étranger" glued into one word, and so the residence
    permit."""
    assert dict(engine.catalogue_matcher.rank("mon papier est abimé")).get("sejour", 0) < 60


def test_similar_words_are_found_among_the_words_of_a_length_that_may_reach_the_score(
    engine: Engine,
) -> None:
    """Vocabulary.similar compares a word only with the words whose length lets them reach
    the score: it finds what rapidfuzz finds over the whole vocabulary."""
    reading = engine.content.reading
    words = sorted(
        {w for text, *_ in catalogue_phrases(engine.content) for w in reading.normalise(text)}
    )
    vocabulary = Vocabulary(words)
    variants = {v for w in words for v in (w, w[1:], w + "e", w[:2] + w[3:], w * 2)}
    for cutoff in (72.0, 80.0, 85.0):
        for word in variants:
            found = process.extract(word, words, scorer=fuzz.ratio, score_cutoff=cutoff, limit=None)
            assert dict(vocabulary.similar(word, cutoff)) == {m: s for m, s, _ in found}
