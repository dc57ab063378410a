"""The engine's actions as TwiML for a call (through the twilio library's VoiceResponse)."""

from __future__ import annotations

from collections.abc import Callable

from twilio.twiml.voice_response import VoiceResponse

from dialogues.engine import Action, Ask, End, HandOff, Say

LANGUAGE = "fr-FR"
KEY_TIMEOUT = 5  # seconds to wait for a key after the prompt
NUMBER_TIMEOUT = 10  # seconds to wait between keys of a phone number
RECORD_SECONDS = 5  # a spoken answer is a word or two
RECORD_SILENCE = 2  # seconds of silence that end a spoken answer


def render(actions: list[Action], url: Callable[[str], str], callback_text: str) -> str:
    """TwiML for `actions`. `url(kind)` gives the absolute URL of the next webhook for a
    key, a recording or silence."""
    response = VoiceResponse()
    for action in actions:
        if isinstance(action, Say):
            response.say(action.text, language=LANGUAGE)
        elif isinstance(action, Ask):
            _ask(response, action, url)
        elif isinstance(action, HandOff):
            response.say(callback_text, language=LANGUAGE)
            response.hangup()
        elif isinstance(action, End):
            response.hangup()
    return str(response)


def _ask(response: VoiceResponse, ask: Ask, url: Callable[[str], str]) -> None:
    if ask.number:
        gather = response.gather(
            input="dtmf",
            finish_on_key="#",
            timeout=NUMBER_TIMEOUT,
            action=url("key"),
            method="POST",
        )
        gather.say(ask.text, language=LANGUAGE)
    else:
        gather = response.gather(
            input="dtmf",
            num_digits=1,
            timeout=KEY_TIMEOUT,
            action=url("key"),
            method="POST",
        )
        gather.say(ask.text, language=LANGUAGE)
        # No key: a short recording after a beep for a spoken answer; a key ends it too.
        response.record(
            action=url("record"),
            method="POST",
            max_length=RECORD_SECONDS,
            timeout=RECORD_SILENCE,
            play_beep=True,
            finish_on_key="0123456789*#",
        )
    # Nothing pressed and nothing recorded: Twilio carries on to the next verb.
    response.redirect(url("silence"), method="POST")
