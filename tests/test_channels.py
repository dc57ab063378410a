"""Calls and text messages through the real HTTP server, driven by the Twilio simulator,
for every subject of the French content; storage on SQLite (and PostgreSQL in CI)."""

from __future__ import annotations

import time
from collections import deque
from datetime import UTC, datetime

import pytest
import sqlalchemy

from dialogues.loader import load_content
from testsupport.processes import eventually

from .conftest import FRENCH, Running
from .netswitch import Switch

MOBILE = "+33612345678"
LANDLINE = "+33145678901"

CONTENT = load_content(FRENCH)


def key_paths() -> dict[str, list[str]]:
    """The keys that lead from the start to each procedure node."""
    paths, todo, seen = {}, deque([(CONTENT.start, [])]), set()
    while todo:
        nid, keys = todo.popleft()
        if nid in seen:
            continue
        seen.add(nid)
        node = CONTENT.nodes[nid]
        if node.type == "procedure":
            paths[nid] = keys
        for choice in node.choices:
            if choice.key:
                todo.append((choice.goto, [*keys, choice.key]))
    return paths


PATHS = key_paths()


def test_every_procedure_is_reachable_by_keys() -> None:
    offered = {n.procedure for n in CONTENT.nodes.values() if n.type == "procedure"}
    assert {CONTENT.nodes[nid].procedure for nid in PATHS} == offered
    assert len(PATHS) == len(CONTENT.procedures)


def test_every_procedure_by_a_call_with_keys_only(relais: Running) -> None:
    for number, (nid, keys) in enumerate(PATHS.items()):
        procedure = CONTENT.procedures[CONTENT.nodes[nid].procedure]
        # A new caller each time: "can you open a link?" is asked once per number.
        caller = f"+336100000{number:02d}"
        call = relais.sim.call(caller, [*keys, "1", "2"])  # then "yes, a link", "that's all"
        said = "\n".join(str(line) for line in call.transcript)
        assert "Je vous envoie un SMS avec le lien" in said, said
        assert call.transcript[-1].text == "Merci. Bonne journée. Au revoir.", said
        assert call.status == "completed"
        (message,) = relais.rows(
            "SELECT body, transport, status, segments, encoding FROM outbound_messages "
            "WHERE procedure = :p",
            p=procedure.id,
        )
        assert procedure.url in message.body
        assert (message.transport, message.status, message.encoding) == ("outbox", "stored", "gsm7")
        assert message.segments <= 2


def test_every_procedure_by_an_sms_conversation(relais: Running) -> None:
    for number, (nid, keys) in enumerate(PATHS.items()):
        procedure = CONTENT.procedures[CONTENT.nodes[nid].procedure]
        sender = f"+336000000{number:02d}"
        replies = [relais.sim.sms(sender, key) for key in [*keys, "oui"]]
        final = replies[-1]
        assert final[0] == procedure.sms, final
        assert procedure.url in final[0]
        assert all(len(reply) >= 1 for reply in replies)
        assert (
            relais.rows(
                "SELECT count(*) FROM outbound_messages WHERE procedure = :p "
                "AND transport = 'reply'",
                p=procedure.id,
            )[0][0]
            == 1
        )


def test_a_misspelt_first_sms_goes_straight_to_the_subject(relais: Running) -> None:
    (reply,) = relais.sim.sms(MOBILE, "bjr je veu la karte vital")
    assert reply.startswith(
        "J'ai compris : la carte Vitale.\nSur votre téléphone, pouvez-vous ouvrir un lien internet"
    )
    (link,) = relais.sim.sms(MOBILE, "1")[:1]
    assert link == CONTENT.procedures["carte_vitale"].sms
    # The answer "yes, a link" is remembered for this number: a new call does not ask again.
    call = relais.sim.call(MOBILE, ["3", "1", "2", "2"])
    assert not any("ouvrir un lien" in line.text for line in call.transcript)
    assert relais.rows("SELECT autonomy FROM people WHERE phone = :p", p=MOBILE)[0][0]


