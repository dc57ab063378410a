"""The engine's actions as TwiML for a call (through the twilio library's VoiceResponse)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from twilio.twiml.voice_response import Gather, VoiceResponse

from core.web import services
from dialogues.engine import Action, Ask, End, HandOff, Say
from dialogues.model import Content, VoiceSettings
from runtime.effects import Handover

KEY_TIMEOUT = 5  # seconds to wait for a key after the prompt
NUMBER_TIMEOUT = 10  # seconds to wait between keys of a phone number
RECORD_SECONDS = 5  # a spoken answer is a word or two
RECORD_SILENCE = 2  # seconds of silence that end a spoken answer


@dataclass(frozen=True)
class Speaker:
    """How Relais speaks on a call: a prompt's rendered audio (`<Play>`) when there is one,
    otherwise Twilio's `<Say>` in the voice and language set for the content's language."""

    audio: Callable[[str, str | None], str | None]  # a prompt's audio URL, if rendered
    language: str  # <Say language>, e.g. fr-FR
    voice: str  # <Say voice>, e.g. Polly.Lea-Neural

    @classmethod
    def of(
        cls,
        settings: VoiceSettings,
        voice: str = "",
        audio: Callable[[str, str | None], str | None] | None = None,
    ) -> Speaker:
        """The speaker for a content language's voice settings (language.yaml's `voice`);
        `voice` (RELAIS_SAY_VOICE) overrides the language's own voice."""
        return cls(
            audio or (lambda _text, _node: None),
            settings.say_language,
            voice or settings.say_voice,
        )

    def say(self, verb: VoiceResponse | Gather, text: str) -> None:
        """Twilio's synthetic voice, whatever is rendered (a text said in one voice)."""
        verb.say(text, language=self.language, voice=self.voice or None)

    def speak(self, verb: VoiceResponse | Gather, text: str, node: str | None = None) -> None:
        audio = self.audio(text, node)
        if audio:
            verb.play(audio)
        else:
            self.say(verb, text)


@dataclass(frozen=True)
class CallRendering:
    """How this call's prompts sound and whether anyone listens to spoken answers."""

    url: Callable[[str], str]  # the absolute URL of the next webhook: key, record, silence
    content: Content  # the call's language's
    speaker: Speaker
    listening: bool  # a speech model can understand a spoken answer
    # A hand-off's TwiML: ring a mediator, or take a message (response, the hand-off, what
    # it became, this rendering).
    hand_off: Callable[[VoiceResponse, HandOff, Handover, CallRendering], None]


def speaker(lang: str | None = None) -> Speaker:
    """The speaker of a call in `lang` (None: the first language, the mediators'): the
    prompts rendered for its content, served under /audio/, and Twilio's voice set for the
    language (no database needed)."""
    app = services()
    language = app.speaking(lang)

    def audio(text: str, node: str | None) -> str | None:
        name = language.speech.audio(text, node)
        return f"{app.settings.public_url}/audio/{name}" if name else None

    voice = app.settings.say_voice if language.engine is app.engine else ""
    return Speaker.of(language.engine.content.voice, voice, audio)


def render(actions: list[Action], how: CallRendering, handover: Handover | None = None) -> str:
    """The TwiML of a turn's actions; `handover` is what its hand-off became."""
    response = VoiceResponse()
    for action in actions:
        if isinstance(action, Say):
            how.speaker.speak(response, action.text)
        elif isinstance(action, Ask):
            _ask(response, action, how)
        elif isinstance(action, HandOff) and handover is not None:
            how.hand_off(response, action, handover, how)
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
        how.speaker.speak(gather, ask.text)
    else:
        gather = response.gather(
            input="dtmf", num_digits=1, timeout=KEY_TIMEOUT, action=how.url("key"), method="POST"
        )
        how.speaker.speak(gather, ask.text, ask.node)
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
