"""Reading and writing people, conversations, turns, messages and webhook replies.

Every webhook goes through here, so the conversation, its turns and the webhook replies
are read and written with Core statements (one row read, one UPDATE, INSERTs), not with
ORM objects and their unit of work; the dashboard and the rarer paths use the ORM models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

from sqlalchemy import Select, Update, bindparam, func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from dialogues.engine import ACTIVE, State

from .models import Conversation, OutboundMessage, Person, Turn, WebhookReply, now
from .phones import e164

# An SMS exchange left this long without an answer starts afresh on the next text.
SMS_CONVERSATION_IDLE = timedelta(hours=24)

_conversations = Conversation.__table__
_turns = Turn.__table__
_replies = WebhookReply.__table__
_TURN_FIELDS = ("kind", "node", "raw", "recognised", "confidence", "recording_ref")

# What a webhook reads of a conversation (no datetime but its start: each costs a parse).
_READ = select(
    _conversations.c.id,
    _conversations.c.person_id,
    _conversations.c.channel,
    _conversations.c.call_sid,
    _conversations.c.state,
    _conversations.c.step,
    _conversations.c.version,
    _conversations.c.started_at,
)
_READ_BY_ID = _READ.where(_conversations.c.id == bindparam("id"))
_READ_BY_CALL = _READ.where(_conversations.c.call_sid == bindparam("call_sid"))
_READ_OPEN_SMS = (
    _READ.where(
        _conversations.c.person_id == bindparam("person_id"),
        _conversations.c.channel == "sms",
        _conversations.c.status == ACTIVE,
        _conversations.c.updated_at >= bindparam("since"),
    )
    .order_by(_conversations.c.id.desc())
    .limit(1)
)
# Every change of a conversation bumps its version and expects the one it read: of two
# webhooks saving the same conversation at once, the second changes nothing and raises
# StaleDataError (see relais.signature, which handles that webhook again). The columns
# set are the execution's other parameters (one compiled statement per set of columns).
_UPDATE = (
    update(_conversations)
    .where(
        _conversations.c.id == bindparam("conversation_id"),
        _conversations.c.version == bindparam("read_version"),
    )
    .values(version=_conversations.c.version + 1)
)
_END_CALL = _UPDATE.values(
    updated_at=bindparam("at"), ended_at=func.coalesce(_conversations.c.ended_at, bindparam("at"))
)
_READ_REPLY = select(_replies.c.body).where(_replies.c.key == bindparam("key"))
_INSERT_REPLY = insert(_replies)
_INSERT_TURNS = insert(_turns)


def outcome(state: State) -> str | None:
    """How a conversation went, for lists and charts: handoff, sent, ended, hangup."""
    if state.status == "handoff":
        return "handoff"
    if state.sent:
        return "sent"
    return None if state.status == ACTIVE else state.status


@dataclass(eq=False)
class Exchange:
    """One call or SMS exchange as its webhooks read and write it: the columns of its
    conversation row that the channels use. `person` loads the person on first use."""

    id: int
    person_id: int
    channel: str
    call_sid: str | None
    state: dict
    step: int
    version: int
    started_at: datetime
    session: Session = field(repr=False)

    @cached_property  # the session keeps only weak references: one load per webhook
    def person(self) -> Person:
        return self.session.get(Person, self.person_id)


class Store:
    def __init__(self, session: Session):
        self.session = session
        self._exchanges: dict[int, Exchange] = {}  # read in this session, by id

    # -- people ---------------------------------------------------------------------
    def person(self, phone: str, language: str | None = None) -> Person:
        """The person with this number, created on first contact (in `language`, kept with
        them from then on). A concurrent webhook
        creating the same person makes one of the two fail on the unique number
        (IntegrityError): that webhook is handled again (relais.signature) and finds it."""
        number = e164(phone)
        person = self.session.scalar(select(Person).where(Person.phone == number))
        if person is None:
            person = Person(phone=number, **({"language": language} if language else {}))
            self.session.add(person)
            self.session.flush()
        return person

    # -- conversations --------------------------------------------------------------
    def _exchange(self, statement: Select, params: dict) -> Exchange | None:
        row = self.session.connection().execute(statement, params).first()
        if row is None:
            return None
        exchange = Exchange(**row._mapping, session=self.session)
        self._exchanges[exchange.id] = exchange
        return exchange

    def call(self, call_sid: str) -> Exchange | None:
        return self._exchange(_READ_BY_CALL, {"call_sid": call_sid})

    def conversation(self, conversation_id: int) -> Exchange | None:
        if conversation_id in self._exchanges:
            return self._exchanges[conversation_id]
        return self._exchange(_READ_BY_ID, {"id": conversation_id})

    def open_sms_conversation(self, person: Person) -> Exchange | None:
        since = now() - SMS_CONVERSATION_IDLE
        return self._exchange(_READ_OPEN_SMS, {"person_id": person.id, "since": since})

    def start(
        self, person: Person, channel: str, state: State, call_sid: str | None = None
    ) -> Exchange:
        data = state.to_dict()
        started = now()
        conversation_id = (
            self.session.connection()
            .execute(
                insert(_conversations).returning(_conversations.c.id),
                {
                    "person_id": person.id,
                    "channel": channel,
                    "call_sid": call_sid,
                    "state": data,
                    "step": 0,
                    "status": state.status,
                    "outcome": outcome(state),
                    "started_at": started,
                    "updated_at": started,
                    "version": 1,
                },
            )
            .scalar_one()
        )
        exchange = Exchange(
            conversation_id, person.id, channel, call_sid, data, 0, 1, started, self.session
        )
        self._exchanges[conversation_id] = exchange
        return exchange

    def _update(self, statement: Update, conversation: Exchange, values: dict) -> None:
        result = self.session.connection().execute(
            statement,
            {"conversation_id": conversation.id, "read_version": conversation.version, **values},
        )
        if result.rowcount != 1:
            raise StaleDataError(f"conversation {conversation.id} changed meanwhile")
        conversation.version += 1

    def save(self, conversation: Exchange, before: State, state: State) -> None:
        """Keep the engine's state, and what is worth knowing of it outside the engine."""
        at = now()
        values = {
            "state": state.to_dict(),
            "step": conversation.step + 1,
            "updated_at": at,
            "status": state.status,
            "outcome": outcome(state),
        }
        if state.status != ACTIVE and before.status == ACTIVE:
            values.update(end_node=state.node, ended_at=at)
        self._update(_UPDATE, conversation, values)
        conversation.state, conversation.step = values["state"], values["step"]
        if state.autonomy != before.autonomy:  # remembered for the person's next contact
            self.session.execute(
                update(Person)
                .where(Person.id == conversation.person_id)
                .values(autonomy=state.autonomy, autonomy_at=at)
            )

    def end_call(self, conversation: Exchange, call_status: str, duration: int | None) -> None:
        """What the call status callback says of how the call ended."""
        values = {"call_status": call_status, "duration": duration, "at": now()}
        self._update(_END_CALL, conversation, values)

    def add_turns(self, conversation_id: int, turns: list[dict]) -> None:
        """Record turns in one statement (a webhook records several)."""
        if turns:
            at = now()
            rows = [
                {
                    "conversation_id": conversation_id,
                    "created_at": at,
                    **{f: turn.get(f) for f in _TURN_FIELDS},
                }
                for turn in turns
            ]
            self.session.connection().execute(_INSERT_TURNS, rows)

    # -- webhook replies (each webhook handled once) --------------------------------
    def reply(self, key: str) -> str | None:
        return self.session.connection().execute(_READ_REPLY, {"key": key}).scalar()

    def remember_reply(self, key: str, body: str, person_id: int | None) -> None:
        self.session.connection().execute(
            _INSERT_REPLY, {"key": key, "body": body, "person_id": person_id, "created_at": now()}
        )

    # -- outbound messages ----------------------------------------------------------
    def message(self, provider_id: str) -> OutboundMessage | None:
        return self.session.scalar(
            select(OutboundMessage).where(OutboundMessage.provider_id == provider_id)
        )

    def outbox(self, limit: int = 50) -> list[OutboundMessage]:
        return list(
            self.session.scalars(
                select(OutboundMessage).order_by(OutboundMessage.id.desc()).limit(limit)
            )
        )