def test_replies_stay_within_two_segments_in_gsm7(relais: Running) -> None:
    for text in ["bonjour", "0", "caf", "1", "2", "retour", "zzzz"]:
        for reply in relais.sim.sms(MOBILE, text):
            assert reply.encode("gsm03.38")  # raises on a UCS-2 character
    rows = relais.rows("SELECT segments, encoding FROM outbound_messages")
    assert rows and all(r.segments <= 2 and r.encoding == "gsm7" for r in rows)


# -- SMS keywords and odd bodies -----------------------------------------------------------
def test_stop_stops_every_sms_until_start(relais: Running) -> None:
    """Twilio answers its own keywords (tests/test_opt_out.py); Relais records them."""
    assert relais.sim.sms(MOBILE, "STOP") == []
    assert relais.sim.sms(MOBILE, "caf") == []
    assert relais.rows("SELECT opted_out FROM people WHERE phone = :p", p=MOBILE)[0][0]
    # During a call, the link is not sent to a number that opted out.
    relais.sim.call(MOBILE, [*PATHS["impots"], "1", "2"])
    assert (
        relais.rows("SELECT count(*) FROM outbound_messages WHERE procedure = 'impots'")[0][0] == 0
    )
    assert relais.sim.sms(MOBILE, "START") == []
    assert relais.sim.sms(MOBILE, "caf")
    assert not relais.rows("SELECT opted_out FROM people WHERE phone = :p", p=MOBILE)[0][0]
    assert relais.sim.undelivered == []


def test_a_repeated_message_sid_gets_the_same_reply_and_is_handled_once(relais: Running) -> None:
    first = relais.sim.sms(MOBILE, "caf", message_sid="SM" + "1" * 32)
    turns = relais.count("turns")
    again = relais.sim.sms(MOBILE, "caf", message_sid="SM" + "1" * 32)
    assert again == first
    assert relais.count("turns") == turns
    assert relais.count("outbound_messages") == len(first)


@pytest.mark.parametrize(
    "body",
    [
        "",
        "   ",
        "😀🙏😀",
        "\x00\x01\x1b\x7f",
        "!!!???",
        "a" * 1600,
        "caf " * 400,
        "\u202e\u200bcaf\u200d",
    ],
)
def test_odd_bodies_get_a_friendly_reply(relais: Running, body: str) -> None:
    replies = relais.sim.sms(MOBILE, body)
    assert replies and all(reply.strip() for reply in replies)
    assert all(reply.encode("gsm03.38") for reply in replies)


# -- signatures ----------------------------------------------------------------------------
def _tables(relais: Running) -> tuple[int, ...]:
    return tuple(
        relais.count(t)
        for t in ("people", "conversations", "turns", "outbound_messages", "webhook_replies")
    )


def test_unsigned_or_tampered_webhooks_get_403_and_change_nothing(relais: Running) -> None:
    sim = relais.sim
    before = _tables(relais)
    params = sim.sms_params(MOBILE, "caf")
    url = sim.public_url + "/sms"
    signature = sim.validator.compute_signature(url, params)
    assert sim.post(url, {**params, "Body": "impots"}, signature).status_code == 403
    assert sim.post(url + "?x=1", params, signature).status_code == 403
    assert sim.post(url, params, "").status_code == 403
    voice = {"CallSid": "CA" + "2" * 32, "From": MOBILE, "To": sim.service_number}
    assert sim.post(sim.public_url + "/voice", voice, "bogus").status_code == 403
    assert _tables(relais) == before
    assert sim.post(url, params, signature).status_code == 200  # the genuine one works


def test_a_signature_for_the_servers_own_address_is_refused(relais: Running) -> None:
    # Behind a proxy, Twilio signs the public URL; a request signed for another URL fails.
    sim = relais.sim
    params = sim.sms_params(MOBILE, "caf")
    signature = sim.validator.compute_signature(sim.server_url + "/sms", params)
    assert sim.post(sim.public_url + "/sms", params, signature).status_code == 403


