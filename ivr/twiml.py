"""The engine's actions as TwiML for a call (through the twilio library's VoiceResponse)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from twilio.twiml.voice_response import Gather, VoiceResponse

from dialogues.engine import Action, Ask, End, HandOff, Say

KEY_TIMEOUT = 5  # seconds to wait for a key after the prompt
NUMBER_TIMEOUT = 10  # seconds to wait between keys of a phone number
RECORD_SECONDS = 5  # a spoken answer is a word or two
RECORD_SILENCE = 2  # seconds of silence that end a spoken answer
SAY_LANGUAGES = {"fr": "fr-FR", "ko": "ko-KR"}


def say_language(lang: str) -> str:
    """The language attribute of Twilio's <Say> for a content language."""
    return SAY_LANGUAGES.get(lang, lang)


@dataclass(frozen=True)
class CallRendering:
    """How this call's prompts sound and whether anyone listens to spoken answers."""

    url: Callable[[str], str]  # the absolute URL of the next webhook: key, record, silence
    audio: Callable[[str, str | None], str | None]  # a prompt's audio URL, if rendered
    lang: str
    listening: bool  # a speech model can understand a spoken answer
    # Dial a mediator, or take a callback request: (response, the hand-off, this rendering).
    hand_off: Callable[[VoiceResponse, HandOff, CallRendering], None]


def speak(
    verb: VoiceResponse | Gather, text: str, how: CallRendering, node: str | None = None
) -> None:
    audio = how.audio(text, node)
    if audio:
        verb.play(audio)
    else:
        verb.say(text, language=say_language(how.lang))


def render(actions: list[Action], how: CallRendering) -> str:
    response = VoiceResponse()
    for action in actions:
        if isinstance(action, Say):
            speak(response, action.text, how)
        elif isinstance(action, Ask):
            _ask(response, action, how)
        elif isinstance(action, HandOff):
            how.hand_off(response, action, how)
        elif isinstance(action, End):
            response.hangup()
    return str(response)


def _ask(response: VoiceResponse, ask: Ask, how: CallRendering) -> None:
    if ask.number:
        gather = response.gather(
            input="dtmf",
            finish_on_key="#",
            timeout=NUMBER_TIMEOUT,
            action=how.url("key"),
            method="POST",
        )
        speak(gather, ask.text, how)
    else:
        gather = response.gather(
            input="dtmf", num_digits=1, timeout=KEY_TIMEOUT, action=how.url("key"), method="POST"
        )
        speak(gather, ask.text, how, ask.node)
        if how.listening:
            # No key: a short recording after a beep for a spoken answer; a key ends it.
            response.record(
                action=how.url("record"),
                method="POST",
                max_length=RECORD_SECONDS,
                timeout=RECORD_SILENCE,
                play_beep=True,
                finish_on_key="0123456789*#",
            )
    # Nothing pressed and nothing recorded: Twilio carries on to the next verb.
    response.redirect(how.url("silence"), method="POST")
