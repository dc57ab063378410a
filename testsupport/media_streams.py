"""The tests' own Twilio Media Streams simulator (shared with bench/stream.py): a streamed
call as Twilio runs it.

It follows Twilio's documented behaviour of `<Connect><Stream>` (bidirectional streams):

- the call's webhook (/voice) answers TwiML; `<Connect><Stream url>` makes Twilio open a
  websocket to that wss URL, signed (X-Twilio-Signature over the URL, no parameters);
- Twilio sends `connected`, then `start` (streamSid, callSid, tracks, mediaFormat
  audio/x-mulaw 8000 Hz mono, the `<Parameter>`s as customParameters), then one `media`
  message of the caller's audio every 20 ms in real time (160 mu-law bytes, base64, with
  chunk and timestamp), a `dtmf` message for a key, and `stop` when the call ends;
- the `media` Relais sends is buffered and played in real time, 20 ms per message; a
  `mark` is sent back when the audio before it has been played; `clear` empties the
  buffer, and the marks it held are sent back at once;
- when the websocket closes, `<Connect>` ends: Twilio asks its action URL (a signed POST
  with the call's parameters) and goes on with the TwiML it answers, which may be a new
  `<Connect><Stream>`.

Everything Relais sends is kept with its time (`events`), so tests and the benchmark can
tell what the caller heard and when.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from ivr.stream_audio import (
    FRAME_BYTES,
    FRAME_SECONDS,
    SILENCE_BYTE,
    frames_of,
    level_db,
    ulaw_decode,
    ulaw_encode,
)
from speech.audio import PHONE_RATE, decode, resample

ACCOUNT_SID = "AC" + "0" * 32
SERVICE_NUMBER = "+33900000000"
SILENCE = bytes([SILENCE_BYTE]) * FRAME_BYTES
SPEECH_DB = -40.0  # a frame of the caller louder than this is speech (for the timings)


def caller_frames(wav: bytes, pause: float = 0.0) -> list[bytes]:
    """What a caller says (a WAV) as the 20 ms mu-law frames of the line, after `pause`
    seconds of silence and followed by half a second of it."""
    samples, rate = decode(wav)
    ulaw = ulaw_encode(resample(samples, rate, PHONE_RATE))
    return [SILENCE] * int(pause / FRAME_SECONDS) + frames_of(ulaw) + [SILENCE] * 25


@dataclass
class Event:
    at: float  # time.monotonic()
    kind: str  # from Relais: media, mark, clear, closed; Twilio's: heard (a mark played)
    data: str = ""


@dataclass
class StreamedCall:
    """One call to a Relais in stream mode. `post(url, params)` sends a signed webhook (the
    HTTP simulator's), `stream_address(public_url)` gives the local ws URL for a public one,
    `sign(url)` the signature Twilio computes for it."""

    post: Callable[[str, dict[str, str]], requests.Response]
    stream_address: Callable[[str], str]
    sign: Callable[[str], str]
    public_url: str
    caller: str = "+33612345678"
    sid: str = field(default_factory=lambda: "CA" + secrets.token_hex(16))
    events: list[Event] = field(default_factory=list)
    after: list[ET.Element] = field(default_factory=list)  # the TwiML verbs after streams
    streams: int = 0  # websockets opened
    received: list[bytes] = field(default_factory=list)  # the media frames Relais sent
    ended: threading.Event = field(default_factory=threading.Event)
    # Set by a test to hold `<Connect>`'s action request (a server restarting meanwhile).
    action_gate: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.action_gate.set()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._inbound: deque[bytes] = deque()  # the caller's frames still to send
        self._playback: deque[bytes | str] = deque()  # frames and mark names to play
        self._ws: ClientConnection | None = None
        self._stream_sid = ""
        self._sequence = 0
        self._threads: list[threading.Thread] = []
        self._speaking = False

    # -- the call ------------------------------------------------------------------------
    def params(self, **extra: str) -> dict[str, str]:
        return {
            "AccountSid": ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "CallSid": self.sid,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "From": self.caller,
            "Caller": self.caller,
            "To": SERVICE_NUMBER,
            "Called": SERVICE_NUMBER,
            **extra,
        }

    def start(self) -> StreamedCall:
        """A call coming in: Twilio asks /voice."""
        self._follow(self.public_url + "/voice", self.params(CallStatus="ringing"))
        return self

    def answer(self, url: str, **params: str) -> StreamedCall:
        """A call Relais placed, picked up: Twilio asks the call's `Url`, with `params`
        (AnsweredBy, and From and To the other way round)."""
        self._follow(url, self.params(Direction="outbound-api", **params))
        return self

    def _follow(self, url: str, params: dict[str, str]) -> None:
        """A webhook, then its TwiML: a <Connect><Stream> is streamed, the rest is kept."""
        answer = self.post(url, params)
        assert answer.status_code == 200, (url, answer.status_code, answer.text)
        root = ET.fromstring(answer.text)
        connect_verb = root.find("Connect")
        if connect_verb is None:
            self.after.extend(root)
            self.ended.set()
            return
        self._open(connect_verb)

    def _open(self, connect_verb: ET.Element) -> None:
        stream = connect_verb.find("Stream")
        assert stream is not None
        url = stream.get("url", "")
        parameters = {p.get("name", ""): p.get("value", "") for p in stream.iter("Parameter")}
        self._ws = connect(
            self.stream_address(url),
            additional_headers={"X-Twilio-Signature": self.sign(url)},
            compression=None,
            max_queue=None,
        ).__enter__()
        self.streams += 1
        self._note("stream", str(len(self.received)))
        self._stream_sid = "MZ" + secrets.token_hex(16)
        self._sequence = 0
        self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        self._send_numbered(
            "start",
            {
                "start": {
                    "streamSid": self._stream_sid,
                    "accountSid": ACCOUNT_SID,
                    "callSid": self.sid,
                    "tracks": ["inbound"],
                    "customParameters": parameters,
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                }
            },
        )
        action = connect_verb.get("action")
        ws = self._ws
        self._threads = [
            threading.Thread(target=self._line, args=(ws,), daemon=True),
            threading.Thread(target=self._receive, args=(ws, action), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _send(self, message: dict) -> None:
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(ConnectionClosed):
                ws.send(json.dumps(message))

    def _send_numbered(self, event: str, body: dict) -> None:
        with self._lock:
            self._sequence += 1
            number = self._sequence
        message = {"event": event, "sequenceNumber": str(number), **body}
        if event != "connected":
            message["streamSid"] = self._stream_sid
        self._send(message)

    # -- the caller's side -----------------------------------------------------------------
    def press(self, digit: str) -> None:
        self._send_numbered("dtmf", {"dtmf": {"track": "inbound_track", "digit": digit}})
        self._note("pressed", digit)

    def say(self, frames: list[bytes]) -> None:
        """The caller speaks: these frames go out next, in real time."""
        with self._lock:
            self._inbound.extend(frames)

    def hang_up(self) -> None:
        self._send_numbered("stop", {"stop": {"accountSid": ACCOUNT_SID, "callSid": self.sid}})
        if self._ws is not None:
            self._ws.close()
        self.ended.set()

    def _line(self, ws: ClientConnection) -> None:
        """Every 20 ms: one frame of the caller to Relais, one frame of Relais played."""
        start, chunk = time.monotonic(), 0
        while True:
            chunk += 1
            time.sleep(max(0.0, start + chunk * FRAME_SECONDS - time.monotonic()))
            with self._lock:
                frame = self._inbound.popleft() if self._inbound else SILENCE
                speaking = level_db(ulaw_decode(frame)) > SPEECH_DB
                if speaking != self._speaking:  # when the caller starts and stops speaking
                    self._speaking = speaking
                    self._note("speech" if speaking else "speech_end", locked=True)
                played = self._play_one()
            for name in played:
                self._send_numbered("mark", {"mark": {"name": name}})
            try:
                payload = base64.b64encode(frame).decode("ascii")
                media = {"track": "inbound", "chunk": str(chunk), "timestamp": str(chunk * 20)}
                with self._lock:
                    self._sequence += 1
                    number = self._sequence
                ws.send(
                    json.dumps(
                        {
                            "event": "media",
                            "sequenceNumber": str(number),
                            "media": {**media, "payload": payload},
                            "streamSid": self._stream_sid,
                        }
                    )
                )
            except ConnectionClosed:
                return

    def _play_one(self) -> list[str]:
        """Play 20 ms of what Relais sent (under the lock); the marks reached."""
        marks = []
        while self._playback and isinstance(self._playback[0], str):
            marks.append(self._playback.popleft())
        if self._playback:
            self._playback.popleft()
            while self._playback and isinstance(self._playback[0], str):
                marks.append(self._playback.popleft())
        for name in marks:
            self._note("heard", name, locked=True)
        return [str(name) for name in marks]

    # -- Relais's side -----------------------------------------------------------------
    def _receive(self, ws: ClientConnection, action: str | None) -> None:
        try:
            for message in ws:
                data = json.loads(message)
                event = data.get("event")
                assert data.get("streamSid") == self._stream_sid, data
                with self._lock:
                    if event == "media":
                        frame = base64.b64decode(data["media"]["payload"])
                        self._playback.append(frame)
                        self.received.append(frame)
                        self._note("media", locked=True)
                    elif event == "mark":
                        self._playback.append(data["mark"]["name"])
                        self._note("mark", data["mark"]["name"], locked=True)
                    elif event == "clear":
                        cleared = [m for m in self._playback if isinstance(m, str)]
                        self._playback.clear()
                        self._note("clear", str(len(self.received)), locked=True)
                if event == "clear":
                    for name in cleared:
                        self._send_numbered("mark", {"mark": {"name": name}})
        except ConnectionClosed:
            pass
        self._note("closed")
        if self.ended.is_set():  # the caller hung up
            return
        self.action_gate.wait()
        if action:
            self._follow(action, self.params())
        else:
            self.ended.set()

    def _note(self, kind: str, data: str = "", locked: bool = False) -> None:
        if not locked:
            with self._lock:
                self._note(kind, data, locked=True)
            return
        self.events.append(Event(time.monotonic(), kind, data))
        self._changed.notify_all()

    # -- what the caller heard ---------------------------------------------------------
    def wait_for(self, check: Callable[[list[Event]], bool], timeout: float = 40) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not check(self.events):
                left = deadline - time.monotonic()
                assert left > 0, f"waited {timeout} s: {[e.kind for e in self.events][-20:]}"
                self._changed.wait(left)

    def kinds(self) -> list[str]:
        with self._lock:
            return [event.kind for event in self.events]

    def close(self) -> None:
        self.action_gate.set()
        if self._ws is not None:
            self._ws.close()
        for thread in self._threads:
            thread.join(timeout=5)
