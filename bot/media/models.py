"""Table `media`: a file a citizen sent on a messaging channel, downloaded, checked and stored.

A staged file belongs to one channel identity (channel, sender_id): only a ticket of that identity may link
it (bot/media/linking.py). Its type is sniffed from the content, never taken from the platform.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.conversations.models import (
    CHANNEL_LENGTH,
    PLATFORM_MESSAGE_ID_LENGTH,
    SENDER_ID_LENGTH,
    BigIntId,
)
from bot.db import Base, utcnow
from bot.tickets import models as _tickets  # noqa: F401  the `tickets` table that ticket_id refers to


class MediaKind(StrEnum):
    IMAGE = "image"
    DOCUMENT = "document"


class Media(Base):
    __tablename__ = "media"
    __table_args__ = (
        # The same platform file of one sender is staged once (a reprocessed message reuses it).
        UniqueConstraint("channel", "sender_id", "platform_file_id"),
        CheckConstraint(f"kind IN ({', '.join(repr(kind.value) for kind in MediaKind)})", name="kind"),
        CheckConstraint("size_bytes >= 0", name="size_bytes"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(CHANNEL_LENGTH))
    sender_id: Mapped[str] = mapped_column(String(SENDER_ID_LENGTH))
    platform_file_id: Mapped[str] = mapped_column(String(PLATFORM_MESSAGE_ID_LENGTH))
    kind: Mapped[str] = mapped_column(String(16))
    mime_type: Mapped[str] = mapped_column(String(64))  # sniffed from the magic bytes
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # Relative to ATTACHMENTS_DIR, like ticket attachments, so a ticket can point at the same file.
    storage_path: Mapped[str] = mapped_column(String(300))
    filename: Mapped[str] = mapped_column(String(255))
    # The inbound message that carried it.
    message_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("messages.id", ondelete="SET NULL"), default=None
    )
    # The first ticket it was linked to.
    ticket_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("tickets.id", ondelete="SET NULL"), index=True, default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
