"""Sending SMS outside a reply: the links sent during a call.

Two transports, chosen by RELAIS_SMS_TRANSPORT: `outbox` keeps the message in the database
(listed by `relais outbox`), `twilio` sends it with the Messages API of the `twilio`
library, at RELAIS_TWILIO_API_URL when set (a local emulator of the API). Every message is
stored either way, with its encoding, segment count and status; a number that opted out
never gets one.
"""

from __future__ import annotations

import logging

from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from sms.encoding import sms_size, to_gsm7

from .models import OutboundMessage, Person
from .settings import Settings

log = logging.getLogger(__name__)


def twilio_client(settings: Settings) -> Client:
    client = Client(settings.account_sid, settings.auth_token)
    if settings.twilio_api_url:
        client.api.base_url = settings.twilio_api_url
    return client


def stored_message(
    person: Person,
    to: str,
    body: str,
    transport: str,
    status: str,
    conversation_id: int | None = None,
    procedure: str | None = None,
) -> OutboundMessage:
    """An SMS as it is kept: with its encoding and number of segments."""
    size = sms_size(body)
    return OutboundMessage(
        person_id=person.id,
        conversation_id=conversation_id,
        to=to,
        body=body,
        encoding=size.encoding,
        segments=size.segments,
        transport=transport,
        procedure=procedure,
        status=status,
    )


def send_sms(
    session,
    settings: Settings,
    person: Person,
    to: str,
    body: str,
    conversation_id: int | None = None,
    procedure: str | None = None,
) -> OutboundMessage | None:
    """Store and send one SMS. None when the person opted out (nothing is sent)."""
    if person.opted_out:
        return None
    status = "stored" if settings.sms_transport == "outbox" else "queued"
    message = stored_message(
        person, to, to_gsm7(body), settings.sms_transport, status, conversation_id, procedure
    )
    session.add(message)
    session.flush()
    if settings.sms_transport == "twilio":
        try:
            sent = twilio_client(settings).messages.create(
                to=to,
                from_=settings.from_number,
                body=body,
                status_callback=f"{settings.public_url}/sms/status",
            )
            message.provider_id, message.status = sent.sid, sent.status or "queued"
        except (TwilioException, OSError) as exc:
            log.warning("SMS to %s failed: %s", to[:4], exc)
            message.status, message.error = "failed", str(exc)[:500]
    return message
