"""Reading and writing people, conversations, turns, messages and webhook replies.

Every webhook goes through here, so the conversation, its turns and the webhook replies
are read and written with Core statements (one row read, one UPDATE, INSERTs), not with
ORM objects and their unit of work; the dashboard and the rarer paths use the ORM models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

from sqlalchemy import (
    Row,
    Select,
    Table,
    TextClause,
    Update,
    bindparam,
    event,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.util import identity_key

from dialogues.engine import ACTIVE, State

from .models import Conversation, Mediator, OutboundMessage, Person, Turn, WebhookReply, now
from .phones import e164

# An SMS exchange left this long without an answer starts afresh on the next text.
SMS_CONVERSATION_IDLE = timedelta(hours=24)

_conversations = Conversation.__table__
_people = Person.__table__
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
    _conversations.c.call_status,
)
_READ_BY_ID = _READ.where(_conversations.c.id == bindparam("id"))
_READ_BY_CALL = _READ.where(_conversations.c.call_sid == bindparam("call_sid"))
_OPEN_SMS = (  # a person's SMS exchange still open (its person_id aside)
    (_conversations.c.channel == "sms")
    & (_conversations.c.status == ACTIVE)
    & (_conversations.c.updated_at >= bindparam("since"))
)
_READ_OPEN_SMS = (
    _READ.where(_conversations.c.person_id == bindparam("person_id"), _OPEN_SMS)
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
_READ_PERSON_BY_ID = select(*_people.c).where(_people.c.id == bindparam("id"))
_AUTONOMY = (
    update(_people)
    .where(_people.c.id == bindparam("person_id"))
    .values(autonomy=bindparam("autonomy"), autonomy_at=bindparam("at"))
)
_INSERT_PERSON = insert(_people).returning(*_people.c)  # the columns' defaults filled in
# A webhook's reply: kept with its turn, or (a webhook that recorded none) on its own.
_READ_REPLY = select(
    func.coalesce(
        select(_turns.c.reply).where(_turns.c.reply_key == bindparam("key")).scalar_subquery(),
        select(_replies.c.body).where(_replies.c.key == bindparam("key")).scalar_subquery(),
    )
)
# One row, with the person of this number's columns if there is one (all None if not).
_PERSON_OR_NONE = (
    select(literal(1).label("one"))
    .subquery("arrival")
    .outerjoin(_people, _people.c.phone == bindparam("phone"))
)
# A text's reply if it was handled already, its person and the person's open SMS
# conversation (its columns named open_*), in one round trip.
_ARRIVAL = (
    select(
        _READ_REPLY.scalar_subquery().label("replay"),
        *_people.c,
        *(column.label(f"open_{column.name}") for column in _READ.selected_columns),
    )
    .select_from(
        _PERSON_OR_NONE.outerjoin(
            _conversations, (_conversations.c.person_id == _people.c.id) & _OPEN_SMS
        )
    )
    .order_by(_conversations.c.id.desc())
    .limit(1)
)
_mediators = Mediator.__table__
# An active mediator's registered phone calls: their line, not the dialogue
# (ivr.mediator_line).
MEDIATOR_CALLING = (
    (_mediators.c.phone == bindparam("phone"))
    & _mediators.c.active.is_(True)
    & _mediators.c.pin_hash.is_not(None)
)
# A call's first webhook: whether a mediator calls, the answer given already (Twilio sent
# it again), and the caller, in one round trip.
_CALL_ARRIVAL = select(
    select(_mediators.c.id).where(MEDIATOR_CALLING).scalar_subquery().label("mediator_id"),
    _READ_REPLY.scalar_subquery().label("replay"),
    *_people.c,
).select_from(_PERSON_OR_NONE)
_messages = OutboundMessage.__table__
_INSERTS = {table: insert(table) for table in (_turns, _replies, _messages)}
_MESSAGE_FIELDS = ("provider_id", "error")  # None for a message just stored


# -- rows written together ------------------------------------------------------------
# A webhook's conversation change, turns, reply and SMS replies are written when its reply
# is known, and on PostgreSQL in one statement (the INSERTs as CTEs of the UPDATE, or of
# the last INSERT): each statement is a round trip to the server. Whatever is still
# waiting when the transaction commits is written then.
_PENDING = "relais_pending_rows"  # in Session.info: [(table, rows), ...] in order
_PENDING_SAVE = "relais_pending_save"  # in Session.info: the conversation's change
_together: dict[tuple, TextClause] = {}  # PostgreSQL's statements, by shape


@dataclass
class _Save:
    """A conversation's change waiting to be written: its columns' new values, on the
    condition that its version is still the one read (see _UPDATE)."""

    conversation_id: int
    read_version: int
    values: dict


def _pending(session: Session) -> list[tuple[Table, list[dict]]]:
    return session.info.setdefault(_PENDING, [])


def write_pending(session: Session) -> None:
    """Write the conversation's change and insert the rows waiting in this session's
    transaction. StaleDataError when the conversation changed meanwhile."""
    save: _Save | None = session.info.pop(_PENDING_SAVE, None)
    pending = session.info.pop(_PENDING, None) or []
    if save is None and not pending:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql" or len(pending) + (save is not None) == 1:
        if save is not None:
            _saved(connection.execute(_UPDATE, _save_params(save)), save)
        for table, rows in pending:
            connection.execute(_INSERTS[table], rows)
        return
    inserts = tuple((table.name, tuple(rows[0]), len(rows)) for table, rows in pending)
    shape = (inserts, tuple(save.values) if save else None)
    statement = _together.get(shape)
    if statement is None:
        statement = _statement_together(*shape, connection.dialect.identifier_preparer)
        if len(_together) < 1000:
            _together[shape] = statement
    params = {
        f"p{i}_{j}_{column}": value
        for i, (_table, rows) in enumerate(pending)
        for j, row in enumerate(rows)
        for column, value in row.items()
    }
    if save is None:
        connection.execute(statement, params)
    else:
        params |= {f"u_{name}": value for name, value in _save_params(save).items()}
        _saved(connection.execute(statement, params), save)


def _save_params(save: _Save) -> dict:
    return {
        "conversation_id": save.conversation_id,
        "read_version": save.read_version,
        **save.values,
    }


def _saved(result, save: _Save) -> None:
    if result.rowcount != 1:
        raise StaleDataError(f"conversation {save.conversation_id} changed meanwhile")


def _statement_together(inserts: tuple, saved: tuple | None, preparer) -> TextClause:
    """WITH p0 AS (INSERT ...), p1 AS (INSERT ...) UPDATE conversations ... (or the last
    INSERT when no conversation changed): PostgreSQL only."""
    statements = []
    for i, (table, columns, count) in enumerate(inserts):
        names = ", ".join(preparer.quote(column) for column in columns)
        values = ", ".join(
            "(" + ", ".join(f":p{i}_{j}_{column}" for column in columns) + ")" for j in range(count)
        )
        statements.append(f"INSERT INTO {preparer.quote(table)} ({names}) VALUES {values}")
    binds = []
    if saved is not None:
        sets = ", ".join(f"{preparer.quote(column)} = :u_{column}" for column in saved)
        statements.append(
            f"UPDATE {preparer.quote(_conversations.name)} SET {sets}, version = version + 1 "
            "WHERE id = :u_conversation_id AND version = :u_read_version"
        )
        binds = [bindparam(f"u_{column}", type_=_conversations.c[column].type) for column in saved]
    ctes = ", ".join(f"p{i} AS ({sql})" for i, sql in enumerate(statements[:-1]))
    return text(f"WITH {ctes} {statements[-1]}").bindparams(*binds)


@event.listens_for(Session, "before_commit")
def _write_pending_at_commit(session: Session) -> None:
    write_pending(session)


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, _previous) -> None:
    if not session.in_transaction():
        session.info.pop(_PENDING, None)
        session.info.pop(_PENDING_SAVE, None)


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
    call_status: str | None  # what the call status callback said last
    session: Session = field(repr=False)

    @cached_property  # the session keeps only weak references: one load per webhook
    def person(self) -> Person:
        known = self.session.identity_map.get(identity_key(Person, self.person_id))
        if known is not None:
            return known
        row = self.session.connection().execute(_READ_PERSON_BY_ID, {"id": self.person_id}).one()
        return _attached(self.session, Person(**row._mapping))


def _attached(session: Session, person: Person) -> Person:
    """`person`, a row just read or written with Core, as the session's persistent
    instance (the one it has already, if any), as if the ORM had loaded it: its changes
    are flushed at commit."""
    known = session.identity_map.get(identity_key(Person, person.id))
    if known is not None:
        return known
    make_transient_to_detached(person)
    session.add(person)
    return person


@dataclass(frozen=True)
class CallArrival:
    """Who calls (Store.call_arrival): one of the three is set."""

    mediator_id: int | None
    replay: str | None
    person: Person | None


class Store:
    def __init__(self, session: Session):
        self.session = session
        self._exchanges: dict[int, Exchange] = {}  # read in this session, by id
        # Each person's open SMS exchange, read with them (`arrival`; None: none).
        self._open_sms: dict[int, Exchange | None] = {}

    # -- people ---------------------------------------------------------------------
    def arrival(self, key: str, phone: str, language: str | None = None) -> str | Person:
        """The reply this text was given already (Twilio sent it again), or else its
        person (as `person`), read in one statement with their open SMS exchange (then
        `open_sms_conversation` reads nothing)."""
        number = e164(phone)
        params = {"key": key, "phone": number, "since": now() - SMS_CONVERSATION_IDLE}
        row = self.session.connection().execute(_ARRIVAL, params).one()
        if row.replay is not None:
            return row.replay
        person = self._person(row if row.id is not None else None, number, language)
        self._open_sms[person.id] = None
        if row.open_id is not None:
            values = {c.name: row._mapping[f"open_{c.name}"] for c in _READ.selected_columns}
            self._open_sms[person.id] = self._known(Exchange(**values, session=self.session))
        return person

    def call_arrival(self, key: str, phone: str, language: str | None = None) -> CallArrival:
        """Who calls, read in one statement: a mediator (their line), or a call whose
        start Twilio sent again (the answer it was given, `key`), or else the caller (as
        `person`)."""
        number = e164(phone)
        row = self.session.connection().execute(_CALL_ARRIVAL, {"key": key, "phone": number}).one()
        if row.mediator_id is not None or row.replay is not None:
            return CallArrival(row.mediator_id, row.replay, None)
        return CallArrival(
            None, None, self._person(row if row.id is not None else None, number, language)
        )

    def _person(self, row: Row | None, number: str, language: str | None) -> Person:
        """The person read (`row`), or created now (in `language`, kept with them from
        then on). Of two webhooks creating the same person at once, one fails on the
        unique number (IntegrityError) and is handled again (core.signature): it finds
        the person. Either way a Person attached to the session as if the ORM had loaded
        it (its changes are flushed at commit), without the ORM's query."""
        if row is None:
            values = {"phone": number, **({"language": language} if language else {})}
            row = self.session.connection().execute(_INSERT_PERSON, values).one()
        return _attached(self.session, Person(**{c.name: row._mapping[c.name] for c in _people.c}))

    # -- conversations --------------------------------------------------------------
    def _exchange(self, statement: Select, params: dict) -> Exchange | None:
        row = self.session.connection().execute(statement, params).first()
        if row is None:
            return None
        return self._known(Exchange(**row._mapping, session=self.session))

    def _known(self, exchange: Exchange) -> Exchange:
        self._exchanges[exchange.id] = exchange
        return exchange

    def call(self, call_sid: str) -> Exchange | None:
        return self._exchange(_READ_BY_CALL, {"call_sid": call_sid})

    def conversation(self, conversation_id: int) -> Exchange | None:
        if conversation_id in self._exchanges:
            return self._exchanges[conversation_id]
        return self._exchange(_READ_BY_ID, {"id": conversation_id})

    def open_sms_conversation(self, person: Person) -> Exchange | None:
        if person.id in self._open_sms:  # read with the person
            return self._open_sms.pop(person.id)
        since = now() - SMS_CONVERSATION_IDLE
        return self._exchange(_READ_OPEN_SMS, {"person_id": person.id, "since": since})

    def start(
        self,
        person: Person,
        channel: str,
        state: State,
        call_sid: str | None = None,
        before: State | None = None,
    ) -> Exchange:
        """A new conversation in `state`. With `before` (its state at the start), `state`
        is the state after its first input, taken already: the conversation is stored
        as `save` would leave it after that turn, in one statement."""
        started = now()
        values = self._state_values(before or state, state, started)
        step = 0 if before is None else 1
        conversation_id = (
            self.session.connection()
            .execute(
                insert(_conversations).returning(_conversations.c.id),
                {
                    "person_id": person.id,
                    "channel": channel,
                    "call_sid": call_sid,
                    "step": step,
                    "started_at": started,
                    "version": 1,
                    **values,
                },
            )
            .scalar_one()
        )
        exchange = Exchange(
            conversation_id,
            person.id,
            channel,
            call_sid,
            values["state"],
            step,
            1,
            started,
            None,
            self.session,
        )
        self._exchanges[conversation_id] = exchange
        if before is not None:
            self._remember_autonomy(person.id, before, state, started)
        return exchange

    def _update(self, statement: Update, conversation: Exchange, values: dict) -> None:
        self._write_pending_save()  # its version first
        result = self.session.connection().execute(
            statement,
            {"conversation_id": conversation.id, "read_version": conversation.version, **values},
        )
        if result.rowcount != 1:
            raise StaleDataError(f"conversation {conversation.id} changed meanwhile")
        conversation.version += 1

    def _write_pending_save(self) -> None:
        """Write a conversation change still waiting (with the rows waiting before it)."""
        if self.session.info.get(_PENDING_SAVE) is not None:
            write_pending(self.session)

    @staticmethod
    def _state_values(before: State, state: State, at: datetime) -> dict:
        """The columns that keep the engine's state, and what is worth knowing of it
        outside the engine, after a turn from `before` to `state`."""
        values = {
            "state": state.to_dict(),
            "updated_at": at,
            "status": state.status,
            "outcome": outcome(state),
        }
        if state.status != ACTIVE and before.status == ACTIVE:
            values.update(end_node=state.node, ended_at=at)
        return values

    def _remember_autonomy(self, person_id: int, before: State, state: State, at) -> None:
        if state.autonomy == before.autonomy:
            return
        # Remembered for the person's next contact; and in the session's Person, if loaded.
        values = {"person_id": person_id, "autonomy": state.autonomy, "at": at}
        self.session.connection().execute(_AUTONOMY, values)
        known = self.session.identity_map.get(identity_key(Person, person_id))
        if known is not None:
            set_committed_value(known, "autonomy", state.autonomy)
            set_committed_value(known, "autonomy_at", at)

    def save(self, conversation: Exchange, before: State, state: State) -> None:
        """Keep the engine's state, and what is worth knowing of it outside the engine:
        written with the webhook's reply (or its turns, or at commit; `write_pending`)."""
        at = now()
        values = {"step": conversation.step + 1, **self._state_values(before, state, at)}
        save = _Save(conversation.id, conversation.version, values)
        self._write_pending_save()  # a second turn: the first now
        self.session.info[_PENDING_SAVE] = save
        conversation.version += 1
        conversation.state, conversation.step = values["state"], values["step"]
        self._remember_autonomy(conversation.person_id, before, state, at)

    def end_call(self, conversation: Exchange, call_status: str, duration: int | None) -> None:
        """What the call status callback says of how the call ended."""
        values = {"call_status": call_status, "duration": duration, "at": now()}
        self._update(_END_CALL, conversation, values)
        conversation.call_status = call_status

    def add_turns(self, conversation_id: int, turns: list[dict], later: bool = False) -> None:
        """Record turns in one statement (a webhook records several). `later`: nothing
        reads them before the webhook's reply, with which they are written (or at commit)."""
        if turns:
            at = now()
            rows = [
                {
                    "conversation_id": conversation_id,
                    "created_at": at,
                    **{f: turn.get(f) for f in _TURN_FIELDS},
                    "reply_key": None,  # set by remember_reply on the webhook's last turn
                    "reply": None,
                }
                for turn in turns
            ]
            _pending(self.session).append((_turns, rows))
            if not later:
                write_pending(self.session)

    # -- webhook replies (each webhook handled once) --------------------------------
    def reply(self, key: str) -> str | None:
        return self.session.connection().execute(_READ_REPLY, {"key": key}).scalar()

    def remember_reply(self, key: str, body: str, person_id: int | None) -> None:
        """Keep the webhook's reply, with the rows waiting to be written: in the last turn
        waiting, if it keeps no reply yet, or else in a row of its own."""
        pending = _pending(self.session)
        turns = next((rows for table, rows in reversed(pending) if table is _turns), None)
        if turns is not None and turns[-1]["reply_key"] is None:
            turns[-1].update(reply_key=key, reply=body)
        else:
            reply = {"key": key, "body": body, "person_id": person_id, "created_at": now()}
            pending.append((_replies, [reply]))
        write_pending(self.session)

    # -- outbound messages ----------------------------------------------------------
    def add_messages(self, messages: list[dict]) -> None:
        """Keep SMS (core.outbound.message_values: a webhook's replies), written with the
        webhook's reply (or at commit)."""
        if messages:
            at = now()
            rows = [
                {**dict.fromkeys(_MESSAGE_FIELDS), **message, "created_at": at, "updated_at": at}
                for message in messages
            ]
            _pending(self.session).append((_messages, rows))

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
