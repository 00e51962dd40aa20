"""Table `webchat_sessions`: the web chat's server-issued identities.

The client holds a random token; only its SHA-256 is stored here, beside the sender id the gateway uses for
that citizen (random too, never derived from anything the client sent). `client_key` is a keyed hash of the
address the session was created from (never the address itself), for the per-address creation limit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, utcnow
from bot.tickets.models import UTCDateTime

TOKEN_HASH_LENGTH = 64
CLIENT_KEY_LENGTH = 64
WEB_SENDER_ID_LENGTH = 40


class WebChatSession(Base):
    __tablename__ = "webchat_sessions"
    __table_args__ = (Index("ix_webchat_sessions_client_key_created_at", "client_key", "created_at"),)

    token_hash: Mapped[str] = mapped_column(String(TOKEN_HASH_LENGTH), primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(WEB_SENDER_ID_LENGTH), unique=True)
    client_key: Mapped[str] = mapped_column(String(CLIENT_KEY_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
