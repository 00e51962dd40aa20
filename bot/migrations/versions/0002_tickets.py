"""Tickets: complaints with SLA deadlines, consent, attachments, messages and an append-only audit trail.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the vocabularies at this revision (must match bot/tickets/models.py;
# tests/tickets/test_ticket_migration.py compares the migrated schema with the models).
STATUSES = (
    "'belum_diverifikasi', 'terverifikasi', 'didisposisi', 'diproses', "
    "'menunggu_pelapor', 'selesai', 'ditolak', 'diarsipkan'"
)
CATEGORIES = (
    "'kependudukan', 'infrastruktur', 'lingkungan', 'perhubungan', 'ketertiban_umum', 'kesehatan', "
    "'pendidikan', 'sosial', 'utilitas', 'perizinan', 'aparatur', 'lainnya'"
)
TS = sa.DateTime(timezone=True)

AUDIT_GUARD = {
    "postgresql": [
        """CREATE OR REPLACE FUNCTION ticket_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ticket_audit is append-only';
END;
$$ LANGUAGE plpgsql""",
        """CREATE TRIGGER ticket_audit_append_only BEFORE UPDATE OR DELETE ON ticket_audit
FOR EACH ROW EXECUTE FUNCTION ticket_audit_append_only()""",
    ],
    "sqlite": [
        """CREATE TRIGGER ticket_audit_no_update BEFORE UPDATE ON ticket_audit
BEGIN SELECT RAISE(ABORT, 'ticket_audit is append-only'); END""",
        """CREATE TRIGGER ticket_audit_no_delete BEFORE DELETE ON ticket_audit
BEGIN SELECT RAISE(ABORT, 'ticket_audit is append-only'); END""",
    ],
}
AUDIT_GUARD_DROP = {
    "postgresql": [
        "DROP TRIGGER IF EXISTS ticket_audit_append_only ON ticket_audit",
        "DROP FUNCTION IF EXISTS ticket_audit_append_only()",
    ],
    "sqlite": [
        "DROP TRIGGER IF EXISTS ticket_audit_no_update",
        "DROP TRIGGER IF EXISTS ticket_audit_no_delete",
    ],
}


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=200), nullable=False),
        sa.Column("sla_tier", sa.String(length=40), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("location_text", sa.String(length=300), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("incident_date", sa.Date(), nullable=True),
        sa.Column("reporter_channel", sa.String(length=32), nullable=False),
        sa.Column("reporter_sender_id", sa.String(length=128), nullable=False),
        sa.Column("reporter_name", sa.String(length=120), nullable=True),
        sa.Column("reporter_phone", sa.String(length=20), nullable=True),
        sa.Column("is_anonymous", sa.Boolean(), nullable=False),
        sa.Column("is_confidential", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("verification_due_at", TS, nullable=False),
        sa.Column("first_response_due_at", TS, nullable=False),
        sa.Column("resolution_due_at", TS, nullable=False),
        sa.Column("verified_at", TS, nullable=True),
        sa.Column("first_response_at", TS, nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("paused_at", TS, nullable=True),
        sa.Column("paused_from_status", sa.String(length=32), nullable=True),
        sa.Column("paused_seconds_total", sa.BigInteger(), nullable=False),
        sa.Column("pseudonymised_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("code", name=op.f("uq_tickets_code")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_tickets_idempotency_key")),
        sa.CheckConstraint(
            "type IN ('pengaduan', 'aspirasi', 'permintaan_informasi')", name=op.f("ck_tickets_type")
        ),
        sa.CheckConstraint(f"category IN ({CATEGORIES})", name=op.f("ck_tickets_category")),
        sa.CheckConstraint(
            "priority IN ('rendah', 'sedang', 'tinggi', 'darurat')", name=op.f("ck_tickets_priority")
        ),
        sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f("ck_tickets_status")),
        sa.CheckConstraint(
            f"paused_from_status IS NULL OR paused_from_status IN ({STATUSES})",
            name=op.f("ck_tickets_paused_from_status"),
        ),
        sa.CheckConstraint(
            "latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", name=op.f("ck_tickets_latitude_range")
        ),
        sa.CheckConstraint(
            "longitude IS NULL OR (longitude >= -180 AND longitude <= 180)",
            name=op.f("ck_tickets_longitude_range"),
        ),
    )
    op.create_index(
        "ix_tickets_reporter", "tickets", ["reporter_channel", "reporter_sender_id", "created_at"]
    )
    op.create_index("ix_tickets_unit_status", "tickets", ["unit", "status"])
    op.create_index("ix_tickets_status_resolution_due", "tickets", ["status", "resolution_due_at"])

    op.create_table(
        "ticket_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("text_version", sa.String(length=32), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("given_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_consents_ticket_id_tickets"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_consents")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_ticket_consents_ticket_id")),
    )

    op.create_table(
        "ticket_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_path", sa.String(length=300), nullable=False),
        sa.Column("uploaded_by", sa.String(length=16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_ticket_attachments_size_bytes")),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_attachments_ticket_id_tickets"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_attachments")),
        sa.UniqueConstraint("ticket_id", "sha256", name="uq_ticket_attachments_ticket_id_sha256"),
    )
    op.create_index(op.f("ix_ticket_attachments_ticket_id"), "ticket_attachments", ["ticket_id"])

    op.create_table(
        "ticket_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("author_kind", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=120), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint(
            "author_kind IN ('citizen', 'officer', 'system')", name=op.f("ck_ticket_messages_author_kind")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_messages_ticket_id_tickets"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_messages")),
        sa.UniqueConstraint("ticket_id", "external_id", name="uq_ticket_messages_ticket_id_external_id"),
    )
    op.create_index("ix_ticket_messages_ticket_kind", "ticket_messages", ["ticket_id", "author_kind", "id"])

    op.create_table(
        "ticket_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_audit_ticket_id_tickets"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_audit")),
    )
    op.create_index("ix_ticket_audit_ticket_id", "ticket_audit", ["ticket_id", "id"])
    for statement in AUDIT_GUARD.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade() -> None:
    for statement in AUDIT_GUARD_DROP.get(op.get_bind().dialect.name, []):
        op.execute(statement)
    op.drop_index("ix_ticket_audit_ticket_id", table_name="ticket_audit")
    op.drop_table("ticket_audit")
    op.drop_index("ix_ticket_messages_ticket_kind", table_name="ticket_messages")
    op.drop_table("ticket_messages")
    op.drop_index(op.f("ix_ticket_attachments_ticket_id"), table_name="ticket_attachments")
    op.drop_table("ticket_attachments")
    op.drop_table("ticket_consents")
    op.drop_index("ix_tickets_status_resolution_due", table_name="tickets")
    op.drop_index("ix_tickets_unit_status", table_name="tickets")
    op.drop_index("ix_tickets_reporter", table_name="tickets")
    op.drop_table("tickets")
