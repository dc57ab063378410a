"""A Twilio-faithful simulator of calls and text messages.

It talks to a running Relais over real HTTP exactly as Twilio does: signed form posts
(X-Twilio-Signature, computed with the twilio library over the public URL), Twilio's
parameter names, and TwiML followed with Twilio's semantics:

- Say, Play, Pause are heard; Gather collects keys (numDigits, finishOnKey) and, with no
  key, falls through to the next verb unless actionOnEmptyResult is true;
- Record posts RecordingUrl/RecordingDuration when something was said, posts Digits when a
  key ended it, and makes no request at all when nothing was recorded;
- Redirect fetches new TwiML; Dial rings its numbers at once (the first leg to answer is
  connected, the others hung up; a phone that is off sends the call to its voicemail, which
  answers at once), runs a <Number url> (a whisper: the TwiML the answering party hears
  before the parties are connected; a <Hangup> there ends that leg), and posts
  DialCallStatus, DialCallSid and DialCallDuration to its action when it has one (an
  answered leg is "completed", whatever its whisper did: audio went through);
- Hangup and Reject end the call; the end of a document ends the call too;
- at the end, the status callback gets CallStatus and CallDuration, once (Twilio does not
  send it again: `status_lost` plays Relais being down when it came);
- a call Relais placed with MachineDetection gets AnsweredBy as Twilio's detection says it:
  with Enable, a machine is "machine_start", while its greeting still plays (what is said
  then is not recorded); with DetectMessageEnd, "machine_end_beep" (or _silence, _other)
  once the greeting is over; "human", "fax" or "unknown" with either.

Recordings are WAV files served by a small local HTTP server, like Twilio's RecordingUrl.
A caller's answers are strings: "1" (a key), "0612345678#" (keys then #), "say:FILE.wav",
"silence" (nothing at this question), "hangup".
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import threading
import wave
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import requests
from twilio.request_validator import RequestValidator

from dialogues.sms_encoding import sms_size
from sms.keywords import twilio_keyword

from .twilio_spec import Checked, twilio_spec

ACCOUNT_SID = "AC" + "0" * 32
SERVICE_NUMBER = "+33900000000"
GREETING = 12  # seconds of an answering machine's greeting, before its beep
# What Twilio answers its default keywords with, on a number without Advanced Opt-Out.
TWILIO_KEYWORD_REPLIES = {
    "STOP": "You have successfully been unsubscribed. You will not receive any more "
    "messages from this number. Reply START to resubscribe.",
    "START": "You have successfully been re-subscribed to messages from this number. "
    "Reply HELP for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
    "HELP": "Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
}
UNSUBSCRIBED = 21610  # Twilio's error for a message to a number that opted out


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _rfc2822_now() -> str:
    """The time as Twilio's REST API writes it, e.g. "Mon, 23 Nov 2026 14:50:00 +0000"."""
    return format_datetime(datetime.now(UTC))


@dataclass
class Line:
    who: str  # "relais", "caller", "mediator" or "twilio"
    text: str

    def __str__(self) -> str:
        names = {
            "relais": "Relais",
            "caller": "Appelant",
            "twilio": "Twilio",
            "mediator": "Médiateur",
        }
        return f"{names.get(self.who, self.who)} : {self.text}"


class RecordingServer:
    """Serves WAV files at Twilio-like recording URLs (…/Recordings/RE…, with or without
    .wav)."""

    def __init__(self) -> None:
        files: dict[str, Path] = {}
        self.files = files

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                sid = self.path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".wav")
                path = files.get(sid)
                if path is None:
                    self.send_error(404)
                    return
                data = path.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "audio/x-wav")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll interval: close() waits for it, once per test.
        serve = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        serve.start()

    @property
    def url(self) -> str:
        """Where the recordings are, as RELAIS_RECORDINGS_URL must say to a Relais that
        fetches them (it fetches from Twilio's API host only)."""
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, path: Path) -> tuple[str, str]:
        sid = _sid("RE")
        self.files[sid] = Path(path)
        return sid, f"{self.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{sid}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _duration(path: Path) -> int:
    try:
        with wave.open(str(path)) as wav:
            return max(1, round(wav.getnframes() / wav.getframerate()))
    except (wave.Error, OSError, ZeroDivisionError):
        return 1


