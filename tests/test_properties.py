"""Property-based tests (hypothesis) of every Twilio webhook.

Each webhook gets requests signed exactly as Twilio signs them (for the public URL), whose
parameters are missing, random, huge or odd Unicode (NUL, RTL marks, emoji, combining
marks, long digit strings) and whose query strings are random or carry negative and
overflowing ids. Whatever comes: never a 5xx, only 2xx or 4xx, TwiML that is well-formed
XML, every conversation in the database still a state the engine accepts, and a real call
or SMS exchange driven by the simulator beside them goes on as if nothing had happened.

The app is built once per database (SQLite, and PostgreSQL when RELAIS_TEST_POSTGRES_URL is
set) and called through Flask's test client: the same WSGI requests as over HTTP, faster.
"""

from __future__ import annotations

import itertools
import json
import secrets
import string
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import request
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core.phones import e164
from core.settings import load_settings
from core.twilio_simulator import ACCOUNT_SID, SERVICE_NUMBER, Call, TwilioSimulator, message_bodies
from core.web import whole_number
from dialogues.engine import State
from dialogues.loader import load_content
from mediation.roster import add_mediator
from relais.app import create_app
from testsupport.databases import database_url

from .conftest import DATABASES, FRENCH
from .test_channels import PATHS

PUBLIC = "http://relais.example.org"
TOKEN = "test-auth-token"
IN_PROCESS = "http://relais.in-process"
MEDIATOR = "+33611223344"
PIN = "432198"
CONTENT = load_content(FRENCH)
EXAMPLES = 40  # per webhook and database: the whole file in about a minute on two cores

# The webhooks: their Twilio parameters and the arguments of their query string.
VOICE = ("AccountSid", "ApiVersion", "CallSid", "CallStatus", "Direction", "From", "To")
VOICE_MORE = ("Caller", "Called")
RECORDING = ("RecordingUrl", "RecordingSid", "RecordingDuration")
DIAL = ("DialCallStatus", "DialCallDuration", "DialCallSid")
SMS = ("AccountSid", "ApiVersion", "MessageSid", "SmsSid", "SmsMessageSid", "SmsStatus")
SMS += ("From", "To", "Body", "NumMedia", "NumSegments")
FAILED = ("ErrorCode", "ErrorUrl")
WEBHOOKS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "/voice": ((*VOICE, *VOICE_MORE), ()),
    "/voice/key": ((*VOICE, "Digits", "FinishedOnKey"), ("c", "s")),
    "/voice/record": ((*VOICE, "Digits", *RECORDING), ("c", "s")),
    "/voice/silence": (VOICE, ("c", "s")),
    "/voice/status": ((*VOICE, "CallDuration"), ()),
    "/voice/whisper": ((*VOICE, "ParentCallSid"), ("r", "m")),
    "/voice/whisper/answer": ((*VOICE, "ParentCallSid", "Digits"), ("r", "m")),
    "/voice/dialed": ((*VOICE, *DIAL), ("r", "m", "next")),
    "/voice/voicemail": ((*VOICE, "Digits", *RECORDING), ("r",)),
    "/voice/mediator/pin": ((*VOICE, "Digits"), ("t",)),
    "/voice/mediator/queue": (VOICE, ("i",)),
    "/voice/mediator/choice": ((*VOICE, "Digits"), ("r", "i")),
    "/voice/mediator/called": ((*VOICE, *DIAL), ("r", "i")),
    "/sms": (SMS, ()),
    "/sms/status": (
        ("AccountSid", "MessageSid", "MessageStatus", "SmsStatus", "ErrorCode", "To", "From"),
        (),
    ),
    # Calls Relais places (ring-back, click-to-call).
    "/voice/outbound": ((*VOICE, "AnsweredBy"), ("o",)),
    "/voice/outbound/status": ((*VOICE, "CallDuration", "AnsweredBy"), ("o",)),
    "/voice/outbound/confirm": ((*VOICE, "Digits"), ("o",)),
    "/voice/bridged": ((*VOICE, *DIAL), ("o",)),
    "/voice/dial/answered": ((*VOICE, "AnsweredBy"), ()),
    "/voice/streamed": (VOICE, ("c",)),  # <Connect>'s action, when a Media Stream ends
    # Twilio's "primary handler fails" URLs: the same parameters, and what failed.
    "/voice/fallback": ((*VOICE, *VOICE_MORE, *FAILED), ()),
    "/sms/fallback": ((*SMS, *FAILED), ()),
}
# Routes that refuse (403) a caller who is not a registered mediator, signature or not.
MEDIATOR_ONLY = "/voice/mediator/"


