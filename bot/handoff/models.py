"""Table `handoffs`: one request of a citizen to talk to a person, from waiting to its end."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.conversations.models import BigIntId
from bot.db import Base, utcnow
from bot.tickets.models import UTCDateTime


class HandoffStatus(StrEnum):
    WAITING = "menunggu"  # in the "Menunggu petugas" list; the bot still answers
    ACTIVE = "aktif"  # an officer holds the conversation; the bot is silent for this citizen
    ENDED = "selesai"  # handed back, timed out or withdrawn; see end_reason


class HandoffEndReason(StrEnum):
    RETURNED = "dikembalikan"  # the officer handed the conversation back to the bot
    IDLE_TIMEOUT = "tidak_aktif"  # nobody wrote for handoff_idle_minutes
    WITHDRAWN = "dibatalkan"  # the citizen no longer waits (or an officer closed the request)


OPEN_STATUSES = (HandoffStatus.WAITING.value, HandoffStatus.ACTIVE.value)


class Handoff(Base):
    __tablename__ = "handoffs"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s.value}'" for s in HandoffStatus) + ")",
            name="status",
        ),
        # At most one open request per conversation, whichever replica creates it.
        Index(
            "uq_handoffs_open_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text("status IN ('menunggu', 'aktif')"),
            postgresql_where=text("status IN ('menunggu', 'aktif')"),
        ),
        Index("ix_handoffs_status_requested_at", "status", "requested_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("conversations.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=HandoffStatus.WAITING.value)
    # Why the citizen was handed over: request_human, fallback, form_strikes, ...
    reason: Mapped[str] = mapped_column(String(40))
    # The unit expected to answer (from the citizen's latest ticket, else the default unit); officers see the
    # requests of their units.
    unit: Mapped[str | None] = mapped_column(String(200), default=None)
    # Outside office hours the request is also kept as a ticket, so it cannot be forgotten.
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), default=None, index=True
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    officer_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), default=None, index=True
    )
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # Last message of the citizen or the officer while active: the idle timeout counts from here.
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    end_reason: Mapped[str | None] = mapped_column(String(20), default=None)