@dataclass
class Call:
    """One simulated call. `run` goes on until the call ends or, with `max_webhooks`, until
    that many webhooks were sent (so a test can stop the server between two)."""

    sim: TwilioSimulator
    caller: str
    to: str
    sid: str = field(default_factory=lambda: _sid("CA"))
    transcript: list[Line] = field(default_factory=list)
    webhooks: int = 0
    ended: bool = False
    status: str = "in-progress"
    # What the parties rung by a <Dial> do: "accept" (answers and presses 1 during the
    # whisper), "decline" (answers but presses nothing), "voicemail" (the phone is off: its
    # voicemail answers at once and presses nothing), "no-answer" or "busy". One for every
    # party, or a list: each party rung, in turn, does the next (then "no-answer").
    mediators: str | list[str] = "accept"
    # Each <Say> heard on this call or its legs: (voice, language).
    voices: set[tuple[str | None, str | None]] = field(default_factory=set)
    # Interactive (the web simulator): with no answer left, wait for the next one instead
    # of hanging up.
    interactive: bool = False
    # A call Relais placed (Calls API): its URLs, and who picked up (AnsweredBy).
    outbound: bool = False
    start_url: str | None = None
    status_url: str | None = None
    answered_by: str | None = None
    # Its Call resource as the Calls API shows it (status, answered_by, duration).
    resource: dict[str, Any] | None = None
    status_lost: bool = False  # the status callback never reaches Relais
    status_answers: list[int] = field(default_factory=list)  # HTTP status of each callback
    # What an answering machine recorded: what was said once its greeting had ended.
    voicemail: list[str] = field(default_factory=list)
    greeting: int = 0  # seconds of a machine's greeting still to play when the call starts
    answers: deque = field(default_factory=deque)
    _awaiting: ET.Element | None = None
    _verbs: deque = field(default_factory=deque)
    _next: tuple[str, dict] | None = None
    _seconds: int = 0
    _rung: int = 0  # parties rung so far

    def params(self, **extra: str) -> dict[str, str]:
        return {
            "AccountSid": ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "CallSid": self.sid,
            "CallStatus": "ringing" if self.webhooks == 0 else "in-progress",
            "Direction": "outbound-api" if self.outbound else "inbound",
            # A placed call goes from the service's number to the person.
            "From": self.to if self.outbound else self.caller,
            "Caller": self.to if self.outbound else self.caller,
            "To": self.caller if self.outbound else self.to,
            "Called": self.caller if self.outbound else self.to,
            **extra,
        }

    def run(self, answers: Iterable[str] = (), max_webhooks: int | None = None) -> Call:
        self.answers.extend(answers)
        if self.webhooks == 0 and self._next is None and not self.ended:
            first = {"AnsweredBy": self.answered_by} if self.answered_by else {}
            self._next = (self.start_url or self.sim.public_url + "/voice", first)
        while not self.ended:
            if self._awaiting is not None:
                if not self.answers:
                    break  # waiting for the caller
                verb, self._awaiting = self._awaiting, None
                self._answer_gather(verb)
            elif self._next is not None:
                if max_webhooks is not None and self.webhooks >= max_webhooks:
                    break
                url, extra = self._next
                self._next = None
                self._fetch(url, extra)
            elif self._verbs:
                self._do(self._verbs.popleft())
            else:
                self._end("completed")  # the end of the TwiML: Twilio hangs up
        return self

    def say(self, text: str) -> None:
        self.transcript.append(Line("relais", text))
        if self.answered_by and self.answered_by.startswith("machine"):
            if self._seconds < self.greeting:
                self.transcript.append(Line("twilio", "dit pendant l'annonce du répondeur"))
            else:
                self.voicemail.append(text)

    def _post(self, url: str, params: dict[str, str]) -> requests.Response | None:
        """A webhook as Twilio sends it: a connection that fails is tried once more (its
        default retry count); None when there is no answer at all."""
        for _ in range(2):
            try:
                return self.sim.post(url, params)
            except requests.ConnectionError:
                continue
        return None

    def _fetch(self, url: str, extra: dict[str, str]) -> None:
        response = self._post(url, self.params(**extra))
        self.webhooks += 1
        if (response is None or response.status_code != 200) and self.sim.voice_fallback:
            # Twilio asks the number's fallback URL when a webhook fails (ErrorCode 11200).
            failure = "no answer" if response is None else f"HTTP {response.status_code}"
            self.transcript.append(Line("twilio", f"{failure} from {url}"))
            failed, url = url, self.sim.public_url + self.sim.voice_fallback
            response = self._post(url, self.params(ErrorCode="11200", ErrorUrl=failed))
        if response is None or response.status_code != 200:
            failure = "no answer" if response is None else f"HTTP {response.status_code}"
            self.transcript.append(Line("twilio", f"{failure} from {url}"))
            self._end("failed")
            return
        try:
            root = ET.fromstring(response.text)
        except ET.ParseError:
            self.transcript.append(Line("twilio", "the answer is not TwiML"))
            self._end("failed")
            return
        self._verbs = deque(root)

    def _peek(self) -> str | None:
        return self.answers[0] if self.answers else None

    def _do(self, verb: ET.Element) -> None:
        tag = verb.tag
        if tag == "Say":
            self.voices.add((verb.get("voice"), verb.get("language")))
            self.say((verb.text or "").strip())
            self._seconds += 1 + len((verb.text or "").split()) // 3
        elif tag == "Play":
            self.say(f"[son] {(verb.text or '').strip()}")
        elif tag == "Pause":
            self._seconds += int(verb.get("length", "1"))
        elif tag == "Gather":
            self._gather(verb)
        elif tag == "Record":
            self._record(verb)
        elif tag == "Redirect":
            self._next = ((verb.text or "").strip(), {})
        elif tag == "Dial":
            numbers = [n for n in verb if n.tag == "Number"]
            shown = [(n.text or "").strip() for n in numbers] or [(verb.text or "").strip()]
            # What the called party sees: the callerId, or the number of this call's caller.
            seen = verb.get("callerId") or self.params()["From"]
            self.transcript.append(
                Line("twilio", f"appel vers {', '.join(shown)}, numéro affiché {seen}")
            )
            status, leg_sid, seconds = self._dial(numbers or [verb], seen)
            if verb.get("action"):
                self._next = (
                    verb.get("action"),
                    {
                        "DialCallStatus": status,
                        "DialCallSid": leg_sid,
                        "DialCallDuration": str(seconds),
                    },
                )
        elif tag == "Hangup":
            self._end("completed")
        elif tag == "Reject":
            self._end("busy" if verb.get("reason") == "busy" else "no-answer")

    def _party(self) -> str:
        """What the next party rung does (see `mediators`)."""
        if isinstance(self.mediators, str):
            return self.mediators
        self._rung += 1
        return (self.mediators[self._rung - 1 :] or ["no-answer"])[0]

    def _dial(self, numbers: list[ET.Element], seen: str) -> tuple[str, str, int]:
        """Ring the numbers at once: (DialCallStatus, DialCallSid, DialCallDuration). The
        first leg to answer is connected, the others hung up; a voicemail answers before
        anyone can pick up. A <Number machineDetection amdStatusCallback> gets who answered
        (human or machine_start) there. A <Number url> is a whisper the answering party hears first:
        the parties are connected unless that TwiML hangs up."""
        legs = [(number, self._party(), _sid("CA")) for number in numbers]
        answering = [leg for leg in legs if leg[1] in ("accept", "decline", "voicemail")]
        if not answering:
            busy = all(party == "busy" for _, party, _ in legs)
            return ("busy" if busy else "no-answer"), legs[-1][2], 0
        answering.sort(key=lambda leg: leg[1] != "voicemail")
        number, party, sid = answering[0]
        if party == "voicemail":
            self.transcript.append(Line("mediator", "la messagerie répond"))
        detected = number.get("amdStatusCallback")
        if number.get("machineDetection") and detected:  # while the parties talk
            answered_by = "machine_start" if party == "voicemail" else "human"
            self.sim.post(
                detected, {"AccountSid": ACCOUNT_SID, "CallSid": sid, "AnsweredBy": answered_by}
            )
            self.webhooks += 1
        url = number.get("url")
        leg = {
            "AccountSid": ACCOUNT_SID,
            "CallSid": sid,
            "ParentCallSid": self.sid,
            "From": seen,
            "To": (number.text or "").strip(),
            "Direction": "outbound-dial",
            "CallStatus": "in-progress",
            "ApiVersion": "2010-04-01",
        }
        if url is None or self._whisper(url, leg, party):
            if party == "voicemail":
                self.transcript.append(Line("mediator", "la messagerie enregistre l'appel"))
            else:
                self.transcript.append(Line("mediator", "prend l'appel"))
            return "completed", sid, 30
        return "completed", sid, 15  # answered, then hung up by its whisper

    def _whisper(self, url: str, leg: dict[str, str], party: str) -> bool:
        """Run a whisper on the answering leg: whether the parties are then connected."""
        verbs = deque(self._leg_twiml(url, leg))
        while verbs:
            verb = verbs.popleft()
            if verb.tag in ("Say", "Play"):
                self._whispered(verb)
            elif verb.tag == "Gather":
                for child in verb:
                    self._whispered(child)
                if party == "accept":
                    self.transcript.append(Line("mediator", "tape 1"))
                    verbs = deque(self._leg_twiml(verb.get("action"), {**leg, "Digits": "1"}))
                # No key: on to the next verb, as Twilio does after a Gather's timeout.
            elif verb.tag == "Hangup":
                return False
        return True

    def _whispered(self, verb: ET.Element) -> None:
        if verb.tag == "Say":
            self.voices.add((verb.get("voice"), verb.get("language")))
        text = (verb.text or "").strip()
        shown = text if verb.tag == "Say" else f"[son] {text}"
        self.transcript.append(Line("mediator", f"entend : {shown}"))

    def _leg_twiml(self, url: str, params: dict[str, str]) -> list[ET.Element]:
        response = self.sim.post(url, params)
        self.webhooks += 1
        if response.status_code != 200:
            self.transcript.append(Line("twilio", f"HTTP {response.status_code} from {url}"))
            return [ET.Element("Hangup")]
        return list(ET.fromstring(response.text))

    def _caller_hangs_up(self) -> None:
        self.transcript.append(Line("caller", "raccroche"))
        self._end("completed")

    @property
    def waiting(self) -> bool:
        """An interactive call waits for the caller's next key."""
        return self._awaiting is not None and not self.ended

    def _gather(self, verb: ET.Element) -> None:
        for child in verb:
            self._do(child)
        self._answer_gather(verb)

    def _answer_gather(self, verb: ET.Element) -> None:
        answer = self._peek()
        if answer is None and self.interactive:
            self._awaiting = verb
            return
        if answer is None or answer == "hangup":
            self._caller_hangs_up()
            return
        if answer.startswith("say:") or answer == "silence":
            # Without a <Record> next, nothing hears it: the answer is gone.
            if not (self._verbs and self._verbs[0].tag == "Record"):
                self.answers.popleft()
            if verb.get("actionOnEmptyResult") == "true":
                self._next = (verb.get("action"), {"Digits": ""})
            return
        self.answers.popleft()
        finish = verb.get("finishOnKey", "#")
        count = verb.get("numDigits")
        digits = answer[: int(count)] if count else answer
        if finish and finish in digits:
            digits = digits[: digits.index(finish)]
        self.transcript.append(Line("caller", f"tape {answer}"))
        self._next = (verb.get("action"), {"Digits": digits})

    def _record(self, verb: ET.Element) -> None:
        answer = self._peek()
        if answer is None or answer == "hangup":
            self._caller_hangs_up()
            return
        self.answers.popleft()
        if answer == "silence":
            self.transcript.append(Line("caller", "(silence)"))
            return  # nothing recorded: no request, on to the next verb
        if answer.startswith("say:"):
            path = Path(answer[4:])
            sid, url = self.sim.recordings.add(path)
            self.transcript.append(Line("caller", f"dit {path.name}"))
            self._next = (
                verb.get("action"),
                {
                    "RecordingUrl": url,
                    "RecordingSid": sid,
                    "RecordingDuration": str(_duration(path)),
                    "Digits": "",
                },
            )
            return
        self.transcript.append(Line("caller", f"tape {answer}"))
        self._next = (verb.get("action"), {"Digits": answer[:1]})

    def _end(self, status: str) -> None:
        if self.ended:
            return
        self.ended, self.status = True, status
        if self.resource is not None:
            self.resource.update(status=status, duration=self._seconds, ended_at=_rfc2822_now())
        if (self.outbound and not self.status_url) or self.status_lost:
            return  # no StatusCallback was asked for, or it never reaches Relais
        answer = self.sim.post(
            self.status_url or self.sim.public_url + "/voice/status",
            self.params(CallStatus=status, CallDuration=str(self._seconds)),
        )
        self.status_answers.append(answer.status_code)


