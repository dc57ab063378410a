"""Stream mode's websocket server: Twilio's bidirectional Media Streams.

The server is the `websockets` package's threaded one (websockets.sync.server): a thread
per call, like waitress's threads, so the dialogue, the database and Vosk run as they do
in a webhook. It listens on its own port (RELAIS_STREAM_PORT) beside waitress, which
cannot upgrade a connection to a websocket; the reverse proxy sends /voice/stream there.

The upgrade request must carry Twilio's signature (X-Twilio-Signature over the wss URL
of `<Stream>`, no parameters), or it is refused with 403. Then, per Twilio's messages:

- `start`: the conversation named by the `<Parameter>`, checked against the call; its
  current prompts are played (a call that reconnects hears the question it was at);
- `media`: 20 ms of the caller in 8 kHz mu-law. Speech is found by level; when it starts
  during a prompt, the prompt stops (`clear`: barge-in); when the caller pauses, Vosk
  recognises what was said so far with the question's grammar, as a recorded answer is,
  in a thread beside the call's; when the pause lasts to the end of the utterance, those
  words make a turn (speech again: the next pause is recognised instead);
- `dtmf`: a key, taken at once, whatever is playing (keys of a number until #);
- `mark`: the prompt has been played: the caller has NO_INPUT_SECONDS to answer;
- `stop`: the call is over.

Prompts are the rendered WAVs of record mode, sent as `media` frames paced in real time
(200 ms ahead, which Twilio buffers), each prompt followed by a `mark`. A turn that leaves
the stream (a hand-off, the end) closes the websocket: Twilio asks `<Connect>`'s action for
the rest.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from flask import Flask
from twilio.request_validator import SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from core.content_dirs import operator_messages
from core.phones import can_receive_sms
from core.settings import Settings
from core.signature import valid_signature
from dialogues.engine import Digits, Input, Key, NoInput, Words
from dialogues.messages import OPERATOR
from runtime import spoken_answers
from speech.recognition import Recognisers, Recognition
from speech.service import Speech
from speech.voice import tts_available

from .stream_audio import (
    FRAME_SECONDS,
    Paused,
    SpeechDetector,
    Utterance,
    prompt_frames,
    ulaw_decode,
    utterance_wav,
)
from .stream_turns import current_prompts, listening, stream_turn
from .stream_twiml import CONVERSATION_PARAMETER, STREAM_PATH, Prompts, stream_url
from .twiml import KEY_TIMEOUT, NUMBER_TIMEOUT, RECORD_SECONDS

log = logging.getLogger(__name__)

NO_INPUT_SECONDS = KEY_TIMEOUT + RECORD_SECONDS  # after a prompt, as record mode waits
SILENT_LINE_SECONDS = 10  # no message from Twilio for this long: the stream is dead
# Frames sent ahead of real time (200 ms): Twilio buffers them and plays them at its pace,
# so a pause of this server (2 cores shared by 20 calls' recognition) or of the network
# shorter than that leaves no gap in the prompt; `clear` empties the buffer at once.
AHEAD_FRAMES = 10
MAX_MESSAGE = 64 * 1024  # Twilio's messages are small (a media frame is ~400 bytes)
HEARING_THREADS = 32  # answers heard at a pause, beside the calls' threads (Vosk's decoding
# runs outside the GIL); a call has at most HEARINGS_PER_CALL under way (the last pause's
# and one before it: a word with a short gap inside pauses twice)
HEARINGS_PER_CALL = 2


def stream_problem(settings: Settings) -> str | None:
    """Why stream mode cannot run with these settings (for whoever runs Relais:
    operator.yaml's `stream`), or None."""
    if settings.voice_mode != "stream":
        return None
    say = operator_messages(OPERATOR)
    recognisers = Recognisers(settings.vosk_model)
    for lang in settings.languages:  # each language served is streamed
        if recognisers.available(lang):
            continue
        return say(
            "stream.no_speech",
            model=settings.vosk_model(lang),
            language=lang,
            setting=lang.upper(),
        )
    if not tts_available():
        return say("stream.no_tts")
    return None


class Player:
    """Sends a prompt's frames in real time, then its mark. Stopping it sends `clear` at
    once, and no frame of that prompt after it."""

    def __init__(self, send: Callable[[dict], None]):
        self._send = send
        self._frames: deque[bytes] = deque()
        self._mark: str | None = None
        self._prompt = 0  # each prompt played or stopped: its frames go out only meanwhile
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, daemon=True, name="stream-player")
        self._thread.start()

    def play(self, frames: list[bytes], mark: str) -> None:
        with self._wake:
            self._frames, self._mark = deque(frames), mark
            self._prompt += 1
            self._wake.notify()

    def stop(self, then: dict | None = None) -> None:
        """Drop what is left to send, then send `then` (Twilio's `clear`)."""
        with self._wake:
            self._frames.clear()
            self._mark = None
            self._prompt += 1
            if then is not None:
                with contextlib.suppress(ConnectionClosed):
                    self._send(then)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self.stop()
            self._wake.notify()

    def _next(self) -> tuple[int, dict] | None:
        """The next message to send and its prompt; None once closed."""
        with self._wake:
            while not self._closed and not self._frames and self._mark is None:
                self._wake.wait()
            if self._closed:
                return None
            if self._frames:
                frame = self._frames.popleft()
                return self._prompt, {"event": "media", "media": {"payload": frame}}
            message, self._mark = {"event": "mark", "mark": {"name": self._mark}}, None
            return self._prompt, message

    def _run(self) -> None:
        prompt, start, sent = 0, 0.0, 0
        while (item := self._next()) is not None:
            number, message = item
            if number != prompt:
                prompt, start, sent = number, time.monotonic(), 0
            if message["event"] == "media":
                due = start + (sent - AHEAD_FRAMES) * FRAME_SECONDS
                time.sleep(max(0.0, due - time.monotonic()))
                sent += 1
            with self._wake:
                if self._prompt == number:  # not stopped meanwhile
                    with contextlib.suppress(ConnectionClosed):
                        self._send(message)


