"""Web chat: server-issued sessions (token hash -> random sender id), replacing client-chosen senders.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "webchat_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("sender_id", sa.String(length=40), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=False),
        _when("created_at"),
        _when("last_seen_at"),
        _when("expires_at"),
        _when("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_webchat_sessions")),
        sa.UniqueConstraint("sender_id", name=op.f("uq_webchat_sessions_sender_id")),
    )
    op.create_index(
        "ix_webchat_sessions_client_key_created_at",
        "webchat_sessions",
        ["client_key", "created_at"],
        unique=False,
    )
    op.create_index(op.f("ix_webchat_sessions_expires_at"), "webchat_sessions", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_webchat_sessions_expires_at"), table_name="webchat_sessions")
    op.drop_index("ix_webchat_sessions_client_key_created_at", table_name="webchat_sessions")
    op.drop_table("webchat_sessions")
