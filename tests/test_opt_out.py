"""Stop, start again and help by SMS, as Twilio really handles them: its default keywords
are acted on and answered by Twilio itself (the simulator plays that side: it blocks the
sender, answers in English, and refuses any later message with error 21610), and the
content's French words are Relais's own. Against the real server."""

from __future__ import annotations

import pytest

from .conftest import Running

MOBILE = "+33612345678"
OPTED_OUT = "SELECT opted_out FROM people WHERE phone = :p"


def opted_out(relais: Running) -> bool:
    return bool(relais.rows(OPTED_OUT, p=MOBILE)[0][0])


def replies_to(relais: Running, sender: str = MOBILE) -> list[str]:
    return [body for to, body in relais.sim.twilio_replies if to == sender]


@pytest.mark.parametrize(
    "word", ["STOP", "stop", "STOPALL", "Unsubscribe", "CANCEL", "end", "QUIT", "revoke", "optout"]
)
def test_each_twilio_opt_out_word_stops_every_sms_and_gets_one_reply(
    relais: Running, word: str
) -> None:
    relais.sim.sms(MOBILE, "caf")
    assert relais.sim.sms(MOBILE, word) == []  # Relais does not answer: Twilio did
    assert opted_out(relais)
    assert len(replies_to(relais)) == 1  # Twilio's confirmation, and nothing more
    # Asking for a person afterwards opens no request for a mediator to call back.
    relais.sim.sms(MOBILE, "je veux parler à quelqu'un")
    relais.sim.sms(MOBILE, "0")
    assert relais.count("callback_requests") == 0
    assert relais.sim.undelivered == []  # Relais never tried to text the blocked number


@pytest.mark.parametrize("word", ["START", "yes", "Unstop"])
def test_each_twilio_opt_in_word_lets_relais_answer_again(relais: Running, word: str) -> None:
    relais.sim.sms(MOBILE, "END")
    assert relais.sim.sms(MOBILE, word) == []  # Twilio confirms it, Relais adds nothing
    assert not opted_out(relais)
    assert len(replies_to(relais)) == 2  # Twilio's stop, then its start confirmation
    assert relais.sim.sms(MOBILE, "caf")
    assert relais.sim.undelivered == []


def test_a_keyword_inside_a_sentence_is_an_ordinary_message(relais: Running) -> None:
    assert relais.sim.sms(MOBILE, "stop please")  # Twilio blocks whole messages only
    assert not opted_out(relais)
    assert replies_to(relais) == []


@pytest.mark.parametrize("word", ["HELP", "info"])
def test_help_gets_one_reply_twilios(relais: Running, word: str) -> None:
    assert relais.sim.sms(MOBILE, word) == []
    assert len(replies_to(relais)) == 1


def test_aide_gets_relais_s_french_help_only(relais: Running) -> None:
    (help_text,) = relais.sim.sms(MOBILE, "AIDE")
    assert "STOP" in help_text and "0" in help_text
    assert replies_to(relais) == []  # not a Twilio word: Twilio does not answer it


def test_a_french_stop_word_is_relais_s_own_confirmed_once(relais: Running) -> None:
    (confirmation,) = relais.sim.sms(MOBILE, "Arrêt !")
    assert "plus de SMS" in confirmation and "START" in confirmation
    assert replies_to(relais) == []  # Twilio did not block it: Relais's words reach the phone
    assert opted_out(relais)
    assert relais.sim.sms(MOBILE, "arrêter") == []
    assert relais.sim.sms(MOBILE, "caf") == []
    relais.sim.sms(MOBILE, "START")  # Twilio's word lifts Relais's stop too
    assert not opted_out(relais)
    assert relais.sim.sms(MOBILE, "caf")


def test_advanced_opt_out_keywords_are_taken_from_twilio(relais: Running) -> None:
    """With Advanced Opt-Out, Twilio says what it did (OptOutType), for the French words the
    operator added too: Relais records it and leaves the answer to Twilio."""
    for body, kind in (("DESINSCRIRE", "STOP"), ("REPRENDRE", "START"), ("AU SECOURS", "HELP")):
        params = relais.sim.sms_params(MOBILE, body)
        answer = relais.sim.post(relais.sim.public_url + "/sms", {**params, "OptOutType": kind})
        assert answer.status_code == 200 and "<Message>" not in answer.text
        assert opted_out(relais) == (kind == "STOP")
