"""Reading and writing people, conversations, turns, messages and webhook replies."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dialogues.engine import ACTIVE, State

from .models import Conversation, OutboundMessage, Person, Turn, WebhookReply, now
from .phones import e164

# An SMS exchange left this long without an answer starts afresh on the next text.
SMS_CONVERSATION_IDLE = timedelta(hours=24)


def outcome(state: State) -> str | None:
    """How a conversation went, for lists and charts: handoff, sent, ended, hangup."""
    if state.status == "handoff":
        return "handoff"
    if state.sent:
        return "sent"
    return None if state.status == ACTIVE else state.status


class Store:
    def __init__(self, session: Session):
        self.session = session

    # -- people ---------------------------------------------------------------------
    def person(self, phone: str) -> Person:
        """The person with this number, created on first contact."""
        number = e164(phone)
        person = self.session.scalar(select(Person).where(Person.phone == number))
        if person is None:
            person = Person(phone=number)
            try:
                with self.session.begin_nested():
                    self.session.add(person)
            except IntegrityError:  # created meanwhile by a concurrent webhook
                person = self.session.scalar(select(Person).where(Person.phone == number))
        return person

    # -- conversations --------------------------------------------------------------
    def call(self, call_sid: str) -> Conversation | None:
        return self.session.scalar(select(Conversation).where(Conversation.call_sid == call_sid))

    def conversation(self, conversation_id: int) -> Conversation | None:
        return self.session.get(Conversation, conversation_id)

    def open_sms_conversation(self, person: Person) -> Conversation | None:
        since = now() - SMS_CONVERSATION_IDLE
        return self.session.scalar(
            select(Conversation)
            .where(
                Conversation.person_id == person.id,
                Conversation.channel == "sms",
                Conversation.status == ACTIVE,
                Conversation.updated_at >= since,
            )
            .order_by(Conversation.id.desc())
            .limit(1)
        )

    def start(
        self, person: Person, channel: str, state: State, call_sid: str | None = None
    ) -> Conversation:
        conversation = Conversation(
            person=person,
            channel=channel,
            call_sid=call_sid,
            state=state.to_dict(),
            status=state.status,
            outcome=outcome(state),
        )
        self.session.add(conversation)
        self.session.flush()
        return conversation

    def save(self, conversation: Conversation, before: State, state: State) -> None:
        """Keep the engine's state, and what is worth knowing of it outside the engine."""
        conversation.state = state.to_dict()
        conversation.step += 1
        conversation.updated_at = now()
        conversation.status = state.status
        conversation.outcome = outcome(state)
        if state.status != ACTIVE and before.status == ACTIVE:
            conversation.end_node = state.node
            conversation.ended_at = now()
        if state.autonomy != before.autonomy:  # remembered for the person's next contact
            self.session.execute(
                update(Person)
                .where(Person.id == conversation.person_id)
                .values(autonomy=state.autonomy)
            )

    def end_call(self, conversation: Conversation, call_status: str, duration: int | None) -> None:
        """What the call status callback says of how the call ended."""
        conversation.call_status = call_status
        conversation.duration = duration
        conversation.ended_at = conversation.ended_at or now()
        conversation.updated_at = now()

    def add_turns(self, conversation_id: int, turns: list[dict]) -> None:
        """Record turns in one statement (a webhook records several)."""
        if turns:
            fields = ("kind", "node", "raw", "recognised", "confidence", "recording_ref")
            rows = [
                {
                    "conversation_id": conversation_id,
                    "created_at": now(),
                    **{f: turn.get(f) for f in fields},
                }
                for turn in turns
            ]
            self.session.connection().execute(insert(Turn.__table__), rows)

    # -- webhook replies (each webhook handled once) --------------------------------
    def reply(self, key: str) -> str | None:
        return self.session.scalar(select(WebhookReply.body).where(WebhookReply.key == key))

    def remember_reply(self, key: str, body: str, person_id: int | None) -> None:
        self.session.connection().execute(
            insert(WebhookReply.__table__).values(
                key=key, body=body, person_id=person_id, created_at=now()
            )
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
