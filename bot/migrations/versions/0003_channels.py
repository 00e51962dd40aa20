"""Messaging channels: claim/retry columns on messages, platform delivery reports, staged media.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the vocabularies at this revision (must match bot/conversations/models.py and
# bot/media/models.py; tests/channels/test_migration_0003.py compares the migrated schema with the models).
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)
STATUS_CHECK_0001 = (
    "(direction = 'in' AND status IN ('received', 'processed', 'failed'))"
    " OR (direction = 'out' AND status IN ('queued', 'sent', 'delivered', 'read', 'failed'))"
)
STATUS_CHECK_0003 = (
    "(direction = 'in' AND status IN ('received', 'processing', 'processed', 'failed', 'skipped'))"
    " OR (direction = 'out' AND status IN"
    " ('queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'needs_template'))"
)
NEW_MESSAGE_COLUMNS = ("attempts", "claimed_at", "next_attempt_at", "status_reason", "sent_at")


def _replace_status_check(new_check: str) -> None:
    # SQLite cannot alter a constraint: batch mode copies the table (env.py sets render_as_batch).
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint(op.f("ck_messages_status"), type_="check")
        batch.create_check_constraint(op.f("ck_messages_status"), sa.text(new_check))


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("claimed_at", TS, nullable=True))
        batch.add_column(sa.Column("next_attempt_at", TS, nullable=True))
        batch.add_column(sa.Column("status_reason", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("sent_at", TS, nullable=True))
        batch.create_index("ix_messages_status_channel", ["status", "channel"], unique=False)
    _replace_status_check(STATUS_CHECK_0003)

    op.create_table(
        "message_deliveries",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("message_id", BIG_ID, nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("platform_message_id", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error_title", sa.String(length=500), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "state IN ('sent', 'delivered', 'read', 'failed')", name=op.f("ck_message_deliveries_state")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_message_deliveries_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_deliveries")),
        sa.UniqueConstraint("channel", "platform_message_id", name=op.f("uq_message_deliveries_channel")),
    )
    op.create_index(op.f("ix_message_deliveries_message_id"), "message_deliveries", ["message_id"])

    op.create_table(
        "media",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("platform_file_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("mime_type", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_path", sa.String(length=300), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("message_id", BIG_ID, nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("kind IN ('image', 'document')", name=op.f("ck_media_kind")),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_media_size_bytes")),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_media_message_id_messages"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_media_ticket_id_tickets"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media")),
        sa.UniqueConstraint("channel", "sender_id", "platform_file_id", name=op.f("uq_media_channel")),
    )
    op.create_index(op.f("ix_media_ticket_id"), "media", ["ticket_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_media_ticket_id"), table_name="media")
    op.drop_table("media")
    op.drop_index(op.f("ix_message_deliveries_message_id"), table_name="message_deliveries")
    op.drop_table("message_deliveries")
    # Rows in states 0001 does not know are mapped to their nearest old state, so the old check holds.
    op.execute("UPDATE messages SET status = 'received' WHERE direction = 'in' AND status = 'processing'")
    op.execute("UPDATE messages SET status = 'processed' WHERE direction = 'in' AND status = 'skipped'")
    op.execute("UPDATE messages SET status = 'queued' WHERE direction = 'out' AND status = 'sending'")
    op.execute("UPDATE messages SET status = 'failed' WHERE direction = 'out' AND status = 'needs_template'")
    _replace_status_check(STATUS_CHECK_0001)
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_status_channel")
        for column in reversed(NEW_MESSAGE_COLUMNS):
            batch.drop_column(column)