class StreamSession:
    """One call's Media Stream, from `start` to `stop` or until the call leaves it."""

    def __init__(self, app: Flask, connection: ServerConnection, hearings: ThreadPoolExecutor):
        self.app = app
        self.hearings = hearings
        self.settings: Settings = app.config["RELAIS"]
        self.speech: Speech = app.config["RELAIS_SPEECH"]  # the conversation's language's
        self.ws = connection
        self.stream_sid = ""
        self.call_sid = ""
        self.conversation_id = 0
        self._send_lock = threading.Lock()
        self.player = Player(self._send)
        self.detector = SpeechDetector()
        self.prompts = Prompts(())
        self.expected: tuple[str, ...] = ()
        self.keys = ""  # keys of a number typed so far
        self.marks = 0
        self.prompting = False  # a prompt is sent or played: its mark has not come back
        self.waiting_since: float | None = None  # the prompt was played: the caller's turn
        self.leaving = False
        # What was said up to the caller's last pause, being recognised.
        self.early: tuple[np.ndarray, Future[Recognition]] | None = None
        self.under_way: list[Future[Recognition]] = []  # this call's hearings

    # -- messages ------------------------------------------------------------------------
    def run(self) -> None:
        try:
            while not self.leaving:
                try:
                    message = self.ws.recv(timeout=SILENT_LINE_SECONDS)
                except TimeoutError:
                    log.warning("stream %s: Twilio silent, closed", self.stream_sid)
                    break
                if not isinstance(message, str) or not self._handle(message):
                    break
        except ConnectionClosed:
            pass
        finally:
            self.player.close()
            self.ws.close()

    def _handle(self, message: str) -> bool:
        """Handle one of Twilio's messages; False when the stream is over."""
        try:
            data = json.loads(message)
            event = data.get("event")
            if event == "start":
                return self._start(data["start"])
            if event == "media" and self.conversation_id:
                self._media(base64.b64decode(data["media"]["payload"]))
            elif event == "dtmf" and self.conversation_id:
                self._key(str(data["dtmf"]["digit"]))
            elif event == "mark":
                self._marked(str(data["mark"]["name"]))
            elif event == "stop":
                return False
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("stream %s: message not understood (%s)", self.stream_sid, exc)
        return True

    def _start(self, start: dict) -> bool:
        self.stream_sid = str(start.get("streamSid", ""))
        self.call_sid = str(start.get("callSid", ""))
        parameter = str(start.get("customParameters", {}).get(CONVERSATION_PARAMETER, ""))
        conversation_id = int(parameter) if parameter.isascii() and parameter.isdigit() else 0
        prompts = current_prompts(self.app, conversation_id, self.call_sid)
        if prompts is None:
            log.warning("stream %s: no conversation waits on it", self.stream_sid)
            return False
        self.conversation_id = conversation_id
        self._ask(prompts)
        return True

    def _media(self, payload: bytes) -> None:
        found = self.detector.feed(ulaw_decode(payload))
        if isinstance(found, str):  # speech starts
            self.waiting_since = None
            self._drop_early()
            self._barge_in()
        elif isinstance(found, Paused):
            self._hear_early(found.spoken)
        elif isinstance(found, Utterance):
            self._heard(found)
        elif self._timed_out():
            if self.keys:
                self._turn(self._digits(self.keys), "key", self.keys)
            else:
                self._turn(NoInput(), "no_input", None)

    def _key(self, digit: str) -> None:
        self._barge_in()
        self.detector.reset()
        self._drop_early()
        if not self.prompts.number:
            self._turn(Key(digit), "key", digit)
        elif digit == "#":
            keys, self.keys = self.keys, ""
            self._turn(self._digits(keys + "#"), "key", keys + "#")
        else:
            self.keys += digit
            self.waiting_since = time.monotonic()

    def _marked(self, name: str) -> None:
        if self.prompting and name == f"prompt-{self.marks}":
            self.prompting = False
            self.waiting_since = time.monotonic()

    def _barge_in(self) -> None:
        """The caller speaks or presses a key during a prompt: it stops, and Twilio drops
        the audio it has not played yet (`clear`)."""
        if self.prompting:
            self.prompting = False
            self.player.stop(then={"event": "clear"})

    # -- the caller's turn -----------------------------------------------------------------
    def _timed_out(self) -> bool:
        if self.waiting_since is None or self.detector.in_speech:
            return False
        limit = NUMBER_TIMEOUT if self.keys else NO_INPUT_SECONDS
        return time.monotonic() - self.waiting_since >= limit

    def _digits(self, keys: str) -> Input:
        if len(keys) == 1:
            return Key(keys)
        number = keys.rstrip("#")
        return Digits(number, can_receive_sms(number, self.settings.sms_countries))

    def _hear_early(self, spoken: np.ndarray) -> None:
        """Recognise what was said up to a pause, beside this thread: the answer if the
        pause lasts. Not while HEARINGS_PER_CALL of this call's still run (the utterance is
        then recognised at its end), nor once the server is closing."""
        self._drop_early()
        self.under_way = [hearing for hearing in self.under_way if not hearing.done()]
        if len(self.under_way) >= HEARINGS_PER_CALL:
            return
        try:
            hearing = self.hearings.submit(
                self.speech.recognise, utterance_wav(spoken), self.expected
            )
        except RuntimeError:  # the pool is shut down: the server is closing
            return
        self.early = (spoken, hearing)
        self.under_way.append(hearing)

    def _drop_early(self) -> None:
        if self.early is not None:
            self.early[1].cancel()  # not started yet: never runs
            self.early = None

    def _heard(self, utterance: Utterance) -> None:
        """The words of an utterance, recognised at its last pause (or now, when it ended
        without one, or that hearing has not started), and the utterance kept as record
        mode keeps a recording."""
        early, self.early = self.early, None
        if (
            early is not None
            and np.array_equal(early[0], utterance.spoken)
            and not early[1].cancel()
        ):
            heard = early[1].result()
        else:
            heard = self.speech.recognise(utterance_wav(utterance.spoken), self.expected)
        audio = utterance_wav(utterance.samples)
        name = f"{self.conversation_id}-{time.time_ns()}"
        kept = spoken_answers.keep(self.settings.data_dir, self.call_sid, name, audio)
        self._turn(Words(heard.text, heard.confidence), "words", heard.text or None, kept)

    def _turn(self, event: Input, kind: str, raw: str | None, recording: str | None = None):
        self.waiting_since = None
        self.keys = ""
        prompts = stream_turn(self.app, self.conversation_id, event, kind, raw, recording)
        if prompts is None:  # a hand-off or the end: Twilio asks <Connect>'s action
            self.leaving = True
            return
        self._ask(prompts)

    def _ask(self, prompts: Prompts) -> None:
        self.prompts = prompts
        self.speech, self.expected = listening(self.app, self.conversation_id)
        self.detector.reset()
        self._drop_early()
        frames = [frame for text, node in prompts.texts for frame in self._frames(text, node)]
        self.marks += 1
        self.prompting, self.waiting_since = True, None
        self.player.play(frames, f"prompt-{self.marks}")

    def _frames(self, text: str, node: str | None) -> tuple[bytes, ...]:
        """A prompt's audio as mu-law frames: rendered now if it was not yet."""
        name = self.speech.audio(text, node)
        if name is None and self.speech.cache is not None:
            self.speech.cache.render([text])
            name = self.speech.audio(text, node)
        if name is None:
            log.warning("no audio for a prompt of a streamed call: %r", text[:60])
            return ()
        if name.startswith("human/"):  # human/<lang>/<node>.wav
            path = Path(self.speech.human_dir) / name.rpartition("/")[2]
        else:
            path = self.settings.data_dir / "audio" / name
        return prompt_frames(path)

    # -- to Twilio ----------------------------------------------------------------------
    def _send(self, message: dict) -> None:
        message = {**message, "streamSid": self.stream_sid}
        if message["event"] == "media":
            payload = base64.b64encode(message["media"]["payload"]).decode("ascii")
            message["media"] = {"payload": payload}
        with self._send_lock:
            self.ws.send(json.dumps(message))