# -- the app, a real call beside the garbage -------------------------------------------------
class _InProcessHttp:
    """What TwilioSimulator needs of requests.Session, answered by the test client."""

    def __init__(self, client: FlaskClient):
        self.client = client

    def post(self, url: str, data: dict, timeout: float, headers: dict) -> TestResponse:
        return self.client.post(url.removeprefix(IN_PROCESS), data=data, headers=headers)

    def close(self) -> None:
        pass


# A real call: the keys to a procedure, "yes, a link", "that's all".
PLAN = [*PATHS["impots"], "1", "2"]


class World:
    """One app on one database, its simulator, a mediator with a PIN, a waiting callback
    request, a message sent through Twilio, and a real call in progress."""

    def __init__(self, data_dir: Path, db_kind: str):
        data_dir.mkdir(parents=True, exist_ok=True)
        self.settings = load_settings(
            {
                "RELAIS_DATA_DIR": str(data_dir),
                "RELAIS_DATABASE_URL": database_url(db_kind, data_dir),
                "RELAIS_PUBLIC_URL": PUBLIC,
                "RELAIS_RENDER_PROMPTS": "0",
                "RELAIS_OPENING_HOURS": "mon-sun 00:00-23:59",
                "TWILIO_AUTH_TOKEN": TOKEN,
            }
        )
        self.app = create_app(self.settings)
        self.client = self.app.test_client()
        self.db = self.app.config["RELAIS_DB"]
        self.sim = TwilioSimulator(IN_PROCESS, TOKEN, PUBLIC, http=_InProcessHttp(self.client))
        with Session(self.db) as session:
            add_mediator(session, "Amina", MEDIATOR, "un mot de passe", [], [], pin=PIN)
            session.commit()
        self.callers = (f"+3361{n:07d}" for n in itertools.count())
        # A callback request waits in the queue, with a voice message left.
        self.sim.call(next(self.callers), ["0"], mediators="no-answer")
        # A message Relais sent through Twilio, whose status callbacks come back.
        self.send("/sms", "", self.sim.sms_params(next(self.callers), "caf"))
        self.rows(
            "UPDATE outbound_messages SET provider_id = :p "
            "WHERE id = (SELECT max(id) FROM outbound_messages)",
            p="SM" + "5" * 32,
        )
        self.call = self.new_call()
        self.plan: Iterator[str] = iter(())
        # A real SMS exchange: who writes, and the MessageSid of each text.
        self.sender = next(self.callers)
        self.sms_sids: list[str] = []

    def rows(self, sql: str, **params: object) -> list:
        with self.db.begin() as conn:
            result = conn.execute(text(sql), params)
            return list(result) if result.returns_rows else []

    def text(self, body: str) -> list[str]:
        """The real sender writes `body`; the replies."""
        params = self.sim.sms_params(self.sender, body)
        response = self.send("/sms", "", params)
        assert response.status_code == 200, response.text
        self.sms_sids.append(params["MessageSid"])
        return message_bodies(response.text)

    def new_call(self) -> Call:
        self.plan = iter(PLAN)
        return Call(self.sim, next(self.callers), SERVICE_NUMBER, interactive=True).run()

    def live(self) -> dict[str, str]:
        """The identifiers of what is going on, for requests that aim at it."""
        ((conversation, step),) = self.rows(
            "SELECT id, step FROM conversations WHERE call_sid = :sid", sid=self.call.sid
        )
        callback = self.rows("SELECT max(id) FROM callback_requests")[0][0]
        return {
            "call_sid": self.call.sid,
            "caller": self.call.caller,
            "sender": self.sender,
            "sms_sid": self.sms_sids[-1] if self.sms_sids else "",
            "mediator": MEDIATOR,
            "service": SERVICE_NUMBER,
            "pin": PIN,
            "message_sid": "SM" + "5" * 32,
            "new_sid": "SM" + secrets.token_hex(16),
            "c": str(conversation),
            "s": str(step),
            "s-1": str(step - 1),
            "r": str(callback),
        }

    def send(self, path: str, query: str, params: dict[str, str]) -> TestResponse:
        """A form post signed as Twilio signs it, for the public URL."""
        target = path + (f"?{query}" if query else "")
        signature = self.sim.validator.compute_signature(PUBLIC + target, params)
        return self.client.post(target, data=params, headers={"X-Twilio-Signature": signature})

    def next_real_step(self) -> None:
        """The real call takes its next step (a new call once it has ended, or once a
        status callback said so): every webhook it sends is answered with TwiML, and its
        conversation is sound."""
        key = next(self.plan, None)
        (status,) = self.rows(
            "SELECT status FROM conversations WHERE call_sid = :sid", sid=self.call.sid
        )[0]
        if self.call.ended or key is None or status != "active":
            self.call = self.new_call()
        else:
            self.call.run([key])
        failures = [line.text for line in self.call.transcript if line.who == "twilio"]
        assert not [f for f in failures if f.startswith(("HTTP", "the answer"))], failures
        assert_sound(self, "call_sid = :sid", sid=self.call.sid)

    def close(self) -> None:
        self.sim.close()
        self.db.dispose()


