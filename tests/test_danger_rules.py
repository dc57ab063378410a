"""The danger matcher's rules on the real French content: a negation that is not the
phrase's own, a time that is not now, small words glued without their apostrophe, and
phrases of one ordinary word made whole. The messages are written for these tests; none
comes from the held-out or development lists."""

from __future__ import annotations

import pytest

from dialogues.engine import Engine
from dialogues.loader import load_content

from .conftest import FRENCH

ENGINE = Engine(load_content(FRENCH))


def found(message: str) -> str | None:
    danger = ENGINE.danger(message)
    return danger.id if danger else None


@pytest.mark.parametrize(
    ("message", "danger"),
    [
        ("je ne suis pas en danger, c'est pour mon RSA", None),
        ("il ne m'a jamais frappée, on se dispute pour la garde", None),
        ("on ne me frappe pas, je voudrais des informations sur le divorce", None),
        # The phrase's own negation still counts; "pas de" after a phrase is no negation.
        ("je n'arrive pas à respirer", "medical"),
        ("je suis à la rue pas de toit ce soir", "shelter"),
        ("il me frappe, je ne sais pas quoi faire", "violence"),
    ],
)
def test_a_negation_that_is_not_the_phrases_own_reveals_nothing(message, danger) -> None:
    assert found(message) == danger, message


@pytest.mark.parametrize(
    ("message", "danger"),
    [
        ("mon père a fait une crise cardiaque l'an dernier, carte d'invalidité", None),
        ("j'ai fait un malaise au travail la semaine dernière, arrêt pas payé", None),
        ("je vais être à la rue dans trois mois, mon bail se termine", None),
        # Said now, or about a child or violence: the time does not rule them out.
        ("il a fait un malaise il y a deux ans et là encore il fait un malaise", "medical"),
        ("mon mari a une crise cardiaque, il se tient la poitrine", "medical"),
        ("je suis à la rue ce soir, mon bail s'est terminé en mars", "shelter"),
    ],
)
def test_an_emergency_at_another_time_is_left_to_the_model(message, danger) -> None:
    assert found(message) == danger, message


@pytest.mark.parametrize(
    ("message", "danger"),
    [
        # Said to be over, at a time past: no situation, even with "maintenant".
        ("l'hiver dernier on dormait dehors, maintenant on a un logement, je veux l'APL", None),
        ("mon ancien mari me battait en 2015, on est divorcés, je change mon nom", None),
        ("j'ai voulu me suicider il y a 3 ans, je suis suivie et je vais mieux, pour l'AAH", None),
        ("ma fille a été battue l'an passé, elle va bien maintenant, sa bourse d'études", None),
        # Over without a time past, or happening again: still a danger.
        ("je vais bien mais mon mari me frappe quand il boit", "violence"),
        ("il me frappait il y a deux ans, c'était fini, et il recommence depuis hier", "violence"),
        ("j'ai eu un appartement l'an dernier et ce soir je suis à la rue", "shelter"),
    ],
)
def test_a_situation_said_to_be_over_at_a_time_past_is_no_danger(message, danger) -> None:
    assert found(message) == danger, message


@pytest.mark.parametrize(
    ("message", "danger"),
    [
        # After what is over, a danger with no time past is happening now.
        ("avant j'étais à la rue, maintenant j'ai un logement mais mon mari me frappe", "violence"),
        (
            "il me battait il y a deux ans, c'est fini, mais mon nouveau copain me frappe",
            "violence",
        ),
        # A time past after it places it in the past again.
        ("je vais bien maintenant, il me frappait il y a longtemps", None),
    ],
)
def test_a_danger_said_after_what_is_over_is_current(message, danger) -> None:
    assert found(message) == danger, message


def test_what_the_model_finds_is_ruled_out_at_another_time_too() -> None:
    """No phrase of a fire in these words: the model finds one, and the time rule of the
    phrases applies to what it finds."""
    now = "la fumée noire sort du local poubelle de mon immeuble"
    assert ENGINE._danger_matcher.find(now) is None
    assert found(now) == "fire"
    last_winter = "le détecteur de fumée sonnait et ça sentait le plastique brûlé l'hiver dernier"
    assert ENGINE._danger_matcher.find(last_winter) is None
    assert ENGINE._danger_model is not None
    model_says = ENGINE._danger_model.find(last_winter)
    assert model_says is not None and model_says.id == "fire"
    assert found(last_winter) is None


@pytest.mark.parametrize(
    ("message", "danger"),
    [
        ("il dit quil va se foutre en lair", "suicide"),
        ("il ma poussée contre le mur", "violence"),
        ("on ma mise a la porte ce soir", "shelter"),
    ],
)
def test_small_words_glued_without_apostrophe_are_read(message, danger) -> None:
    assert found(message) == danger, message