class StreamServer:
    """The websocket server of stream mode, in a thread of this process. With gunicorn's
    workers, each worker runs one on the same port (SO_REUSEPORT): the kernel spreads the
    calls over them."""

    def __init__(self, app: Flask, host: str, port: int):
        self.app = app
        self.settings: Settings = app.config["RELAIS"]
        self.public_url = stream_url(self.settings)
        for language in app.config["RELAIS_LANGUAGES"].values():  # models, before calls
            speech = language.speech
            threading.Thread(
                target=speech.recognisers.get, args=(speech.lang,), daemon=True
            ).start()
        paths = {STREAM_PATH, urlsplit(self.public_url).path}
        self.paths = paths
        listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind((host, port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self.server: Server = serve(
            self._session,
            sock=listener,
            process_request=self._check,
            compression=None,
            max_size=MAX_MESSAGE,
            ping_interval=None,  # Twilio's media messages say the line is alive
            # No flow control on what Twilio sends (50 small messages a second, all read):
            # with it, a session closing the websocket while messages wait would never read
            # Twilio's answer to its close, and would hang for close_timeout.
            max_queue=None,
        )
        self.hearings = ThreadPoolExecutor(HEARING_THREADS, thread_name_prefix="hearing")
        self.thread = threading.Thread(
            target=self.server.serve_forever, daemon=True, name="stream-server"
        )
        self.thread.start()

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse (403) an upgrade without Twilio's signature of the wss URL."""
        path, _, query = request.path.partition("?")
        if path not in self.paths:
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        url = self.public_url + (f"?{query}" if query else "")
        signed = valid_signature(
            self.settings,
            url,
            {},
            request.headers.get(SIGNATURE_HEADER, ""),
            request.headers.get(SIGNATURE_SETTINGS_HEADER),
        )
        if not signed:
            log.warning("stream upgrade without a valid Twilio signature: refused")
            return connection.respond(HTTPStatus.FORBIDDEN, "Forbidden\n")
        return None

    def _session(self, connection: ServerConnection) -> None:
        try:
            StreamSession(self.app, connection, self.hearings).run()
        except Exception:  # the call goes on: Twilio asks <Connect>'s action, which resumes
            log.exception("stream session failed")
            with contextlib.suppress(Exception):
                connection.close()

    def close(self) -> None:
        self.server.shutdown()
        self.hearings.shutdown(wait=False, cancel_futures=True)
        self.thread.join(timeout=5)