def assert_sound(world: World, where: str = "1 = 1", **params: object) -> None:
    """Each conversation's state is JSON the engine loads, at a node of the content."""
    rows = world.rows(f"SELECT id, state, status, step FROM conversations WHERE {where}", **params)
    assert rows
    for conversation, stored, status, step in rows:
        data = json.loads(stored) if isinstance(stored, str) else stored
        state = State.from_dict(data)
        assert state.node in CONTENT.nodes, (conversation, data)
        assert state.status == status and step >= 0, (conversation, data)


@pytest.fixture(scope="module", params=DATABASES)
def world(request, tmp_path_factory) -> Iterator[World]:
    running = World(tmp_path_factory.mktemp("properties") / "data", request.param)
    yield running
    running.close()


# -- what the garbage is made of -----------------------------------------------------------
@dataclass(frozen=True)
class Live:
    """A value taken from what is going on (see World.live) when the request is sent."""

    name: str


Value = str | Live

ODD = [
    "",
    " ",
    "\x00",
    "1\x00",
    "a\x00b",
    "\u202e\u200f\u200bcaf\u200d",
    "😀🙏🏽👨‍👩‍👧",
    "e\u0301\u0308\u0327",
    "\ufeff\uffff\U0010ffff",
    "٣",
    "０６１２３４５６７８",
    "9" * 40,
    "9" * 5000,
    "-1",
    "-0",
    str(2**31),
    str(2**63),
    str(-(2**63) - 1),
    "1_000",
    " 7 ",
    "+7",
    "1e3",
    "NaN",
    "hangup",
    "#",
    "*",
    "1#",
    "0612345678#",
    "+33612345678",
    "anonymous",
    "completed",
    "in-progress",
    "http://127.0.0.1:9/nothing",
    "x" * 10_000,
    "é" * 100_000,  # past the 64 KB a webhook may bring
]
VALUE: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(ODD),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=40),  # no lone surrogates
    st.integers(-(2**70), 2**70).map(str),
)
KEYS = st.sampled_from([*"0123456789*#"])
RECORDING_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/RE{'1' * 32}"


def _just(*values: Value) -> st.SearchStrategy[Value]:
    return st.sampled_from(values)


