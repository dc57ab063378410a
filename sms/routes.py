"""Twilio messaging webhooks.

- POST /sms          a text message: a stop, start or help keyword (see keywords.py), or
                     the next turn of the dialogue
- POST /sms/status   the status callback of an SMS Relais sent

A message Twilio sends again (same MessageSid) gets the same reply and is handled once.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from twilio.twiml.messaging_response import MessagingResponse

from core.outbound import message_values
from core.signature import twilio_signed
from core.web import form_sid, form_text, services
from dialogues.engine import Text
from dialogues.model import Content
from runtime import opt_out, status_reports, turns

from .keywords import plain_words, sms_keyword
from .replies import clean_body, fit, render

blueprint = Blueprint("sms", __name__)


def _reply(
    person, conversation_id: int | None, key: str, bodies: list[tuple[str, str | None]]
) -> Response:
    app = services()
    response = MessagingResponse()
    for body, _procedure in bodies:
        response.message(body)
    app.store.add_messages(
        [
            message_values(
                person, person.phone, body, "reply", "replied", conversation_id, procedure
            )
            for body, procedure in bodies
        ]
    )
    xml = str(response)
    app.store.remember_reply(key, xml, person.id)
    app.session.commit()
    return Response(xml, mimetype="text/xml")


def _phrase(content: Content, name: str) -> list[tuple[str, str | None]]:
    return [(body, None) for body in fit(content.phrase(name))]


@blueprint.post("/sms")
@twilio_signed
def incoming() -> Response:
    message_sid = form_sid("MessageSid")
    sender = request.form.get("From", "")
    if not message_sid or not sender:
        abort(400)
    app = services()
    key = f"sms:{message_sid}"
    person = app.store.arrival(key, sender, app.reached_language())
    if isinstance(person, str):  # handled already: the same reply
        return Response(person, mimetype="text/xml")
    engine = app.speaking(person.language).engine  # a person's language is kept with them
    content = engine.content
    body = clean_body(request.form.get("Body", ""))
    asked = sms_keyword(body, form_text("OptOutType", 16), content)
    if asked is not None and asked.kind == "STOP":
        # Twilio answered its own words; Relais confirms its own once, then sends nothing.
        confirmed = opt_out.stop(person, asked.by_twilio)
        return _reply(person, None, key, _phrase(content, "sms_stop") if confirmed else [])
    if asked is not None and asked.kind == "START":  # Twilio lifted its block and answered
        opt_out.start(person)
        return _reply(person, None, key, [])
    if person.opted_out:  # nothing is sent, no request is opened
        return _reply(person, None, key, [])
    if asked is not None:  # help: Twilio answers its own words
        return _reply(person, None, key, [] if asked.by_twilio else _phrase(content, "sms_help"))
    word = plain_words(body)
    meant = content.reading.normalise(body) or word.isdigit() or engine.reads_alone(body)
    if not word or not meant:
        # Empty, emoji only, punctuation only, "bonjour": a friendly word on what to write.
        return _reply(person, None, key, _phrase(content, "sms_empty"))
    conversation = app.store.open_sms_conversation(person)
    if conversation is None:  # a new conversation: the text answers its first question
        turn = turns.open_with(app, person, "sms", Text(body), "text", body)
    else:
        turn = turns.take(app, conversation, Text(body), "text", body)
    conversation = turn.conversation
    return _reply(person, conversation.id, key, render(content, turn.actions, turn.handover))


@blueprint.post("/sms/status")
@twilio_signed
def status() -> Response:
    """An SMS's status callback (runtime/status_reports.py), always answered 204."""
    sid = form_sid("MessageSid")
    if not sid:
        abort(400)
    reported_status, error = form_text("MessageStatus", 16), form_text("ErrorCode", 16)
    status_reports.message_status(services(), sid, reported_status, error)
    return Response("", status=204)
