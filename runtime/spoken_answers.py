"""A caller's spoken answer: a recording Twilio made, fetched, kept and recognised against
the question's words (Twilio's copy deleted), or an utterance of a streamed call, kept.
Kept under the data folder by call, so that forgetting a person or the purge removes it."""

from __future__ import annotations

import logging
from pathlib import Path

from core.recordings import delete_at_twilio
from core.store import Exchange
from core.web import Services
from dialogues.engine import Input, State, Words
from speech.audio import AudioError
from speech.recordings import RecordingUnavailable, fetch_recording, from_host

log = logging.getLogger(__name__)

# What a webhook heard: the engine's input, the turn's kind, the raw text, the recording.
Heard = tuple[Input, str, str | None, str | None]


def keep(data_dir: Path, call_sid: str, name: str, audio: bytes) -> str:
    """The answer's audio kept as `name`.wav with its call's; its path in the data folder."""
    folder = data_dir / "recordings" / call_sid
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.wav"
    path.write_bytes(audio)
    return str(path.relative_to(data_dir))


def heard_recording(app: Services, conversation: Exchange, url: str) -> Heard:
    """Fetch the recording, keep it, and recognise it against the question's words. When
    that fails, the answer counts as not understood: keys still work. Twilio's copy is
    deleted either way (Relais keeps its own, or will never fetch it)."""
    settings = app.settings
    if from_host(url, settings.recordings_url):  # once this turn is stored
        delete_at_twilio(app.session, url)
    not_understood: Heard = (Words("", 0.0), "recording", None, url)
    state = State.from_dict(conversation.state)
    language = app.speaking(state.lang)
    if not language.speech.listening:
        return not_understood
    try:
        audio = fetch_recording(
            url, settings.account_sid, settings.auth_token, allowed=settings.recordings_url
        )
        call = conversation.call_sid or str(conversation.id)  # a call's conversation has one
        kept = keep(settings.data_dir, call, str(conversation.step), audio)
        heard = language.speech.recognise(audio, language.engine.expected_words(state))
    except (RecordingUnavailable, AudioError) as exc:
        log.warning("spoken answer not used: %s", exc)
        return not_understood
    return Words(heard.text, heard.confidence), "words", heard.text or None, kept