# What Twilio would send: each webhook's request is made of these, then a few of its
# parameters and query arguments are broken (left out, or garbage).
GOOD: dict[str, st.SearchStrategy[Value]] = {
    "AccountSid": _just(ACCOUNT_SID),
    "ApiVersion": _just("2010-04-01"),
    "CallSid": _just(Live("call_sid")),
    "ParentCallSid": _just(Live("call_sid")),
    "CallStatus": _just("ringing", "in-progress", "completed", "busy", "no-answer", "failed"),
    "Direction": _just("inbound", "outbound-dial"),
    "From": _just(Live("caller"), Live("sender"), Live("mediator")),
    "Caller": _just(Live("caller")),
    "To": _just(Live("service"), Live("mediator")),
    "Called": _just(Live("service")),
    "Digits": st.one_of(KEYS, _just("1", Live("pin"), "0612345678", "hangup")),
    "FinishedOnKey": _just("#", ""),
    "RecordingUrl": _just(RECORDING_URL),
    "RecordingSid": _just("RE" + "1" * 32),
    "RecordingDuration": st.integers(0, 60).map(str),
    "CallDuration": st.integers(0, 3600).map(str),
    "DialCallStatus": _just("completed", "no-answer", "busy", "failed", "canceled"),
    "DialCallDuration": st.integers(0, 600).map(str),
    "DialCallSid": _just("CA" + "2" * 32),
    "MessageSid": _just(Live("new_sid"), Live("sms_sid"), Live("message_sid")),
    "SmsSid": _just(Live("new_sid")),
    "SmsMessageSid": _just(Live("new_sid")),
    "SmsStatus": _just("received", "delivered"),
    "Body": _just("caf", "1", "2", "oui", "non", "0", "aide", "stop", "start", "bjr"),
    "NumMedia": _just("0"),
    "NumSegments": _just("1"),
    "MessageStatus": _just("queued", "sent", "delivered", "undelivered", "failed"),
    "ErrorCode": _just("30003", "11200"),
    "ErrorUrl": _just(PUBLIC + "/voice"),
    "AnsweredBy": _just("human", "machine_start", "fax", "unknown"),
}
GOOD_ARGS: dict[str, st.SearchStrategy[Value]] = {
    "c": _just(Live("c")),
    "s": _just(Live("s"), Live("s-1")),
    "r": _just(Live("r")),
    "i": st.integers(0, 3).map(str),
    "t": st.integers(0, 2).map(str),
    "o": st.integers(1, 3).map(str),
    "m": st.integers(1, 3).map(str),  # a mediator rung
    "next": st.sampled_from(["", "1", "2.1"]),  # the mediators to ring after
}
BAD_ARG = st.one_of(st.integers(-3, 5).map(str), st.integers(-(2**70), 2**70).map(str), VALUE)
URL_SAFE = string.ascii_letters + string.digits + "-._~%&=;+,/?:@!$'()*[]"


@st.composite
def requests_to(draw: st.DrawFn, path: str) -> tuple[str, list | str, dict]:
    """(path, query as (name, value) pairs or a raw string, form parameters): what Twilio
    would send, with a few of its parameters and query arguments left out or garbage, and
    maybe parameters and arguments of no use; now and then a query string of any sort."""
    names, args = WEBHOOKS[path]
    broken = draw(st.sets(st.sampled_from([*names, *(f"?{a}" for a in args)]), max_size=2))
    form: dict[str, Value] = {}
    for name in names:
        value = draw(st.one_of(st.none(), VALUE) if name in broken else GOOD[name])
        if value is not None:
            form[name] = value
    extra_name = st.text(min_size=1, max_size=12).filter(str.isprintable)
    form |= draw(st.dictionaries(extra_name, VALUE, max_size=2))
    pairs: list[tuple[str, Value]] = []
    for arg in args:
        value = draw(st.one_of(st.none(), BAD_ARG) if f"?{arg}" in broken else GOOD_ARGS[arg])
        if value is not None:
            pairs.append((arg, value))
    pairs += draw(st.lists(st.tuples(st.sampled_from([*args, "x", ""]), BAD_ARG), max_size=2))
    if draw(st.integers(0, 4)) == 0:
        return path, draw(st.text(st.sampled_from(URL_SAFE), max_size=30)), form
    return path, pairs, form


Request = tuple[str, str, dict[str, str]]  # path, query string, form parameters


def resolve(world: World, drawn: tuple[str, list | str, dict]) -> Request:
    """The request with its live values filled in from what is going on now."""
    path, query, form = drawn
    live = world.live()

    def value(v: Value) -> str:
        return live[v.name] if isinstance(v, Live) else v

    if not isinstance(query, str):
        query = urlencode([(name, value(v)) for name, v in query])
    return path, query, {name: value(v) for name, v in form.items()}


