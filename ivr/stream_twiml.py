"""Stream mode's TwiML and what a streamed call remembers between its turns.

In stream mode (RELAIS_VOICE_MODE=stream) `/voice` answers `<Connect action=...><Stream>`:
Twilio opens a websocket to Relais's stream server (`wss://<public host>/voice/stream`,
signed like a webhook) and says which conversation it carries in a `<Parameter>`. The
prompts of each step are remembered as the step's reply (JSON), so the stream server, in
any process, after a restart too, plays the question the conversation waits on. When the
stream has to leave (a hand-off, the end), the TwiML of the rest is remembered under the
call's leave key, and `<Connect>`'s action (/voice/streamed) answers it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from twilio.twiml.voice_response import VoiceResponse

from core.settings import Settings
from core.store import Exchange, Store
from core.web import services
from dialogues.engine import Action, Ask, End, HandOff, Say

STREAM_PATH = "/voice/stream"
CONVERSATION_PARAMETER = "conversation"


def stream_url(settings: Settings) -> str:
    """The websocket URL Twilio connects to: the public URL's host and path, wss for an
    https public URL (ws for http, local tests only)."""
    parts = urlsplit(settings.public_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}{STREAM_PATH}"


def connect(conversation_id: int) -> str:
    """`<Connect>` to the stream server; when the stream ends, Twilio asks the action."""
    settings = services().settings
    response = VoiceResponse()
    action = f"{settings.public_url}/voice/streamed?c={conversation_id}"
    stream = response.connect(action=action, method="POST").stream(url=stream_url(settings))
    stream.parameter(name=CONVERSATION_PARAMETER, value=str(conversation_id))
    return str(response)


@dataclass(frozen=True)
class Prompts:
    """What a streamed call hears at one step: texts (with their node, for a human
    recording), then it listens; `number`: the answer is keys ending with #."""

    texts: tuple[tuple[str, str | None], ...]
    number: bool = False

    @classmethod
    def of(cls, actions: list[Action]) -> Prompts | None:
        """The prompts of a turn that ends on a question; None when the call must leave the
        stream (a hand-off, the end: TwiML says the rest)."""
        if not actions or not isinstance(actions[-1], Ask):
            return None
        if any(isinstance(action, HandOff | End) for action in actions):
            return None
        texts = tuple(
            (a.text, a.node if isinstance(a, Ask) else None)
            for a in actions
            if isinstance(a, Say | Ask) and a.text
        )
        return cls(texts, actions[-1].number)

    def dumps(self) -> str:
        return json.dumps({"texts": self.texts, "number": self.number}, ensure_ascii=False)

    @classmethod
    def loads(cls, body: str) -> Prompts:
        data = json.loads(body)
        return cls(tuple((text, node) for text, node in data["texts"]), data["number"])


def prompts_key(call_sid: str, step: int) -> str:
    return f"voice:{call_sid}:stream:{step}"


def leave_key(call_sid: str) -> str:
    return f"voice:{call_sid}:stream:leave"


def remember_prompts(store: Store, conversation: Exchange, prompts: Prompts) -> None:
    key = prompts_key(conversation.call_sid or "", conversation.step)
    store.remember_reply(key, prompts.dumps(), conversation.person_id)


def connect_call(conversation: Exchange, prompts: Prompts, start_key: str) -> str:
    """A streamed call's first answer: its first prompts kept for the stream server, and
    the `<Connect>` (kept too: Twilio may send /voice again)."""
    app = services()
    remember_prompts(app.store, conversation, prompts)
    body = connect(conversation.id)
    app.store.remember_reply(start_key, body, conversation.person_id)
    app.session.commit()
    return body
