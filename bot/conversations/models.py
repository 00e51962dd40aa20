"""Tables `conversations` and `messages`: the record of everything a citizen and the bot said.

One conversation per channel identity (a Telegram chat, a WhatsApp number, a web-chat sender id). Every
inbound message is stored before anything else happens to it, so nothing a citizen sends is lost; its
platform message id is unique per channel, so a redelivered webhook is recognised instead of answered twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db import Base, utcnow
from bot.workers.owner import OWNER_LENGTH

# BIGINT on PostgreSQL; SQLite only auto-increments a column declared exactly INTEGER.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")
# JSONB on PostgreSQL so payloads can be queried; plain JSON text elsewhere.
JsonPayload = JSON().with_variant(JSONB(), "postgresql")

CHANNEL_LENGTH = 20
SENDER_ID_LENGTH = 128
PLATFORM_MESSAGE_ID_LENGTH = 255
STATUS_REASON_LENGTH = 500


class Channel(StrEnum):
    WEB = "web"
    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class InboundStatus(StrEnum):
    RECEIVED = "received"  # stored, turn not finished yet (messaging channels: not yet picked up)
    PROCESSING = "processing"  # claimed by one worker of the inbox (bot/gateway/inbox.py)
    PROCESSED = "processed"  # Rasa answered and the replies are stored
    FAILED = "failed"  # Rasa could not be reached: kept for a retry
    SKIPPED = "skipped"  # stored on purpose without a turn (edit, rate limit, unsupported); see status_reason


class OutboundStatus(StrEnum):
    QUEUED = "queued"  # stored, not yet handed to the platform (connectors that send asynchronously)
    SENDING = "sending"  # claimed by one delivery worker, platform call in flight
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"  # permanent error or retries exhausted; see status_reason and attempts
    NEEDS_TEMPLATE = "needs_template"  # WhatsApp 24-hour window closed: only an approved template may go


class DeliveryState(StrEnum):
    """State of one platform message (an outbound message may be split into several)."""

    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


def _sql_in(values: type[StrEnum]) -> str:
    return ", ".join(f"'{value.value}'" for value in values)


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "sender_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(CHANNEL_LENGTH))
    # The citizen's identity on that channel: Telegram chat id, WhatsApp wa_id, web-chat sender.
    sender_id: Mapped[str] = mapped_column(String(SENDER_ID_LENGTH))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # WhatsApp allows free-form replies only within 24 h of the citizen's last message.
    last_inbound_at: Mapped[datetime | None] = mapped_column(default=None)
    last_outbound_at: Mapped[datetime | None] = mapped_column(default=None)

    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", cascade="all, delete-orphan", passive_deletes=True
    )


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        # Inbound deduplication: a platform redelivers a webhook with the same message id. Connectors must
        # make the id unique within their channel (e.g. Telegram: "<chat_id>:<message_id>").
        UniqueConstraint("channel", "platform_message_id"),
        CheckConstraint(f"direction IN ({_sql_in(Direction)})", name="direction"),
        CheckConstraint(
            f"(direction = 'in' AND status IN ({_sql_in(InboundStatus)}))"
            f" OR (direction = 'out' AND status IN ({_sql_in(OutboundStatus)}))",
            name="status",
        ),
        Index("ix_messages_conversation_id_created_at", "conversation_id", "created_at"),
        # Start-up recovery and the delivery worker look for unfinished rows by status and channel.
        Index("ix_messages_status_channel", "status", "channel"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(CHANNEL_LENGTH))
    sender_id: Mapped[str] = mapped_column(String(SENDER_ID_LENGTH))
    platform_message_id: Mapped[str | None] = mapped_column(String(PLATFORM_MESSAGE_ID_LENGTH), default=None)
    # Stored exactly as written (HTML included): escaping is the renderer's job.
    text: Mapped[str] = mapped_column(Text)
    # Buttons, attachments, Rasa custom payloads, raw platform metadata.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JsonPayload, default=None)
    status: Mapped[str] = mapped_column(String(16))
    # NLU result of an inbound turn, read from Rasa's tracker after the turn.
    intent: Mapped[str | None] = mapped_column(String(100), default=None)
    intent_confidence: Mapped[float | None] = mapped_column(Float, default=None)
    faq_topic: Mapped[str | None] = mapped_column(String(100), default=None)
    faq_confidence: Mapped[float | None] = mapped_column(Float, default=None)
    # Outbound: the inbound message this one answers.
    reply_to_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("messages.id", ondelete="SET NULL"), index=True, default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Messaging channels (bot/gateway/inbox.py, delivery.py): processing or send attempts so far (also the
    # version a claim compares, so only one worker wins it), when the current claim was taken or last
    # renewed by its owner's heartbeat, when a
    # retry is due, why the row ended as it did (skipped, failed, needs_template), when it was sent.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Who holds the current claim (bot/workers/owner.py: host, pid, boot id); its heartbeat renews claimed_at.
    claimed_by: Mapped[str | None] = mapped_column(String(OWNER_LENGTH), default=None)
    # Outbound: when a resend restarted the delivery's time budget (else it runs from created_at).
    retry_since: Mapped[datetime | None] = mapped_column(default=None)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    status_reason: Mapped[str | None] = mapped_column(String(STATUS_REASON_LENGTH), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
    deliveries: Mapped[list[MessageDelivery]] = relationship(
        back_populates="message", passive_deletes=True, order_by="MessageDelivery.id"
    )


class MessageDelivery(Base):
    """One platform message id of an outbound message, with the platform's latest report on it.

    A status report can arrive before the send call returned its ids: it is stored without `message_id`
    and adopted when the ids are recorded.
    """

    __tablename__ = "message_deliveries"
    __table_args__ = (
        UniqueConstraint("channel", "platform_message_id"),
        CheckConstraint(f"state IN ({_sql_in(DeliveryState)})", name="state"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    message_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("messages.id", ondelete="CASCADE"), index=True, default=None
    )
    channel: Mapped[str] = mapped_column(String(CHANNEL_LENGTH))
    platform_message_id: Mapped[str] = mapped_column(String(PLATFORM_MESSAGE_ID_LENGTH))
    state: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[int | None] = mapped_column(Integer, default=None)
    error_title: Mapped[str | None] = mapped_column(String(STATUS_REASON_LENGTH), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    message: Mapped[Message | None] = relationship(back_populates="deliveries")