def assert_answered(path: str, response: TestResponse) -> None:
    """2xx or 4xx, never a 5xx; a signed request is never refused as unsigned (except by the
    mediators' line, which only knows its mediators); TwiML is well-formed XML."""
    assert 200 <= response.status_code < 500, (response.status_code, response.text)
    if response.status_code == 403:
        assert path.startswith(MEDIATOR_ONLY), response.text
    if response.status_code == 200 and response.mimetype == "text/xml":
        root = ET.fromstring(response.get_data())
        assert root.tag == "Response"


PROPERTIES = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_every_twilio_webhook_is_covered(world: World) -> None:
    signed = {
        rule.rule
        for rule in world.app.url_map.iter_rules()
        if getattr(world.app.view_functions[rule.endpoint], "twilio_signed", False)
    }
    assert signed <= set(WEBHOOKS)


@pytest.mark.parametrize("path", list(WEBHOOKS))
def test_garbage_never_gets_a_5xx_nor_breaks_a_real_call(world: World, path: str) -> None:
    @PROPERTIES
    @given(drawn=requests_to(path))
    def garbage(drawn: tuple[str, list | str, dict]) -> None:
        assert_answered(path, world.send(*resolve(world, drawn)))
        world.next_real_step()

    garbage()
    assert_sound(world)


# -- a real call and a real SMS exchange, with garbage between their steps -----------------
SMS_PLAN = [*PATHS["impots"], "oui"]
STEPS = ("/voice/key", "/voice/record", "/voice/silence")


def aims_at(world: World, sent: Request, live: dict[str, str]) -> bool:
    """Is this request the real exchanges' own next step (the call's next key or its end,
    a new text from one of the two people), rather than garbage or a replay of a step
    already handled?"""
    path, query, form = sent
    if path in STEPS and form.get("CallSid") == live["call_sid"]:
        with world.app.test_request_context(f"{path}?{query}"):
            step = (
                whole_number(request.args.get("c", "")),
                whole_number(request.args.get("s", "")),
            )
        return step == (int(live["c"]), int(live["s"]))
    if path == "/voice/status":
        return form.get("CallSid") == live["call_sid"]
    if path == "/sms":
        texted = e164(form.get("From", "")) in (live["caller"], live["sender"])
        return texted and form.get("MessageSid") not in world.sms_sids
    return False


def clean_run(world: World) -> tuple[list[str], list[list[str]]]:
    """What Relais says to a new caller and writes to a new sender following the plans."""
    call = Call(world.sim, next(world.callers), SERVICE_NUMBER).run(PLAN)
    world.sender = next(world.callers)
    replies = [world.text(body) for body in SMS_PLAN]
    return [line.text for line in call.transcript if line.who == "relais"], replies


NOISE = st.sampled_from(list(WEBHOOKS)).flatmap(requests_to)


def test_garbage_between_the_steps_of_a_call_and_an_sms_exchange_changes_nothing(
    world: World,
) -> None:
    said, written = clean_run(world)
    steps = max(len(PLAN), len(SMS_PLAN)) + 1

    @PROPERTIES
    @given(noise=st.lists(st.lists(NOISE, max_size=2), min_size=steps, max_size=steps))
    def interleaved(noise: list[list[tuple[str, list | str, dict]]]) -> None:
        world.call, world.sender, replies = world.new_call(), next(world.callers), []
        for step, garbage in enumerate(noise):
            for drawn in garbage:
                request = resolve(world, drawn)
                if not aims_at(world, request, world.live()):
                    assert_answered(request[0], world.send(*request))
            if step < len(PLAN):
                world.call.run([PLAN[step]])
            if step < len(SMS_PLAN):
                replies.append(world.text(SMS_PLAN[step]))
        assert [line.text for line in world.call.transcript if line.who == "relais"] == said
        assert replies == written
        assert world.call.status == "completed"
        assert_sound(world, "call_sid = :sid", sid=world.call.sid)

    interleaved()


