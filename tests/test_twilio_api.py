"""The Twilio REST stand-in checks every request against Twilio's own OpenAPI description
(twilio-oai's api_v2010): what the twilio library sends passes, what Twilio would refuse is
answered 400 and kept in `rejected`."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_core.testing import MockRequest, MockResponse
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from core.twilio_simulator import ACCOUNT_SID, SERVICE_NUMBER
from testsupport.twilio_api import RefusedRequests, TwilioApi
from testsupport.twilio_spec import SpecMissing, TwilioSpec, twilio_spec

TOKEN = "test-auth-token"
MOBILE = "+33612345678"
PUBLIC = "http://relais.example.org"
ACCOUNT = f"/2010-04-01/Accounts/{ACCOUNT_SID}"


@pytest.fixture
def api() -> Iterator[TwilioApi]:
    api = TwilioApi(None, ACCOUNT_SID, TOKEN)
    yield api
    api.close()  # fails the test if a request was refused and not looked at


@pytest.fixture
def client(api: TwilioApi) -> Client:
    """The twilio library, pointed at the stand-in as Relais points it."""
    client = Client(ACCOUNT_SID, TOKEN)
    client.api.base_url = api.url
    return client


def post(api: TwilioApi, resource: str, form: list[tuple[str, str]]) -> requests.Response:
    return requests.post(f"{api.url}{ACCOUNT}/{resource}", data=form, auth=(ACCOUNT_SID, TOKEN))


def assert_valid_answer(resource: str, response: requests.Response) -> None:
    """The stand-in's own answer is a resource as Twilio's description has it."""
    request = MockRequest("https://api.twilio.com", "post", f"{ACCOUNT}/{resource}")
    answer = MockResponse(response.content, response.status_code)
    assert twilio_spec().openapi.unmarshal_response(request, answer).errors == []


def test_a_message_the_twilio_library_sends_is_valid(api: TwilioApi, client: Client) -> None:
    message = client.messages.create(
        to=MOBILE, from_="+33700000000", body="Bonjour", status_callback=f"{PUBLIC}/sms/status"
    )
    assert message.sid.startswith("SM") and message.status == "queued"
    assert api.messages == [
        {
            "sid": message.sid,
            "To": MOBILE,
            "From": "+33700000000",
            "Body": "Bonjour",
            "StatusCallback": f"{PUBLIC}/sms/status",
        }
    ]
    assert api.rejected == []


def test_a_call_the_twilio_library_makes_is_valid_answered_queued_and_handed_on(
    api: TwilioApi, client: Client
) -> None:
    handed: list[dict[str, Any]] = []
    done = threading.Event()
    api.on_call = lambda call: (handed.append(call), done.set())
    call = client.calls.create(
        to=MOBILE,
        from_=SERVICE_NUMBER,
        url=f"{PUBLIC}/voice/outbound",
        status_callback=f"{PUBLIC}/voice/status",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
        machine_detection="DetectMessageEnd",
        timeout=20,
    )
    assert call.sid.startswith("CA") and call.status == "queued"
    assert call.direction == "outbound-api" and call.to == MOBILE
    assert done.wait(5)
    (kept,) = api.calls
    assert handed == [kept]
    assert kept["status"] == "queued" and kept["answered_by"] is None  # as the call goes
    assert {name: value for name, value in kept.items() if name[0].isupper() or name == "sid"} == {
        "sid": call.sid,
        "To": MOBILE,
        "From": SERVICE_NUMBER,
        "Url": f"{PUBLIC}/voice/outbound",
        "StatusCallback": f"{PUBLIC}/voice/status",
        # a repeated key is an array, a number is a number: as the description types them
        "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
        "MachineDetection": "DetectMessageEnd",
        "Timeout": 20,
    }
    assert api.rejected == []


def test_the_stand_ins_answers_are_valid_for_the_description(api: TwilioApi) -> None:
    message = post(api, "Messages.json", [("To", MOBILE), ("From", SERVICE_NUMBER), ("Body", "x")])
    assert message.status_code == 201
    assert_valid_answer("Messages.json", message)
    twiml = "<Response><Say>Bonjour</Say></Response>"
    call = post(api, "Calls.json", [("To", MOBILE), ("From", SERVICE_NUMBER), ("Twiml", twiml)])
    assert call.status_code == 201
    assert_valid_answer("Calls.json", call)


def test_a_call_fetched_with_the_twilio_library_is_as_it_went(
    api: TwilioApi, client: Client
) -> None:
    twiml = "<Response><Say>Bonjour</Say></Response>"
    placed = client.calls.create(to=MOBILE, from_=SERVICE_NUMBER, twiml=twiml)
    assert client.calls(placed.sid).fetch().status == "queued"
    (kept,) = api.calls
    kept.update(status="no-answer", duration=0)  # as a call the simulator played ends
    fetched = client.calls(placed.sid).fetch()
    assert (fetched.status, fetched.duration, fetched.to) == ("no-answer", "0", MOBILE)
    with pytest.raises(TwilioRestException) as unknown:
        client.calls("CA" + "0" * 32).fetch()
    assert unknown.value.status == 404 and unknown.value.code == 20404
    assert api.fetched == [placed.sid, placed.sid, "CA" + "0" * 32]
    assert api.rejected == []  # the stand-in's answers too are as the description has them


REFUSED = [
    pytest.param(
        "Messages.json",
        [("To", MOBILE), ("From", SERVICE_NUMBER), ("Body", "x"), ("Bodyy", "x")],
        "Bodyy: not a parameter of this operation",
        id="unknown-parameter",
    ),
    pytest.param(
        "Messages.json",
        [("From", SERVICE_NUMBER), ("Body", "x")],
        "'To' is a required property",
        id="missing-To",
    ),
    pytest.param(
        "Messages.json",
        [("To", "06 12 34 56 78"), ("From", SERVICE_NUMBER), ("Body", "x")],
        "To: '06 12 34 56 78' is not a 'phone-number'",
        id="national-number",
    ),
    pytest.param(
        "Calls.json",
        [("To", MOBILE), ("From", SERVICE_NUMBER), ("Url", f"{PUBLIC}/v"), ("Method", "PUT")],
        "Method: 'PUT' is not one of ['GET', 'POST']",
        id="bad-enum",
    ),
    pytest.param(
        "Calls.json",
        [("To", MOBILE), ("From", SERVICE_NUMBER), ("Url", "/voice/outbound")],
        "Url: '/voice/outbound' is not a 'uri'",
        id="relative-url",
    ),
    pytest.param(
        "Calls.json",
        [("To", MOBILE), ("From", SERVICE_NUMBER), ("Url", f"{PUBLIC}/v"), ("Timeout", "soon")],
        "Failed to cast value to integer type: soon",
        id="not-a-number",
    ),
    pytest.param(
        "Calls.json",
        [("To", MOBILE), ("Url", f"{PUBLIC}/v")],
        "'From' is a required property",
        id="missing-From",
    ),
    pytest.param(
        "Calls.json",
        [("To", MOBILE), ("From", SERVICE_NUMBER)],
        "Url parameter is required.",  # Twilio's rule, not in the description
        id="no-instructions",
    ),
]


@pytest.mark.parametrize(("resource", "form", "problem"), REFUSED)
def test_a_request_twilio_refuses_is_answered_400_and_kept(
    api: TwilioApi, resource: str, form: list[tuple[str, str]], problem: str
) -> None:
    response = post(api, resource, form)
    assert response.status_code == 400
    answer = response.json()
    assert answer["status"] == 400 and problem in answer["message"] and answer["code"]
    (rejected,) = api.rejected
    assert rejected.method == "POST" and rejected.path == f"{ACCOUNT}/{resource}"
    assert any(problem in p for p in rejected.problems), rejected.problems
    assert api.messages == [] and api.calls == []
    api.rejected.clear()


def test_the_twilio_library_sees_a_refusal_as_twilio_s_error(
    api: TwilioApi, client: Client
) -> None:
    with pytest.raises(TwilioRestException) as refused:
        client.calls.create(to=MOBILE, from_=SERVICE_NUMBER, url=f"{PUBLIC}/v", method="PUT")
    assert refused.value.status == 400 and "Method" in refused.value.msg
    assert len(api.rejected) == 1
    api.rejected.clear()


def test_a_valid_request_the_stand_in_does_not_play_is_kept_too(api: TwilioApi) -> None:
    response = requests.get(f"{api.url}{ACCOUNT}/Calls.json", auth=(ACCOUNT_SID, TOKEN))
    assert response.status_code == 404
    ((method, problems),) = [(r.method, r.problems) for r in api.rejected]
    assert method == "GET" and problems == ["not played by this stand-in"]
    api.rejected.clear()


def test_closing_fails_while_a_refused_request_is_not_looked_at() -> None:
    api = TwilioApi(None, ACCOUNT_SID, TOKEN)
    post(api, "Messages.json", [("Body", "no one to send it to")])
    with pytest.raises(RefusedRequests, match="'To' is a required property"):
        api.close()


def test_a_missing_description_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(SpecMissing, match="scripts/install test"):
        TwilioSpec(tmp_path / "twilio_api_v2010.json")


def test_under_load_the_stand_in_checks_the_first_request_and_one_in_n() -> None:
    api = TwilioApi(None, ACCOUNT_SID, TOKEN, check_one_in=2)
    bad_number = [("To", "+0123"), ("From", "+33700000000"), ("Body", "Bonjour")]
    statuses = [post(api, "Messages.json", bad_number).status_code for _ in range(4)]
    assert statuses == [400, 201, 400, 201]  # the 1st and 3rd checked, the others kept
    assert len(api.rejected) == 2 and len(api.messages) == 2
    assert api.messages[0]["Body"] == "Bonjour"
    api.rejected.clear()
    api.close()