@pytest.mark.parametrize(
    ("message", "danger"),
    [
        ("j'ai commandé un couteau de cuisine, il n'est pas arrivé", None),
        ("mon fils s'est battu au collège, il est puni", None),
        ("je suis suivie par un médecin pour mon diabète", None),
        ("il a sorti un couteau devant moi", "threat"),
        ("je suis battue par mon mari", "violence"),
        ("un homme me suit depuis la gare", "threat"),
    ],
)
def test_one_ordinary_word_is_no_danger_a_whole_phrase_is(message, danger) -> None:
    assert found(message) == danger, message


@pytest.mark.parametrize(
    ("message", "danger"),
    [
        ("je vx me tuer ce soir", "suicide"),
        # "c fini" is "c'est fini": over, at a time past.
        ("mon ex me frappait en 2019 mais c fini, je demande le RSA", None),
        ("il me frappe tjrs, c pas fini", "violence"),
    ],
)
def test_sms_shorthands_are_read_out(message, danger) -> None:
    assert found(message) == danger, message


def test_a_shorthand_of_one_letter_leaves_letters_spelled_one_by_one() -> None:
    reading = ENGINE.content.reading
    assert reading.spelled_out(["c", "a", "f"]) == ["c", "a", "f"]
    assert reading.spelled_out(["c", "fini"]) == ["c", "est", "fini"]
    assert reading.spelled_out(["c", "est", "fini"]) == ["c", "est", "fini"]


@pytest.mark.parametrize(
    ("message", "danger"),
    [
        # Long ago, next to the phrase: told, not happening.
        ("j'ai subi des violences conjugales il y a 3 ans, je veux changer de nom", None),
        ("j'ai fait une tentative de suicide en 2015, je peux faire le concours ?", None),
        ("quand j'étais petit mon père me frappait, il me faut mon acte de naissance", None),
        # A present danger: the time is far from it, or it still goes on.
        ("je pense au suicide tous les jours, mon frère s'est suicidé il y a trois ans", "suicide"),
        ("mon mari me frappe, il a commencé il y a 3 ans", "violence"),
        ("j'ai perdu mon fils il y a 2 ans et depuis je veux plus vivre", "suicide"),
    ],
)
def test_a_danger_told_from_long_ago_is_no_danger_now(message, danger) -> None:
    assert found(message) == danger, message


@pytest.mark.parametrize(
    ("message", "danger"),
    [
        # "depuis" + a time: how long it has lasted, so it goes on now.
        ("mon mari me frappe depuis l'an dernier", "violence"),
        ("on dort dehors depuis l'hiver dernier avec mon fils", "shelter"),
        # The same time without "depuis" is a time past.
        ("mon mari me frappait l'an dernier, je veux changer de nom", None),
    ],
)
def test_a_time_after_depuis_is_how_long_it_lasts(message, danger) -> None:
    assert found(message) == danger, message


@pytest.mark.parametrize(
    ("message", "danger"),
    [
        # "maintenant" after the phrase: what came before is past.
        ("il y a des années mon ex me frappait, maintenant je veux un logement à mon nom", None),
        # ...however far the time past is from the phrase, when the phrase is told between
        # them: the story of that time.
        (
            "quand j'étais petit on m'a placé en foyer parce que mon père me battait, "
            "maintenant j'ai 30 ans et je voudrais mon dossier",
            None,
        ),
        ("quand j'étais petite j'étais en foyer, maintenant mon mari me frappe", "violence"),
        # "maintenant" with or before the phrase: it is current.
        ("l'an dernier j'ai porté plainte et maintenant il me frappe", "violence"),
        ("il y a des années on s'est séparés, maintenant il me menace de mort", "threat"),
    ],
)
def test_maintenant_makes_current_what_comes_after_it(message, danger) -> None:
    assert found(message) == danger, message


@pytest.mark.parametrize(
    ("message", "danger"),
    [
        # A joke next to the phrase, even said "encore": no danger...
        ("mdr mon fils dit qu'il va me tuer parce que j'ai liké sa photo", None),
        ("lol ma femme a encore mis le feu au barbecue, la mairie ouvre samedi ?", None),
        # ...except suicide, always taken seriously.
        ("je veux mourir mdr", "suicide"),
        # A story (a film, a book, the news) about a danger, suicide included.
        ("je regarde une série où le héros veut se suicider, c'est pour la prime", None),
        ("ma fille lit un livre sur un enfant battu, elle doit faire un exposé", None),
        # The joke far from the phrase, or the story about something else: a danger.
        (
            "mdr j'ai raté le bus, bon en vrai mon mari me frappe tous les soirs et j'ai peur",
            "violence",
        ),
        ("il a cassé la télé pendant le film et il me frappe", "violence"),
    ],
)
def test_a_joke_or_a_story_is_no_danger(message, danger) -> None:
    assert found(message) == danger, message