# -- what the properties found, kept as plain examples -------------------------------------
def _counts(world: World) -> tuple[int, ...]:
    tables = ("people", "conversations", "turns", "webhook_replies", "callback_requests")
    return tuple(world.rows(f"SELECT count(*) FROM {table}")[0][0] for table in tables)


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/voice/silence", "c=99999999999999999999&s=0"),  # SQLite: OverflowError, a 503
        ("/voice/key", "c=2147483648&s=0"),  # PostgreSQL: integer out of range, a 503
        ("/voice/key", "c={c}&s=-1"),
        ("/voice/whisper", "r=-1"),
        ("/voice/dialed", "r=1e3"),
        ("/voice/voicemail", "r=%D9%A3"),  # an Arabic-Indic digit, which int() takes
        ("/voice/mediator/queue", "i=-5"),  # a negative position counted from the end
        ("/voice/mediator/choice", "r={r}&i=99999999999999999999"),
    ],
)
def test_odd_numbers_in_the_query_are_a_bad_request(world: World, path: str, query: str) -> None:
    live = world.live()
    params = {"CallSid": live["call_sid"], "From": MEDIATOR, "To": SERVICE_NUMBER, "Digits": "2"}
    before = _counts(world)
    response = world.send(path, query.format(**live), params)
    assert response.status_code == 400, response.text
    assert _counts(world) == before


@pytest.mark.parametrize(
    ("path", "params"),
    [
        # PostgreSQL refuses NUL in text, even in a query: each of these was a 503 there.
        ("/voice", {"CallSid": "\x00", "From": "+33612345678"}),
        ("/voice", {"CallSid": "CA" + "7" * 100, "From": "+33612345678"}),  # past varchar(64)
        ("/sms", {"MessageSid": "SM\x00", "From": "+33612345678", "Body": "caf"}),
        ("/sms/status", {"MessageSid": "\x00"}),
        ("/voice/status", {"CallSid": "CA\x00"}),
    ],
)
def test_sids_that_cannot_be_twilios_change_nothing(
    world: World, path: str, params: dict[str, str]
) -> None:
    before = _counts(world)
    assert world.send(path, "", params).status_code in (400, 404)
    assert _counts(world) == before


def test_nul_and_invisible_characters_are_not_kept(world: World) -> None:
    sid = "CA" + secrets.token_hex(16)
    caller = "\x00\u202e+33 6 12\x00"  # not a valid number: kept as text, printable
    assert world.send("/voice", "", {"CallSid": sid, "From": caller}).status_code == 200
    ((conversation, phone),) = world.rows(
        "SELECT c.id, p.phone FROM conversations c JOIN people p ON p.id = c.person_id "
        "WHERE c.call_sid = :sid",
        sid=sid,
    )
    assert phone == "+33 6 12"
    key = world.send("/voice/key", f"c={conversation}&s=0", {"CallSid": sid, "Digits": "\x00"})
    assert key.status_code == 200  # nothing pressed
    ended = {"CallSid": sid, "CallStatus": "comp\x00leted", "CallDuration": "9" * 30}
    assert world.send("/voice/status", "", ended).status_code == 204
    ((status, duration),) = world.rows(
        "SELECT call_status, duration FROM conversations WHERE id = :c", c=conversation
    )
    assert (status, duration) == ("completed", None)
    sent = {"MessageSid": "SM" + "5" * 32, "MessageStatus": "\x00", "ErrorCode": "3\x00"}
    assert world.send("/sms/status", "", sent).status_code == 204
    assert (
        world.rows(
            "SELECT error FROM outbound_messages WHERE provider_id = :p", p=sent["MessageSid"]
        )[0][0]
        == "error 3"
    )


def test_the_caller_id_of_a_mediators_call_is_well_formed_twiml(world: World) -> None:
    # A control character in To went as is into <Dial callerId>: not XML any more.
    params = {"CallSid": "CA1", "From": MEDIATOR, "To": "+339\x0b00000000", "Digits": "1"}
    response = world.send("/voice/mediator/choice", f"r={world.live()['r']}&i=0", params)
    assert response.status_code == 200
    dial = ET.fromstring(response.get_data()).find("Dial")
    assert dial is not None and dial.get("callerId") == "+33900000000"