class TwilioSimulator:
    """Sends what Twilio would send to the Relais at `server_url`. `public_url` is the URL
    Twilio believes it calls (what signatures cover), as behind a reverse proxy."""

    def __init__(
        self,
        server_url: str,
        auth_token: str,
        public_url: str | None = None,
        service_number: str = SERVICE_NUMBER,
        timeout: float = 30,
        http: requests.Session | None = None,
        recordings: RecordingServer | None = None,
    ):
        self.server_url = server_url.rstrip("/")
        self.public_url = (public_url or server_url).rstrip("/")
        self.validator = RequestValidator(auth_token)
        self.service_number = service_number
        self.timeout = timeout
        self.http = http or requests.Session()  # or anything with the same post()
        self._recordings = recordings
        # The number's "primary handler fails" URL, as the README sets it (None: not set).
        self.voice_fallback: str | None = "/voice/fallback"
        # Twilio's STOP filtering: the numbers that texted an opt-out keyword, what Twilio
        # answered keywords with itself, and the messages it refused to send (21610).
        self.opted_out: set[str] = set()
        self.twilio_replies: list[tuple[str, str]] = []
        self.undelivered: list[tuple[str, str, int]] = []

    @property
    def recordings(self) -> RecordingServer:
        if self._recordings is None:
            self._recordings = RecordingServer()
        return self._recordings

    def close(self) -> None:
        if self._recordings is not None:
            self._recordings.close()
        self.http.close()

    def post(
        self, url: str, params: dict[str, str], signature: str | None = None
    ) -> requests.Response:
        """A signed form post to a public URL, sent to the server's real address."""
        if signature is None:
            signature = self.validator.compute_signature(url, params)
        target = self.server_url + url.removeprefix(self.public_url)
        return self.http.post(
            target, data=params, timeout=self.timeout, headers={"X-Twilio-Signature": signature}
        )

    def call(
        self,
        caller: str,
        answers: Iterable[str] = (),
        to: str | None = None,
        max_webhooks: int | None = None,
        mediators: str | list[str] = "accept",
    ) -> Call:
        call = Call(self, caller, to or self.service_number, mediators=mediators)
        return call.run(answers, max_webhooks)

    def pick_up(
        self,
        placed: dict[str, Any],
        who: str = "human",
        answers: Iterable[str] = (),
        dialled: str | list[str] = "accept",
        status_lost: bool = False,
    ) -> Call | None:
        """Play a call Relais placed (a Calls request kept by TwilioApi) as Twilio does:
        `who` answers it: "human", "machine" (an answering machine, whose greeting lasts
        GREETING seconds), "fax", "unknown" (detection could not tell) or one of
        DetectMessageEnd's "machine_end_beep", "machine_end_silence", "machine_end_other";
        or "no-answer", "busy" or "failed" (then only the status callback comes).
        `dialled` is what a number this call then <Dial>s does (see Call.mediators);
        `status_lost`: the status callback never reaches Relais."""
        call = Call(
            self,
            caller=placed["To"],
            to=placed["From"],
            sid=placed["sid"],
            outbound=True,
            start_url=placed.get("Url"),
            status_url=placed.get("StatusCallback"),
            resource=placed,
            status_lost=status_lost,
            mediators=dialled,
        )
        if who in ("no-answer", "busy", "failed"):
            call._end(who)
            return None
        placed["status"] = "in-progress"
        detection = placed.get("MachineDetection")
        machine = who == "machine" or who.startswith("machine_end")
        if detection == "Enable" and machine:
            call.answered_by, call.greeting = "machine_start", GREETING
        elif detection == "DetectMessageEnd" and who == "machine":
            call.answered_by = "machine_end_beep"
        elif detection:
            call.answered_by = who
        placed["answered_by"] = call.answered_by
        return call.run(answers)

    def sms_params(
        self, sender: str, body: str, to: str | None = None, message_sid: str | None = None
    ) -> dict[str, str]:
        sid = message_sid or _sid("SM")
        return {
            "AccountSid": ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "MessageSid": sid,
            "SmsSid": sid,
            "SmsMessageSid": sid,
            "SmsStatus": "received",
            "From": sender,
            "To": to or self.service_number,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": str(sms_size(body).segments),
        }

    def sms(
        self, sender: str, body: str, to: str | None = None, message_sid: str | None = None
    ) -> list[str]:
        """Text Relais; the bodies of the messages it answers with that reach the sender.

        As Twilio does, a whole message that is one of its keywords is acted on first: an
        opt-out word blocks the sender, an opt-in word lifts the block, and Twilio answers
        them and the help words itself (`twilio_replies`; help only to a number not
        blocked); then the message goes to Relais. Relais's answers to a blocked number
        are not sent (`undelivered`, error 21610)."""
        kind = twilio_keyword(body)
        if kind == "STOP":
            self.opted_out.add(sender)
        elif kind == "START":
            self.opted_out.discard(sender)
        if kind and sender not in (self.opted_out if kind == "HELP" else ()):
            self.twilio_replies.append((sender, TWILIO_KEYWORD_REPLIES[kind]))
        response = self.post(
            self.public_url + "/sms", self.sms_params(sender, body, to, message_sid)
        )
        response.raise_for_status()
        bodies = message_bodies(response.text)
        if sender in self.opted_out:
            self.undelivered += [(sender, reply, UNSUBSCRIBED) for reply in bodies]
            return []
        return bodies


