"""Twilio's side of calls and text messages, played against Relais's webhooks: the
dashboard's sandbox (mediation.web_simulator, in-process), `relais call` and `relais sms`,
the tests and the benchmarks. (The stand-in of Twilio's REST API that the tests run beside
it is testsupport.twilio_api, out of the product.)

It talks to Relais exactly as Twilio does: signed form posts (X-Twilio-Signature, computed
with the twilio library over the public URL), Twilio's parameter names, and TwiML followed
with Twilio's semantics:

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
  once the greeting is over; "human", "fax" or "unknown" with either;
- a text message that is one of Twilio's default keywords is acted on by Twilio first
  (core.twilio_keywords).

What happens is told in a transcript (`Call.transcript`), in the words of the `simulator`
section of the content's dashboard.yaml (given by the caller; by default Relais's French
content): "tape 1", "raccroche", "appel vers ...".

Webhooks go over HTTP (requests), or to a Flask app in this process (`InProcessHttp`).
Recordings are WAV files served by a small local HTTP server, like Twilio's RecordingUrl.
A caller's answers are strings: "1" (a key), "0612345678#" (keys then #), "say:FILE.wav",
"silence" (nothing at this question), "hangup".
"""

from __future__ import annotations

import secrets
import threading
import wave
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import yaml
from flask import Flask
from twilio.request_validator import RequestValidator

from dialogues.sms_encoding import sms_size

from .content_dirs import DEFAULT_CONTENT_ROOT
from .twilio_keywords import twilio_keyword

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
# The words of a transcript (dashboard.yaml's `simulator` section): who speaks, then what
# they do and what the telephone network says happened.
SPEAKERS = {"relais": "relais", "caller": "caller", "mediator": "mediator", "twilio": "network"}
WORDS = (
    *SPEAKERS.values(),
    "said_by",
    "sound",
    "pressed",
    "says",
    "silence",
    "hangs_up",
    "hears",
    "dialling",
    "takes_call",
    "voicemail_answers",
    "voicemail_records",
    "during_greeting",
    "no_answer",
    "http_error",
    "not_twiml",
)


@cache
def french_words() -> dict[str, str]:
    """The transcript's words of Relais's French content, for a simulator given none (the
    tests, the benchmarks)."""
    path = DEFAULT_CONTENT_ROOT / "fr" / "dashboard.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))["simulator"]


def new_sid(prefix: str) -> str:
    """A new Twilio identifier: its prefix ("CA" a call, "SM" a message, "RE" a recording)
    and 32 hexadecimal digits."""
    return prefix + secrets.token_hex(16)


def rfc2822_now() -> str:
    """The time as Twilio's REST API writes it, e.g. "Mon, 23 Nov 2026 14:50:00 +0000"."""
    return format_datetime(datetime.now(UTC))


