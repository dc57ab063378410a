"""Database models (SQLAlchemy 2). The schema is created and changed by the Alembic
migrations in core/migrations; never by create_all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Person(Base):
    """Someone who called or texted, known by their phone number (E.164)."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), unique=True)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    # What they can do with a link on their phone ("alone", "helped", "none"; see
    # dialogues.engine), None until asked; asked again once `autonomy_at` is old.
    autonomy: Mapped[str | None] = mapped_column(String(8), nullable=True)
    autonomy_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    def known_autonomy(self, at: datetime, months: int) -> str | None:
        """The answer about links while it is recent (people learn, phones change)."""
        if self.autonomy is None or self.autonomy_at is None:
            return None
        given = self.autonomy_at
        if given.tzinfo is None:  # SQLite gives naive UTC
            given = given.replace(tzinfo=UTC)
        return self.autonomy if at - given <= timedelta(days=30 * months) else None

    language: Mapped[str] = mapped_column(String(8), default="fr")
    # The dashboard's simulator (a number ARCEP reserves for fiction): never counted in the
    # figures or the queue, its SMS never leave (see core.web.services).
    sandbox: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Conversation(Base):
    """One call or one SMS exchange, with the engine's state between two webhooks."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed: each text reads its person's open SMS exchange (core.store's arrival).
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(8))  # "voice" or "sms"
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    state: Mapped[dict] = mapped_column(JSON)
    step: Mapped[int] = mapped_column(Integer, default=0)  # webhooks handled so far
    status: Mapped[str] = mapped_column(String(16), default="active")
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    end_node: Mapped[str | None] = mapped_column(String(64), nullable=True)
    call_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    duration: Mapped[int | None] = mapped_column(Integer, nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Bumped by every update: two webhooks of one conversation saving at the same time
    # cannot both win (the loser's update matches no row and is handled again).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    person: Mapped[Person] = relationship()
    turns: Mapped[list[Turn]] = relationship(order_by="Turn.id", back_populates="conversation")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  (SQLAlchemy reads it)


class Turn(Base):
    """One prompt or one input of a conversation."""

    __tablename__ = "turns"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    node: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # prompt, key, words, text, no_input, recording, hangup, handoff, sent
    kind: Mapped[str] = mapped_column(String(16))
    raw: Mapped[str | None] = mapped_column(Text, nullable=True)
    recognised: Mapped[str | None] = mapped_column(String(64), nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    recording_ref: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The answer given to the webhook that brought this turn (the last turn it recorded),
    # kept for a webhook Twilio sends again, as WebhookReply keeps the others': written
    # with the turn, one row fewer per webhook.
    reply_key: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    reply: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    conversation: Mapped[Conversation] = relationship(back_populates="turns")


class OutboundMessage(Base):
    """Every SMS Relais sends: replies to texts and links sent during calls."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), nullable=True
    )
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), nullable=True
    )
    to: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    encoding: Mapped[str] = mapped_column(String(8))
    segments: Mapped[int] = mapped_column(Integer)
    transport: Mapped[str] = mapped_column(String(16))  # reply, outbox, twilio
    procedure: Mapped[str | None] = mapped_column(String(64), nullable=True)
    provider_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    status: Mapped[str] = mapped_column(String(16))  # queued, sent, delivered, failed...
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Mediator(Base):
    """A person who takes calls: mediator, France Services agent, social worker."""

    __tablename__ = "mediators"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(32), unique=True)
    topics: Mapped[list] = mapped_column(JSON, default=list)  # empty: every topic
    languages: Mapped[list] = mapped_column(JSON, default=list)
    password_hash: Mapped[str] = mapped_column(String(255))
    pin_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    pin_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pin_locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    logged_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    login_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    login_locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class CallbackRequest(Base):
    """A person waiting for a mediator to call back."""

    __tablename__ = "callback_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), nullable=True
    )
    topic: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[int] = mapped_column(Integer, default=0)  # higher first
    # nouveau, en_cours, rappele, injoignable, clos
    status: Mapped[str] = mapped_column(String(16), default="nouveau")
    taken_by: Mapped[int | None] = mapped_column(
        ForeignKey("mediators.id", ondelete="SET NULL"), nullable=True
    )
    notes: Mapped[str] = mapped_column(Text, default="")
    voicemail_ref: Mapped[str | None] = mapped_column(Text, nullable=True)
    voicemail_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    person: Mapped[Person] = relationship()
    conversation: Mapped[Conversation | None] = relationship()


class WebhookReply(Base):
    """The answer given to one webhook, so that a webhook Twilio sends again (same
    MessageSid, same call step) gets the same answer and is processed once; a webhook
    that recorded a turn keeps its answer with the turn instead (Turn.reply)."""

    __tablename__ = "webhook_replies"
    __table_args__ = (UniqueConstraint("key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Job(Base):
    """Slow work done outside webhooks (sending an SMS, transcribing a voice message, the
    daily purge), kept in the database so that a restart loses none: run in a thread of
    the server by default, by `relais worker` processes woken through Redis when it is set."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "status", "run_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    args: Mapped[dict] = mapped_column(JSON, default=dict)
    # One job per key (e.g. one purge a day): a second submission with the same key is
    # dropped.
    key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # running, done, failed
    run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class OutboundCall(Base):
    """A call Relais places: ringing back a person who rang and hung up (missed-call mode),
    or a mediator's click-to-call, which rings the mediator first and then the person."""

    __tablename__ = "outbound_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # ring_back, mediator
    callback_id: Mapped[int | None] = mapped_column(
        ForeignKey("callback_requests.id", ondelete="CASCADE"), nullable=True
    )
    mediator_id: Mapped[int | None] = mapped_column(
        ForeignKey("mediators.id", ondelete="SET NULL"), nullable=True
    )
    # mediation.outbound_status.OutboundStatus, moved only by its `move`
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    call_sid: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    # Waiting or calling counts as under way until then (see mediation.calls.lease).
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class EarlyStatus(Base):
    """A status callback for a sid Relais has no row for (yet): see core.twilio_status."""

    __tablename__ = "early_statuses"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), index=True)  # CallSid or MessageSid
    status: Mapped[str] = mapped_column(String(32))
    duration: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class SimulatorSession(Base):
    """One mediator's try of Relais in the dashboard's simulator: the call as the Twilio
    player left it and the SMS exchanged, kept here so that every server process shows
    the same conversation."""

    __tablename__ = "simulator_sessions"

    mediator_id: Mapped[int] = mapped_column(
        ForeignKey("mediators.id", ondelete="CASCADE"), primary_key=True
    )
    call: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    texts: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