@pytest.mark.parametrize(
    ("message", "danger"),
    [
        # "faire" between "me" and "tuer": someone else would do it.
        ("je vais me faire tuer par mon père ce soir, il a un couteau", "threat"),
        ("mon frère va me faire tuer par ses copains, ils m'attendent en bas", "threat"),
        # The phrase's own "faire" still counts, and "me tuer" is still suicide.
        ("je vais me faire du mal ce soir", "suicide"),
        ("je vais me tuer ce soir", "suicide"),
    ],
)
def test_a_phrase_never_skips_a_word_that_changes_who_does_it(message, danger) -> None:
    assert found(message) == danger, message


@pytest.mark.parametrize(
    ("message", "danger"),
    [
        # A message about the subject, not living it: a training, an association, a box
        # of a form.
        ("il y a une case violences conjugales dans le formulaire, c'est pas mon cas", None),
        ("je suis bénévole, comment on oriente une personne qui dort dehors", None),
        ("un ami me parle de suicide, il y a des formations pour savoir quoi dire ?", None),
        # The same words with the danger happening now: a danger.
        ("je suis bénévole et ce soir je dors dehors", "shelter"),
        ("je coche la case ? mon mari me frappe encore", "violence"),
    ],
)
def test_a_message_about_the_subject_is_no_danger(message, danger) -> None:
    assert found(message) == danger, message


@pytest.mark.parametrize(
    ("message", "danger"),
    [
        # Words of danger.yaml's `distinct` pairs and `harmless` idioms: no danger...
        ("c quoi le numéro de sécu de mon bébé", None),
        ("les lunettes sont remboursées avec la complémentaire santé solidaire ?", None),
        ("ma carte bleue a été avalée par le distributeur", None),
        ("mon fils est dehors il joue au foot, c'est pour sa bourse", None),
        ("depuis janvier, aucun courrier de la caf", None),
        ("il me faut apprendre le français pour travailler", None),
        # ...and the words they look like still reveal one.
        ("la nounou secoue mon bébé quand il pleure", "child"),
        ("mon père me frappe avec la ceinture", "child"),
        ("mon fils a avalé des médicaments", "medical"),
        ("mwen anvi mouri", "suicide"),
    ],
)
def test_look_alike_words_are_not_taken_for_danger_words(message, danger) -> None:
    assert found(message) == danger, message


@pytest.mark.parametrize(
    ("message", "danger"),
    [
        # "noir" of "idées noires" said of a thing is no danger...
        ("mon chat est noir", None),
        ("mon écran de portable est tout noir depuis hier", None),
        ("ma voiture est noire", None),
        # ...said of one's thoughts, it is.
        ("j'ai des idées noires", "suicide"),
        ("je vois tout en noir depuis des semaines", "suicide"),
        ("tout est noir dans ma tête", "suicide"),
    ],
)
def test_black_is_dark_thoughts_only_when_said_of_them(message, danger) -> None:
    assert found(message) == danger, message


@pytest.mark.parametrize(
    ("message", "danger"),
    [
        # A year said in words, as speech is transcribed, is a time past.
        (
            "mon premier mari me battait, on a divorcé en quatre-vingt-dix-huit, c'est pour "
            "ma retraite",
            None,
        ),
        ("j'ai fait une tentative de suicide en deux mille quinze, je suis suivi", None),
        # Hesitations do not hide a time: a film, even "un film euh où".
        ("j'ai regardé un film euh où le monsieur il se suicidait, c'est pour ma box", None),
        # ...nor how long it has lasted: "depuis euh l'an dernier" is still "depuis".
        ("mon mari me frappe depuis euh l'an dernier", "violence"),
        # "encore" or "toujours" far from the phrase does not make it current...
        ("ma femme a fait une crise cardiaque en mars et je reçois encore ses lettres", None),
        # ...next to it, it does.
        ("il me frappait l'an dernier, il me frappe encore", "violence"),
        # A fire put out is over.
        ("un petit feu dans la cuisine hier, c'est éteint, les pompiers sont passés", None),
        ("le feu est éteint mais ça reprend dans la cuisine", "fire"),
    ],
)
def test_what_speech_says_of_time(message, danger) -> None:
    assert found(message) == danger, message


@pytest.mark.parametrize(
    ("message", "danger"),
    [
        # A person who says they are a minor gets the child's line (119) rather than the
        # 3919 (danger.yaml's for_a_minor)...
        ("on veut me marier de force au bled cet été, j'ai 16 ans", "child"),
        ("mon copain me frappe, j'ai 15 ans", "child"),
        ("mon copain me frappe, j'ai 25 ans", "violence"),
        # ...an adult keeps the 3919.
        ("on veut me marier de force au bled cet été, j'ai 26 ans", "violence"),
    ],
)
def test_a_minor_gets_the_line_for_children(message, danger) -> None:
    assert found(message) == danger, message