def message_bodies(twiml: str) -> list[str]:
    root = ET.fromstring(twiml)
    bodies = []
    for message in root.iter("Message"):
        body = message.find("Body")
        bodies.append(((body.text if body is not None else message.text) or "").strip())
    return bodies


# A call needs one of these to know what to do once answered; the OpenAPI description does
# not say so, Twilio does (error 21205).
INSTRUCTIONS = {"Url", "Twiml", "ApplicationSid"}


class RefusedRequests(AssertionError):
    """Relais made REST requests that Twilio would refuse."""


@dataclass
class Rejected:
    """A REST request the stand-in refused, and why."""

    method: str
    path: str
    body: str
    problems: list[str]


class TwilioApi:
    """A local stand-in for Twilio's REST API (set RELAIS_TWILIO_API_URL to `url`).

    It checks Twilio's authentication, then every request against Twilio's own OpenAPI
    description (relais.twilio_spec, which raises SpecMissing when it is not installed). A
    request the description refuses gets Twilio's 400 answer and is kept in `rejected`, as is
    a valid one this stand-in does not play; tests assert `rejected == []`. It plays:

    - Messages (POST …/Messages.json): kept in `messages`; `deliver` later sends its status
      callbacks in Twilio's order (none for "queued", its first status), `report` any one;
    - Calls (POST …/Calls.json): kept in `calls`, answered with a queued Call resource, then
      handed to `on_call` when set (who drives the call through Relais's webhooks);
    - a call (GET …/Calls/CA….json): its Call resource as the call went so far (this answer
      is checked against the description too); each sid asked for is kept in `fetched`;
    - Recordings (DELETE …/Recordings/RE….json): the simulator's recording goes (its URL
      answers 404 from then on), its sid is kept in `deleted_recordings`.

    A kept request is its form parameters, typed as the description says (an array such as
    StatusCallbackEvent is a list), with the new resource's "sid" (and a call's "status",
    "answered_by" and "duration" as it goes).

    `overtake`: a status Twilio reports before it has answered the request that created
    the message or call (its status callback overtakes the answer: Relais does not know the
    sid yet); a call that "overtakes" with an end (busy, failed...) is not handed on.

    `check_one_in`: under load (bench/stack.py), checking each request would cost this
    stand-in more CPU than the server it serves (openapi-core takes ~10 ms a message, and
    Twilio's API does not run on Relais's machine); then only the first and one request in
    `check_one_in` are checked, the others kept with their parameters as sent.
    """

    def __init__(
        self,
        sim: TwilioSimulator,
        account_sid: str,
        auth_token: str,
        on_call: Callable[[dict[str, Any]], None] | None = None,
        check_one_in: int = 1,
    ):
        self.sim = sim
        self.spec = twilio_spec()
        self.received = itertools.count()
        self.check_one_in = check_one_in
        self.messages: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.fetched: list[str] = []
        self.overtake: str | None = None
        self.rejected: list[Rejected] = []
        self.deleted_recordings: list[str] = []  # Recordings API: DELETE …/Recordings/RE….json
        self.on_call = on_call
        expected = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        messages = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        calls = f"/2010-04-01/Accounts/{account_sid}/Calls.json"
        a_call = re.compile(rf"/2010-04-01/Accounts/{account_sid}/Calls/(CA[0-9a-f]{{32}})\.json")
        recording = re.compile(rf"/2010-04-01/Accounts/{account_sid}/Recordings/(RE\w+)\.json")
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keeps the connection, as Twilio's API does
            # Headers and body go out in two writes: with Nagle's algorithm the body
            # waited for the client's delayed ACK, 40 ms an answer on a kept connection.
            disable_nagle_algorithm = True

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, code: int, message: str) -> None:
                self._json(
                    status,
                    {
                        "code": code,
                        "message": message,
                        "more_info": f"https://www.twilio.com/docs/errors/{code}",
                        "status": status,
                    },
                )

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Authorization") != expected:
                    self._error(401, 20003, "Authenticate")
                    return
                if next(api.received) % api.check_one_in == 0:
                    checked = api.spec.check(self.command, self.path, body, dict(self.headers))
                else:
                    checked = Checked([], dict(parse_qsl(body.decode("utf-8", "replace"))))
                deleting = self.command == "DELETE" and recording.fullmatch(self.path)
                fetching = self.command == "GET" and a_call.fullmatch(self.path)
                played = (
                    (self.command == "POST" and self.path in (messages, calls))
                    or deleting
                    or fetching
                )
                problems, code = checked.problems, 400
                calling = played and self.path == calls
                if calling and not problems and not INSTRUCTIONS & checked.params.keys():
                    problems, code = ["Url parameter is required."], 21205
                if problems or not played:
                    problems = problems or ["not played by this stand-in"]
                    text = body.decode("utf-8", "replace")
                    api.rejected.append(Rejected(self.command, self.path, text, problems))
                    if played:
                        self._error(400, code, "; ".join(problems))
                    else:
                        self._error(404, 20404, "The requested resource was not found")
                elif self.path == messages and checked.params.get("To") in api.opted_out:
                    api.sim.undelivered.append(
                        (checked.params["To"], checked.params.get("Body", ""), UNSUBSCRIBED)
                    )
                    self._error(400, UNSUBSCRIBED, "Attempt to send to unsubscribed recipient")
                elif deleting:
                    if api._delete_recording(deleting.group(1)):
                        self.send_response(204)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                    else:
                        self._error(404, 20404, "The requested resource was not found")
                elif fetching:
                    self._fetched(fetching.group(1))
                elif self.path == messages:
                    message = api._message(checked.params)
                    if api.overtake:
                        api.report(message["sid"], api.overtake)
                    self._json(201, message)
                else:
                    call = api._call(checked.params)
                    ended = api.overtake not in (None, "queued", "ringing", "in-progress")
                    if ended:
                        api._overtake(call)
                    self._json(201, api._resource(call, created=True))
                    if api.on_call is not None and not ended:
                        api.on_call(call)

            def _fetched(self, sid: str) -> None:
                call = next((c for c in api.calls if c["sid"] == sid), None)
                api.fetched.append(sid)
                if call is None:
                    self._error(404, 20404, f"The requested resource {self.path} was not found")
                    return
                resource = api._resource(call)
                problems = api.spec.check_answer(
                    "GET", self.path, 200, json.dumps(resource).encode()
                )
                if problems:  # this stand-in answered as Twilio does not
                    api.rejected.append(Rejected("GET", self.path, "(its answer)", problems))
                self._json(200, resource)

            do_GET = do_POST = do_DELETE = _handle

            def log_message(self, *args) -> None:
                pass

        self.account_sid = account_sid
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        host, port = self.server.server_address[:2]
        self.url = f"http://{host}:{port}"
        # A short poll interval: close() waits for it, once per test.
        serve = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        serve.start()

    @property
    def opted_out(self) -> set[str]:
        """The numbers Twilio blocks (they texted STOP): the simulator's, if any."""
        return self.sim.opted_out if self.sim is not None else set()

    def _delete_recording(self, sid: str) -> bool:
        """Deletes a recording the simulator made: whether there was one."""
        recordings = self.sim.recordings.files if self.sim is not None else {}
        if recordings.pop(sid, None) is None:
            return False
        self.deleted_recordings.append(sid)
        return True

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        """Keeps a message; its Message resource as Twilio answers it."""
        sid = _sid("SM")
        self.messages.append({"sid": sid, **params})
        body = params.get("Body", "")
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": params["To"],
            "from": params.get("From"),
            "body": body,
            "status": "queued",
            "num_segments": str(sms_size(body).segments),
            "num_media": "0",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "date_created": _rfc2822_now(),
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }

    def _call(self, params: dict[str, Any]) -> dict[str, Any]:
        """Keeps a call, queued."""
        call = {"sid": _sid("CA"), **params, "status": "queued", "answered_by": None}
        call.update(duration=None, created_at=_rfc2822_now(), ended_at=None)
        self.calls.append(call)
        return call

    def _resource(self, call: dict[str, Any], created: bool = False) -> dict[str, Any]:
        """A kept call's Call resource, as Twilio answers its creation or a fetch."""
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Calls/{call['sid']}"
        duration = None if created or call["duration"] is None else str(call["duration"])
        return {
            "sid": call["sid"],
            "account_sid": self.account_sid,
            "parent_call_sid": None,
            "to": call["To"],
            "to_formatted": call["To"],
            "from": call["From"],
            "from_formatted": call["From"],
            "status": "queued" if created else call["status"],
            "direction": "outbound-api",
            "answered_by": None if created else call["answered_by"],
            "api_version": "2010-04-01",
            "date_created": call["created_at"],
            "start_time": None,
            "end_time": None if created else call["ended_at"],
            "duration": duration,
            "price": None,
            "uri": uri + ".json",
            "subresource_uris": {
                name: f"{uri}/{name.capitalize()}.json"
                for name in ("notifications", "recordings", "events")
            },
        }

    def _overtake(self, call: dict[str, Any]) -> None:
        """The call ends (busy, failed...) before the request that created it is answered:
        its status callback comes first."""
        call.update(status=self.overtake, duration=0, ended_at=_rfc2822_now())
        self.sim.post(
            call["StatusCallback"],
            {
                "AccountSid": ACCOUNT_SID,
                "ApiVersion": "2010-04-01",
                "CallSid": call["sid"],
                "CallStatus": self.overtake,
                "CallDuration": "0",
                "Direction": "outbound-api",
                "From": call["From"],
                "To": call["To"],
            },
        )

    def deliver(self, sid: str, statuses: Iterable[str] = ("sent", "delivered")) -> list[int]:
        """The message's status callbacks in Twilio's order (none for "queued", its status
        when it was created): the HTTP status of Relais's answer to each."""
        return [self.report(sid, status).status_code for status in statuses]

    def report(self, sid: str, status: str) -> requests.Response:
        """Send the message's status callback, as Twilio does when its status changes."""
        message = next(m for m in self.messages if m["sid"] == sid)
        return self.sim.post(
            message["StatusCallback"],
            {
                "AccountSid": ACCOUNT_SID,
                "MessageSid": sid,
                "SmsSid": sid,
                "MessageStatus": status,
                "SmsStatus": status,
                "To": message["To"],
                "From": message["From"],
                "ApiVersion": "2010-04-01",
            },
        )

    def close(self) -> None:
        """Stops the stand-in; fails if it refused a request, so that no test lets one pass
        unseen (a test that sends one on purpose takes it out of `rejected`)."""
        self.server.shutdown()
        self.server.server_close()
        if self.rejected:
            raise RefusedRequests(
                "the Twilio stand-in refused: "
                + "; ".join(f"{r.method} {r.path}: {', '.join(r.problems)}" for r in self.rejected)
            )
