"""What callers get when Relais cannot answer: Twilio's fallback URLs.

When a webhook fails (Relais answers 503, as it does when the database is away, or does
not answer in time), Twilio requests the number's fallback URL instead. These two routes
use no database, so they work then: an apology, and a human phone line to call
(RELAIS_FALLBACK_PHONE), spoken in pairs of digits or written.

- POST /voice/fallback   set as the number's voice "Primary handler fails" URL
- POST /sms/fallback     set as the number's messaging "Primary handler fails" URL
"""

from __future__ import annotations

from flask import Blueprint, Response
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from core.phones import national
from core.signature import twilio_signed
from core.web import services
from dialogues.model import Content
from ivr.twiml import speaker

blueprint = Blueprint("fallback", __name__)


def fallback_texts(content: Content, fallback_phone: str) -> list[str]:
    """The sentences of the fallback, in the content's words."""
    texts = [content.phrase("unavailable")]
    if fallback_phone:
        texts.append(content.phrase("unavailable_line", number=national(fallback_phone)))
    return texts


@blueprint.post("/voice/fallback")
@twilio_signed
def voice() -> Response:
    app = services()
    content = app.engine.content
    response = VoiceResponse()
    texts = fallback_texts(content, app.settings.fallback_phone)
    say = speaker().speak  # rendered prompts are files: no database needed
    for text in [*texts, *texts[1:]]:  # the phone line twice
        say(response, text)
    response.hangup()
    return Response(str(response), mimetype="text/xml")


@blueprint.post("/sms/fallback")
@twilio_signed
def sms() -> Response:
    app = services()
    content = app.engine.content
    response = MessagingResponse()
    texts = fallback_texts(content, app.settings.fallback_phone)
    response.message(" ".join([content.phrase("sms_unavailable"), *texts[1:]]))
    return Response(str(response), mimetype="text/xml")
