"""Conversations and messages (inbound and outbound, every channel).

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Must match bot/conversations/models.py (tests/service/test_migrations.py compares them).
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_PAYLOAD = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
MESSAGE_STATUS_CHECK = (
    "(direction = 'in' AND status IN ('received', 'processed', 'failed'))"
    " OR (direction = 'out' AND status IN ('queued', 'sent', 'delivered', 'read', 'failed'))"
)


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_outbound_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("channel", "sender_id", name=op.f("uq_conversations_channel")),
    )
    op.create_table(
        "messages",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("conversation_id", BIG_ID, nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("platform_message_id", sa.String(length=255), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("payload", JSON_PAYLOAD, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("intent", sa.String(length=100), nullable=True),
        sa.Column("intent_confidence", sa.Float(), nullable=True),
        sa.Column("faq_topic", sa.String(length=100), nullable=True),
        sa.Column("faq_confidence", sa.Float(), nullable=True),
        sa.Column("reply_to_id", BIG_ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_messages_direction")),
        sa.CheckConstraint(MESSAGE_STATUS_CHECK, name=op.f("ck_messages_status")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reply_to_id"],
            ["messages.id"],
            name=op.f("fk_messages_reply_to_id_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("channel", "platform_message_id", name=op.f("uq_messages_channel")),
    )
    op.create_index(
        "ix_messages_conversation_id_created_at", "messages", ["conversation_id", "created_at"], unique=False
    )
    op.create_index(op.f("ix_messages_reply_to_id"), "messages", ["reply_to_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_messages_reply_to_id"), table_name="messages")
    op.drop_index("ix_messages_conversation_id_created_at", table_name="messages")
    op.drop_table("messages")
    op.drop_table("conversations")