# -- calls ---------------------------------------------------------------------------------
def test_wrong_keys_get_a_simpler_prompt_then_a_person(relais: Running) -> None:
    call = relais.sim.call(MOBILE, ["9", "silence", "8"])
    said = [line.text for line in call.transcript if line.who == "relais"]
    assert said[1] == "Je n'ai pas compris."
    assert said[2].startswith("Choisissez un sujet. Pour le travail")
    assert said[3] == "Je ne vous entends pas."
    assert said[4].endswith("Pour parler à quelqu'un, tapez 4.")  # offered once, not twice
    # No mediator is registered: no callback is promised, a place to get help is given.
    assert said[-2].startswith("Personne ne peut vous rappeler pour le moment.")
    assert "France Services" in said[-2] and said[-1] == "Merci. Au revoir."
    assert not any("rappellera" in line for line in said)
    (outcome,) = relais.rows("SELECT outcome, status FROM conversations")
    assert tuple(outcome) == ("handoff", "handoff")
    (request,) = relais.rows("SELECT topic, status, reason FROM callback_requests")
    assert tuple(request) == ("humain", "nouveau", "La personne n'a pas réussi à répondre au menu.")


def test_without_a_speech_model_a_call_never_records_an_answer(relais: Running) -> None:
    sim = relais.sim
    params = {"CallSid": "CA" + "3" * 32, "From": MOBILE, "To": sim.service_number}
    twiml = sim.post(sim.public_url + "/voice", params).text
    assert "<Gather" in twiml and "<Record" not in twiml
    call = relais.sim.call(MOBILE, ["say:/nonexistent.wav", "hangup"])
    said = [line.text for line in call.transcript if line.who == "relais"]
    assert said[1] == "Je ne vous entends pas."  # speaking is silence when nobody listens


def test_a_landline_caller_types_a_mobile_number(relais: Running) -> None:
    keys = PATHS["impots"]
    call = relais.sim.call(LANDLINE, [*keys, "1", "0698765432#", "1", "2"])
    said = "\n".join(line.text for line in call.transcript)
    assert "Votre téléphone ne reçoit pas les SMS" in said
    assert "Vous avez tapé le 06 98 76 54 32. C'est bien ça ?" in said
    (to,) = relais.rows("SELECT \"to\" FROM outbound_messages WHERE procedure = 'impots'")
    assert to[0] == "+33698765432"


def test_a_landline_number_typed_for_the_sms_is_refused(relais: Running) -> None:
    call = relais.sim.call(LANDLINE, [*PATHS["impots"], "1", "0145678901#", "hangup"])
    said = [line.text for line in call.transcript if line.who == "relais"]
    assert "Je n'ai pas compris." in said
    assert relais.count("outbound_messages") == 0


# -- SMS pumping: a caller typing numbers must not be able to send SMS anywhere -----------
@pytest.mark.parametrize("typed", ["00447911123456#", "002266012345#", "0012025550143#"])
def test_a_foreign_mobile_typed_for_the_sms_is_refused(relais: Running, typed: str) -> None:
    call = relais.sim.call(LANDLINE, [*PATHS["impots"], "1", typed, "hangup"])
    said = [line.text for line in call.transcript if line.who == "relais"]
    assert "Je n'ai pas compris." in said  # asked again, as for any number that is not a mobile
    assert relais.count("outbound_messages") == 0


def test_a_number_that_opted_out_gets_no_sms_when_someone_types_it(relais: Running) -> None:
    relais.sim.sms(MOBILE, "STOP")
    typed = "0" + MOBILE.removeprefix("+33") + "#"
    relais.sim.call(LANDLINE, [*PATHS["impots"], "1", typed, "1", "hangup"])
    sent = 'SELECT count(*) FROM outbound_messages WHERE procedure IS NOT NULL AND "to" = :to'
    assert relais.rows(sent, to=MOBILE)[0][0] == 0


def test_one_number_gets_at_most_five_sms_a_day_whoever_types_it(relais: Running) -> None:
    typed = "0698765432#"
    for n in range(7):  # seven landlines type the same mobile
        relais.sim.call(f"+3314567890{n}", [*PATHS["impots"], "1", typed, "1", "hangup"])
    sent = relais.rows("SELECT count(*) FROM outbound_messages WHERE \"to\" = '+33698765432'")
    assert sent[0][0] == 5


