"""Queries and writes on conversations and messages. Plain synchronous functions taking a Session.

Each function does one thing and leaves the transaction to the caller (`Database.session()` commits), except
where a unique constraint decides the outcome: there the caller runs the insert in its own transaction and
treats `IntegrityError` as "someone else was first" (no savepoints: pysqlite handles them poorly).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.conversations.models import Conversation, Direction, InboundStatus, Message, OutboundStatus
from bot.db import utcnow


def find_conversation(session: Session, channel: str, sender_id: str) -> Conversation | None:
    return session.scalars(
        select(Conversation).where(Conversation.channel == channel, Conversation.sender_id == sender_id)
    ).one_or_none()


def add_conversation(session: Session, channel: str, sender_id: str) -> Conversation:
    conversation = Conversation(channel=channel, sender_id=sender_id)
    session.add(conversation)
    session.flush()
    return conversation


def find_inbound(session: Session, channel: str, platform_message_id: str) -> Message | None:
    return session.scalars(
        select(Message).where(
            Message.channel == channel,
            Message.platform_message_id == platform_message_id,
            Message.direction == Direction.IN,
        )
    ).one_or_none()


def add_inbound(
    session: Session,
    conversation: Conversation,
    text: str,
    platform_message_id: str | None,
    payload: dict[str, Any] | None,
    now: datetime | None = None,
) -> Message:
    now = now or utcnow()
    message = Message(
        conversation_id=conversation.id,
        direction=Direction.IN,
        channel=conversation.channel,
        sender_id=conversation.sender_id,
        platform_message_id=platform_message_id,
        text=text,
        payload=payload,
        status=InboundStatus.RECEIVED,
        created_at=now,
    )
    session.add(message)
    conversation.last_inbound_at = now
    session.flush()
    return message


def add_outbound(
    session: Session,
    inbound: Message,
    text: str,
    payload: dict[str, Any] | None,
    status: OutboundStatus = OutboundStatus.SENT,
    now: datetime | None = None,
) -> Message:
    """A reply to `inbound`, in the same conversation, addressed to the same channel identity."""
    now = now or utcnow()
    message = Message(
        conversation_id=inbound.conversation_id,
        direction=Direction.OUT,
        channel=inbound.channel,
        sender_id=inbound.sender_id,
        text=text,
        payload=payload,
        status=status,
        reply_to_id=inbound.id,
        created_at=now,
    )
    session.add(message)
    conversation = session.get(Conversation, inbound.conversation_id)
    if conversation is not None:
        conversation.last_outbound_at = now
    session.flush()
    return message


def replies_to(session: Session, inbound_id: int) -> Sequence[Message]:
    """The outbound messages answering one inbound message, in the order they were sent."""
    return session.scalars(
        select(Message)
        .where(Message.reply_to_id == inbound_id, Message.direction == Direction.OUT)
        .order_by(Message.id)
    ).all()


def notification_id(key: str) -> str:
    """Notifications reuse the per-channel unique message id, so one key can only ever be stored once."""
    return f"notify:{key}"


def find_notification(session: Session, channel: str, key: str) -> Message | None:
    return session.scalars(
        select(Message).where(
            Message.channel == channel,
            Message.platform_message_id == notification_id(key),
            Message.direction == Direction.OUT,
        )
    ).one_or_none()


def add_notification(
    session: Session, conversation: Conversation, text: str, payload: dict[str, Any] | None, key: str
) -> Message:
    """A message the service starts (filed complaint, status change), not a reply to an inbound one."""
    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        direction=Direction.OUT,
        channel=conversation.channel,
        sender_id=conversation.sender_id,
        platform_message_id=notification_id(key),
        text=text,
        payload=payload,
        status=OutboundStatus.QUEUED,
        created_at=now,
    )
    session.add(message)
    conversation.last_outbound_at = now
    session.flush()
    return message


def outbound_after(session: Session, conversation_id: int, after_id: int, limit: int) -> Sequence[Message]:
    """Outbound messages of a conversation newer than `after_id`, oldest first (web chat polling)."""
    return session.scalars(
        select(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == Direction.OUT,
            Message.id > after_id,
        )
        .order_by(Message.id)
        .limit(limit)
    ).all()