@dataclass
class Line:
    who: str  # "relais", "caller", "mediator" or "twilio"
    text: str
    sound: str = ""  # the URL of the sound Relais played (<Play>), whose text says so


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
        sid = new_sid("RE")
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
    sid: str = field(default_factory=lambda: new_sid("CA"))
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
    # The HTTP status of each webhook that failed (None: no answer at all).
    failures: list[int | None] = field(default_factory=list)
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

    def say(self, text: str, sound: str = "") -> None:
        self.transcript.append(Line("relais", text, sound))
        if self.answered_by and self.answered_by.startswith("machine"):
            if self._seconds < self.greeting:
                self._tell("twilio", "during_greeting")
            else:
                self.voicemail.append(text)

    def _tell(self, who: str, word: str, **values: object) -> None:
        """A line of the transcript, in the simulator's words."""
        self.transcript.append(Line(who, self.sim.words[word].format(**values)))

    def _failed(self, url: str, response: requests.Response | None) -> None:
        """A webhook that failed, told in the transcript."""
        self.failures.append(None if response is None else response.status_code)
        if response is None:
            self._tell("twilio", "no_answer", url=url)
        else:
            self._tell("twilio", "http_error", status=response.status_code, url=url)

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
            self._failed(url, response)
            failed, url = url, self.sim.public_url + self.sim.voice_fallback
            response = self._post(url, self.params(ErrorCode="11200", ErrorUrl=failed))
        if response is None or response.status_code != 200:
            self._failed(url, response)
            self._end("failed")
            return
        try:
            root = ET.fromstring(response.text)
        except ET.ParseError:
            self._tell("twilio", "not_twiml")
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
            url = (verb.text or "").strip()
            self.say(self.sim.words["sound"].format(url=url), sound=url)
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
            self._tell("twilio", "dialling", numbers=", ".join(shown), seen=seen)
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
        legs = [(number, self._party(), new_sid("CA")) for number in numbers]
        answering = [leg for leg in legs if leg[1] in ("accept", "decline", "voicemail")]
        if not answering:
            busy = all(party == "busy" for _, party, _ in legs)
            return ("busy" if busy else "no-answer"), legs[-1][2], 0
        answering.sort(key=lambda leg: leg[1] != "voicemail")
        number, party, sid = answering[0]
        if party == "voicemail":
            self._tell("mediator", "voicemail_answers")
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
            self._tell("mediator", "voicemail_records" if party == "voicemail" else "takes_call")
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
                    self._tell("mediator", "pressed", keys="1")
                    verbs = deque(self._leg_twiml(verb.get("action"), {**leg, "Digits": "1"}))
                # No key: on to the next verb, as Twilio does after a Gather's timeout.
            elif verb.tag == "Hangup":
                return False
        return True

    def _whispered(self, verb: ET.Element) -> None:
        if verb.tag == "Say":
            self.voices.add((verb.get("voice"), verb.get("language")))
        text = (verb.text or "").strip()
        shown = text if verb.tag == "Say" else self.sim.words["sound"].format(url=text)
        self._tell("mediator", "hears", said=shown)

    def _leg_twiml(self, url: str, params: dict[str, str]) -> list[ET.Element]:
        response = self.sim.post(url, params)
        self.webhooks += 1
        if response.status_code != 200:
            self._failed(url, response)
            return [ET.Element("Hangup")]
        return list(ET.fromstring(response.text))

    def _caller_hangs_up(self) -> None:
        self._tell("caller", "hangs_up")
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
        self._tell("caller", "pressed", keys=answer)
        self._next = (verb.get("action"), {"Digits": digits})

    def _record(self, verb: ET.Element) -> None:
        answer = self._peek()
        if answer is None or answer == "hangup":
            self._caller_hangs_up()
            return
        self.answers.popleft()
        if answer == "silence":
            self._tell("caller", "silence")
            return  # nothing recorded: no request, on to the next verb
        if answer.startswith("say:"):
            path = Path(answer[4:])
            sid, url = self.sim.recordings.add(path)
            self._tell("caller", "says", file=path.name)
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
        self._tell("caller", "pressed", keys=answer)
        self._next = (verb.get("action"), {"Digits": answer[:1]})

    def _end(self, status: str) -> None:
        if self.ended:
            return
        self.ended, self.status = True, status
        if self.resource is not None:
            self.resource.update(status=status, duration=self._seconds, ended_at=rfc2822_now())
        if (self.outbound and not self.status_url) or self.status_lost:
            return  # no StatusCallback was asked for, or it never reaches Relais
        answer = self._post(
            self.status_url or self.sim.public_url + "/voice/status",
            self.params(CallStatus=status, CallDuration=str(self._seconds)),
        )
        if answer is not None:  # a Relais that is down gets no status callback
            self.status_answers.append(answer.status_code)


@dataclass
class Answer:
    """What the simulator reads of an HTTP answer (as of a requests.Response)."""

    status_code: int
    text: str

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise requests.HTTPError(f"HTTP {self.status_code}")


class InProcessHttp:
    """The post() TwilioSimulator needs of a requests.Session, answered by a Flask app in
    this process and thread (no HTTP server): only the path and query of the URL count.
    Each webhook runs in an app context of its own (inside a caller's, such as the
    dashboard's, it would reuse its `g`: its settings and database session), with
    `environ` added to its WSGI environ."""

    def __init__(self, app: Flask, environ: dict[str, Any] | None = None):
        self.app, self.client = app, app.test_client()
        self.environ = environ or {}

    def post(self, url: str, data: dict, timeout: float, headers: dict) -> Answer:
        parts = urlsplit(url)
        with self.app.app_context():
            answer = self.client.post(
                f"{parts.path}?{parts.query}",
                data=data,
                headers=headers,
                environ_base=self.environ,
            )
        return Answer(answer.status_code, answer.get_data(as_text=True))

    def close(self) -> None:
        pass


class TwilioSimulator:
    """Sends what Twilio would send to the Relais at `server_url`. `public_url` is the URL
    Twilio believes it calls (what signatures cover), as behind a reverse proxy. `words`:
    those of the transcripts (WORDS, from dashboard.yaml's `simulator` section)."""

    def __init__(
        self,
        server_url: str,
        auth_token: str,
        public_url: str | None = None,
        service_number: str = SERVICE_NUMBER,
        timeout: float = 30,
        http: requests.Session | InProcessHttp | None = None,
        recordings: RecordingServer | None = None,
        words: Mapping[str, str] | None = None,
    ):
        self.words = words or french_words()
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

    def said_by(self, line: Line) -> str:
        """A line of a transcript with its speaker's name, as `relais call` prints it."""
        who = self.words[SPEAKERS.get(line.who, "network")]
        return self.words["said_by"].format(who=who, said=line.text)

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
        sid = message_sid or new_sid("SM")
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
