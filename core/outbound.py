"""Sending SMS outside a reply: the links sent during a call.

Two transports, chosen by RELAIS_SMS_TRANSPORT: `outbox` keeps the message in the database
(listed by `relais outbox`), `twilio` sends it with the Messages API of the `twilio`
library, at RELAIS_TWILIO_API_URL when set (a local emulator of the API), in a job (see
core.jobs) retried while Twilio cannot take it. Every message is stored either way, with
its encoding, segment count and status. `refusal` says which may not be sent at all.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import cache

from sqlalchemy import ColumnElement, ScalarSelect, Select, bindparam, func, insert, select, update
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from dialogues.sms_encoding import sms_size, to_gsm7

from .jobs import JobContext, Retry, job, submit
from .models import OutboundMessage, Person, now
from .phones import can_receive_sms, e164, mask
from .settings import Settings
from .twilio_http import Urllib3HttpClient
from .twilio_status import MessageStatus, keep_early, reported

log = logging.getLogger(__name__)


API_TIMEOUT = 10  # seconds for one request to Twilio's REST API
messages, people = OutboundMessage.__table__, Person.__table__  # for Core statements


def twilio_client(settings: Settings) -> Client:
    """The REST client for these credentials, one per process: its connection pool keeps the
    connection to Twilio open from one request to the next (no new TLS handshake for
    every SMS)."""
    return _client(settings.account_sid, settings.auth_token, settings.twilio_api_url)


@cache
def _client(account_sid: str, auth_token: str, api_url: str) -> Client:
    base_url = api_url or "https://api.twilio.com"
    client = Client(account_sid, auth_token, http_client=Urllib3HttpClient(base_url, API_TIMEOUT))
    client.api.base_url = base_url
    return client


def message_values(
    person: Person,
    to: str,
    body: str,
    transport: str,
    status: str,
    conversation_id: int | None = None,
    procedure: str | None = None,
) -> dict:
    """The columns of an SMS as it is kept (with its encoding and number of segments),
    for an OutboundMessage or a Core INSERT (Store.add_messages)."""
    size = sms_size(body)
    return {
        "person_id": person.id,
        "conversation_id": conversation_id,
        "to": to,
        "body": body,
        "encoding": size.encoding,
        "segments": size.segments,
        "transport": transport,
        "procedure": procedure,
        "status": status,
    }


def send_sms(
    session: Session,
    settings: Settings,
    person: Person,
    to: str,
    body: str,
    conversation_id: int | None = None,
    procedure: str | None = None,
    capped: bool = True,
) -> int | None:
    """Store one SMS and, with the twilio transport, a job that sends it once the
    transaction commits. Its id; None when it may not be sent (see `refusal`): nothing is
    sent."""
    why = refusal(session, settings, person, to, conversation_id, capped)
    if why is not None:
        log.warning("SMS to %s not sent: %s", mask(e164(to)), why)
        return None
    status = "stored" if settings.sms_transport == "outbox" else "queued"
    values = message_values(
        person, to, to_gsm7(body), settings.sms_transport, status, conversation_id, procedure
    )
    message_id = session.connection().execute(_insert, values).scalar_one()
    if settings.sms_transport == "twilio":
        submit(session, "sms", {"message_id": message_id})
    return message_id


def refusal(
    session: Session,
    settings: Settings,
    person: Person,
    to: str,
    conversation_id: int | None = None,
    capped: bool = True,
) -> str | None:
    """Why an SMS to `to` may not be sent, or None: only to a mobile of the allowed
    countries, never to a number that opted out (the person's or the recipient's), and
    within the caps per conversation, per person and per number in a day (an SMS Relais
    sends costs money: a caller typing numbers must not be able to send them anywhere).
    `capped` False: an alert to a registered mediator, never held back by the caps."""
    if not can_receive_sms(to, settings.sms_countries):
        return "not a mobile number of an allowed country"
    number = e164(to)
    recipient = person if number == person.phone else None
    if recipient is None:
        recipient = session.scalar(select(Person).where(Person.phone == number))
    if person.opted_out or (recipient is not None and recipient.opted_out):
        return "opted out"
    if not capped:
        return None
    # The caps in one statement: (count, cap, why) for each that applies.
    caps = []
    if conversation_id is not None:
        why = f"{settings.sms_per_call} SMS in this conversation already"
        caps.append(("conversation", settings.sms_per_call, why))
    if person.id is not None:
        why = f"{settings.sms_per_caller_per_day} SMS for this person in a day already"
        caps.append(("person", settings.sms_per_caller_per_day, why))
    why = f"{settings.sms_per_number_per_day} SMS to this number in a day already"
    caps.append(("number", settings.sms_per_number_per_day, why))
    params = {
        "conversation_id": conversation_id,
        "person_id": person.id,
        "number": number,
        "day": now() - timedelta(days=1),
    }
    statement = _counts(tuple(name for name, _, _ in caps))
    counts = session.connection().execute(statement, params).one()
    for counted, (_, cap, why) in zip(counts, caps, strict=True):
        if counted >= cap:
            return why
    return None


def _sent(*where: ColumnElement[bool]) -> ScalarSelect[int]:
    """How many SMS were stored where `where` holds."""
    return select(func.count(messages.c.id)).where(*where).scalar_subquery()


_DAY = messages.c.created_at >= bindparam("day")
_SENT = {  # the SMS each cap counts
    "conversation": _sent(messages.c.conversation_id == bindparam("conversation_id")),
    "person": _sent(messages.c.person_id == bindparam("person_id"), _DAY),
    "number": _sent(messages.c.to == bindparam("number"), _DAY),
}


@cache
def _counts(names: tuple[str, ...]) -> Select:
    """The statement that counts the SMS of these caps (built once for each set)."""
    return select(*(_SENT[name] for name in names))


def retryable(exc: Exception) -> bool:
    """Twilio may accept it later: no connection, too many requests, a server error."""
    if isinstance(exc, TwilioRestException):
        return exc.status == 429 or exc.status >= 500
    return isinstance(exc, OSError | TwilioException)


@job("sms", autocommit=True)
def send_queued(context: JobContext, session: Session, args: dict) -> None:
    """Send a stored SMS through the Messages API. Sent at most once: the message is
    marked "sending" before the request, and a message found "sending" (its runner died
    during the request) is not sent again, as Twilio may have it already. Each statement
    commits alone (an autocommit job): no transaction is held during the request."""
    message_id = args["message_id"]
    taken = session.execute(_mark_sending, {"message_id": message_id, "now": now()}).one_or_none()
    if taken is None:
        not_sending(session, message_id)
        return
    settings = context.settings
    try:
        sent = twilio_client(settings).messages.create(
            to=taken.to,
            from_=settings.from_number,
            body=taken.body,
            status_callback=f"{settings.public_url}/sms/status",
        )
    except (TwilioException, OSError) as exc:
        if retryable(exc):
            _set(session, message_id, status="queued")
            raise Retry(f"SMS {message_id} not accepted yet: {exc}") from exc
        log.warning("SMS %s refused: %s", message_id, exc)
        if getattr(exc, "code", None) == UNSUBSCRIBED:  # Twilio has this number opted out
            opt_out(session, taken.to)
            session.flush()  # (committed) before the message is seen failed
        _set(session, message_id, status="failed", error=str(exc)[:500])
        return
    values = {"message_id": message_id, "sid": sent.sid, "sent": sent.status or "queued"}
    # Committed: the status callbacks that come from now on find the message by its sid;
    # those that came before are kept aside, and applied by their own job (`status_kept`).
    session.execute(_mark_sent, {**values, "now": now()})


# The statements of every SMS sent, built once (only their parameters change). The usual
# case: a queued message to a person who has not opted out, marked "sending".
_insert = insert(messages).returning(messages.c.id)
_mark_sending = (
    update(messages)
    .where(
        messages.c.id == bindparam("message_id"),
        messages.c.status == "queued",
        ~select(people.c.id)
        .where(people.c.id == messages.c.person_id, people.c.opted_out)
        .exists(),
    )
    .values(status="sending", updated_at=bindparam("now"))
    .returning(messages.c.to, messages.c.body)
)
_mark_sent = (
    update(messages)
    .where(messages.c.id == bindparam("message_id"))
    .values(provider_id=bindparam("sid"), status=bindparam("sent"), updated_at=bindparam("now"))
)


EARLY_STATUS_DELAY = 2  # seconds: the sending job writes the sid a moment after the answer


def status_before_sid(session: Session, sid: str, status: str, error: str = "") -> None:
    """A status callback for a sid no SMS has yet: Twilio's callback may overtake its
    answer to the send request, whose sid the sending job writes a moment later. Kept,
    and applied by a job once the sid is written (none of it is checked by every SMS
    sent, which would cost each one a statement for what seldom happens)."""
    keep_early(session, sid, status, error=error)
    submit(session, "sms_status", {"sid": sid}, delay=EARLY_STATUS_DELAY)


@job("sms_status")
def status_kept(context: JobContext, session: Session, args: dict) -> None:
    """Apply the status callbacks kept for a sid once an SMS has it; tried again (with the
    jobs' backoff) while none has: after MAX_ATTEMPTS, the sid was no SMS of Relais's."""
    sid = args["sid"]
    message = session.scalar(select(OutboundMessage).where(OutboundMessage.provider_id == sid))
    if message is None:
        raise Retry(f"no SMS has the sid {sid} yet")
    for early in reported(session, sid):
        note_status(message, early.status, early.error)


def not_sending(session: Session, message_id: int) -> None:
    """A message the job does not send: forgotten, sent already, found "sending" (its
    runner died during the request: not sent again), or to a person who opted out."""
    message = session.get(OutboundMessage, message_id)
    if message is None or message.status not in ("queued", "sending"):
        return
    if message.status == "sending":
        message.status, message.error = "failed", "interrupted while sending; not sent again"
    else:
        message.status, message.error = "cancelled", "opted out before it was sent"
    message.updated_at = now()


def _set(session: Session, message_id: int, **values: object) -> None:
    session.execute(
        update(messages).where(messages.c.id == message_id).values(updated_at=now(), **values)
    )


UNSUBSCRIBED = 21610  # Twilio's error: the recipient texted STOP to this number


def opt_out(session: Session, number: str) -> None:
    """Twilio refuses to send to `number` (it texted an opt-out word, maybe before Relais
    saw it): Relais counts it as opted out too, so nothing more is queued for it."""
    person = session.scalar(select(Person).where(Person.phone == number))
    if person is None:
        session.add(Person(phone=number, opted_out=True))
    else:
        person.opted_out = True


def note_status(message: OutboundMessage, status: str, error: str | None = None) -> None:
    """What a status callback reports of a message: its error code, and its status unless
    the message's was later already in Twilio's order (a late "sent" after "delivered")."""
    if error:
        message.error, message.updated_at = f"error {error}", now()
    if MessageStatus.moves_on(message.status, status):
        message.status, message.updated_at = status, now()