def test_the_status_callback_records_where_the_call_ended(relais: Running) -> None:
    relais.sim.call(MOBILE, ["1", "hangup"])
    (row,) = relais.rows("SELECT status, outcome, end_node, call_status FROM conversations")
    assert tuple(row) == ("hangup", "hangup", "travail", "completed")


def test_a_webhook_sent_again_for_the_same_step_replays_the_same_twiml(relais: Running) -> None:
    call = relais.sim.call(MOBILE, ["1", "2"], max_webhooks=2)  # paused before the 3rd
    ((conversation_id, step),) = relais.rows("SELECT id, step FROM conversations")
    assert step == 1  # the first key was handled
    url = f"{relais.sim.public_url}/voice/key?c={conversation_id}&s=0"
    first = relais.sim.post(url, call.params(Digits="1"))
    second = relais.sim.post(url, call.params(Digits="2"))  # a retry, even if altered
    assert first.status_code == second.status_code == 200 and first.text == second.text
    assert relais.rows("SELECT step FROM conversations")[0][0] == step


def test_a_text_or_a_call_start_sent_again_gets_the_same_answer_once(relais: Running) -> None:
    sim = relais.sim
    url, params = sim.public_url + "/sms", sim.sms_params(MOBILE, "karte vital")
    first = sim.post(url, params)
    before = _tables(relais)
    second = sim.post(url, params)  # the same MessageSid
    assert first.status_code == second.status_code == 200
    assert "Vitale" in first.text and second.text == first.text
    assert _tables(relais) == before  # handled once: no turn, no message, no reply more
    start = {"CallSid": "CA" + "4" * 32, "From": "+33698765432"}
    first = sim.post(sim.public_url + "/voice", start)
    before = _tables(relais)
    second = sim.post(sim.public_url + "/voice", start)
    assert first.status_code == second.status_code == 200 and "<Gather" in first.text
    assert second.text == first.text and _tables(relais) == before


def test_unknown_or_mismatched_call_ids_are_refused(relais: Running) -> None:
    sim = relais.sim
    call = sim.call(MOBILE, ["1"], max_webhooks=1)
    ((conversation_id,),) = relais.rows("SELECT id FROM conversations")
    for query in [f"c={conversation_id + 7}&s=0", "c=x&s=0", "s=0", f"c={conversation_id}&s=99"]:
        url = f"{sim.public_url}/voice/key?{query}"
        assert sim.post(url, call.params(Digits="1")).status_code in (400, 404, 409)
    other = {**call.params(Digits="1"), "CallSid": "CA" + "9" * 32}
    url = f"{sim.public_url}/voice/key?c={conversation_id}&s=1"
    assert sim.post(url, other).status_code == 404


# -- SMS sent through Twilio's REST API (a local stand-in) ---------------------------------
def _sending_through_twilio(tmp_path, api_token: str):
    from core.twilio_simulator import ACCOUNT_SID
    from testsupport.twilio_api import TwilioApi

    api = TwilioApi(None, ACCOUNT_SID, api_token)
    relais = Running(
        tmp_path / "data",
        RELAIS_SMS_TRANSPORT="twilio",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        RELAIS_FROM_NUMBER="+33700000000",
        RELAIS_TWILIO_API_URL=api.url,
    )
    api.sim = relais.sim
    return api, relais


def test_links_go_through_the_twilio_messages_api_and_its_status_callback(tmp_path) -> None:
    api, relais = _sending_through_twilio(tmp_path, "test-auth-token")
    try:
        relais.sim.call(MOBILE, [*PATHS["impots"], "1", "2"])
        (sent,) = eventually(lambda: api.messages)  # sent by a job, once the step committed
        assert sent["To"] == MOBILE and sent["From"] == "+33700000000"
        assert sent["Body"] == CONTENT.procedures["impots"].sms
        assert sent["StatusCallback"] == "http://relais.example.org/sms/status"
        (row,) = eventually(
            lambda: relais.rows(
                "SELECT provider_id, status, transport FROM outbound_messages"
                " WHERE provider_id IS NOT NULL"
            )
        )
        assert tuple(row) == (sent["sid"], "queued", "twilio")
        assert api.report(sent["sid"], "delivered").status_code == 204
        assert relais.rows("SELECT status FROM outbound_messages")[0][0] == "delivered"
    finally:
        relais.close()
        api.close()


def test_a_number_twilio_has_opted_out_is_opted_out_for_relais_too(tmp_path) -> None:
    """The person texted STOP while Relais was away (Twilio blocks them anyway): the link
    is refused with 21610, and Relais counts the number as opted out from then on."""
    api, relais = _sending_through_twilio(tmp_path, "test-auth-token")
    try:
        relais.sim.opted_out.add(MOBILE)
        relais.sim.call(MOBILE, [*PATHS["impots"], "1", "2"])
        eventually(lambda: relais.rows("SELECT 1 FROM outbound_messages WHERE status = 'failed'"))
        assert [to for to, _body, code in relais.sim.undelivered if code == 21610] == [MOBILE]
        ((opted_out,),) = relais.rows("SELECT opted_out FROM people WHERE phone = :p", p=MOBILE)
        assert opted_out
    finally:
        relais.close()
        api.close()


def test_a_failing_twilio_api_is_recorded_and_the_call_goes_on(tmp_path) -> None:
    # The stand-in expects another token: it refuses Relais's credentials.
    api, relais = _sending_through_twilio(tmp_path, "another-token")
    try:
        call = relais.sim.call(MOBILE, [*PATHS["impots"], "1", "2"])
        assert call.transcript[-1].text == "Merci. Bonne journée. Au revoir."
        (row,) = eventually(
            lambda: relais.rows(
                "SELECT status, error FROM outbound_messages WHERE status = 'failed'"
            )
        )
        assert "401" in row.error  # refused: not retried
        # The job is marked done just after the message is marked failed.
        (job,) = eventually(
            lambda: relais.rows(
                "SELECT attempts, status FROM jobs WHERE kind = 'sms' AND status = 'done'"
            )
        )
        assert job.attempts == 1
        assert api.messages == []
    finally:
        relais.close()
        api.close()


def test_an_sms_twilio_cannot_take_yet_is_retried_and_sent_once(tmp_path) -> None:
    """Twilio's API unreachable when the link is due: the job waits and tries again; the
    caller's call goes on meanwhile, and the SMS goes exactly once."""
    from core.twilio_simulator import ACCOUNT_SID
    from testsupport.twilio_api import TwilioApi

    api = TwilioApi(None, ACCOUNT_SID, "test-auth-token")
    switch = Switch(int(api.url.rsplit(":", 1)[1]))
    switch.cut()
    relais = Running(
        tmp_path / "data",
        RELAIS_SMS_TRANSPORT="twilio",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        RELAIS_FROM_NUMBER="+33700000000",
        RELAIS_TWILIO_API_URL=f"http://127.0.0.1:{switch.port}",
    )
    api.sim = relais.sim
    try:
        call = relais.sim.call(MOBILE, [*PATHS["impots"], "1", "2"])
        assert call.transcript[-1].text == "Merci. Bonne journée. Au revoir."
        (job,) = eventually(  # tried once, to be tried again later
            lambda: relais.rows(
                "SELECT attempts, error FROM jobs"
                " WHERE kind = 'sms' AND attempts > 0 AND status = 'pending'"
            )
        )
        assert job.attempts == 1 and job.error
        assert relais.rows("SELECT status FROM outbound_messages")[0][0] == "queued"
        switch.restore()
        with relais.db.begin() as conn:  # the backoff's wait, passed at once
            conn.execute(sqlalchemy.text("UPDATE jobs SET run_at = :t"), {"t": datetime.now(UTC)})
        eventually(lambda: relais.rows("SELECT 1 FROM jobs WHERE kind = 'sms' AND status = 'done'"))
        assert len(api.messages) == 1
        (row,) = relais.rows("SELECT provider_id, status FROM outbound_messages")
        assert row.provider_id == api.messages[0]["sid"]
        time.sleep(1)  # more runner rounds: nothing more is sent
        assert len(api.messages) == 1
    finally:
        relais.close()
        switch.close()
        api.close()
