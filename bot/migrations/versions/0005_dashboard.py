"""Officer dashboard: staff accounts and sessions, access log, handoffs, SKM surveys; ticket assignment,
merging and internal notes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("full_name", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        _when("created_at"),
        _when("last_login_at", nullable=True),
        sa.CheckConstraint("role IN ('petugas', 'supervisor', 'admin')", name=op.f("ck_staff_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_users_username")),
    )
    op.create_table(
        "staff_user_units",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_users.id"],
            name=op.f("fk_staff_user_units_user_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "unit", name=op.f("pk_staff_user_units")),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        _when("created_at"),
        _when("last_seen_at"),
        _when("expires_at"),
        _when("revoked_at", nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_users.id"],
            name=op.f("fk_staff_sessions_user_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_staff_sessions")),
    )
    op.create_index(op.f("ix_staff_sessions_user_id"), "staff_sessions", ["user_id"])
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index("ix_login_attempts_username_created_at", "login_attempts", ["username", "created_at"])
    op.create_index("ix_login_attempts_ip_created_at", "login_attempts", ["ip", "created_at"])
    op.create_table(
        "staff_access_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target_type", sa.String(length=40), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        _when("created_at"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_users.id"],
            name=op.f("fk_staff_access_log_user_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_access_log")),
    )
    op.create_index(op.f("ix_staff_access_log_user_id"), "staff_access_log", ["user_id"])
    op.create_index("ix_staff_access_log_target", "staff_access_log", ["target_type", "target_id"])

    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("assigned_to_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_tickets_assigned_to_id_staff_users"),
            "staff_users",
            ["assigned_to_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_foreign_key(
            op.f("fk_tickets_merged_into_id_tickets"),
            "tickets",
            ["merged_into_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(op.f("ix_tickets_assigned_to_id"), ["assigned_to_id"])
        batch.create_index(op.f("ix_tickets_merged_into_id"), ["merged_into_id"])
    with op.batch_alter_table("ticket_messages") as batch:
        batch.add_column(sa.Column("is_internal", sa.Boolean(), nullable=False, server_default="0"))

    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", BIG_ID, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=200), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        _when("requested_at"),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        _when("taken_at", nullable=True),
        _when("last_activity_at", nullable=True),
        _when("ended_at", nullable=True),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.CheckConstraint("status IN ('menunggu', 'aktif', 'selesai')", name=op.f("ck_handoffs_status")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_handoffs_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["staff_users.id"],
            name=op.f("fk_handoffs_officer_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_handoffs_ticket_id_tickets"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoffs")),
    )
    op.create_index(
        "uq_handoffs_open_conversation",
        "handoffs",
        ["conversation_id"],
        unique=True,
        sqlite_where=sa.text("status IN ('menunggu', 'aktif')"),
        postgresql_where=sa.text("status IN ('menunggu', 'aktif')"),
    )
    op.create_index("ix_handoffs_status_requested_at", "handoffs", ["status", "requested_at"])
    op.create_index(op.f("ix_handoffs_ticket_id"), "handoffs", ["ticket_id"])
    op.create_index(op.f("ix_handoffs_officer_id"), "handoffs", ["officer_id"])

    op.create_table(
        "skm_surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _when("invited_at"),
        _when("completed_at", nullable=True),
        sa.CheckConstraint(
            "status IN ('diundang', 'berjalan', 'selesai', 'ditolak')", name=op.f("ck_skm_surveys_status")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_skm_surveys_ticket_id_tickets"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skm_surveys")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_skm_surveys_ticket_id")),
    )
    op.create_index(op.f("ix_skm_surveys_unit"), "skm_surveys", ["unit"])
    op.create_index(op.f("ix_skm_surveys_completed_at"), "skm_surveys", ["completed_at"])
    op.create_index("ix_skm_surveys_sender", "skm_surveys", ["channel", "sender_id", "status"])
    op.create_table(
        "skm_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("element", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        _when("answered_at"),
        sa.CheckConstraint("element BETWEEN 1 AND 9", name=op.f("ck_skm_answers_element")),
        sa.CheckConstraint("score BETWEEN 1 AND 4", name=op.f("ck_skm_answers_score")),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["skm_surveys.id"],
            name=op.f("fk_skm_answers_survey_id_skm_surveys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skm_answers")),
        sa.UniqueConstraint("survey_id", "element", name="uq_skm_answers_survey_id_element"),
    )


def downgrade() -> None:
    op.drop_table("skm_answers")
    op.drop_index("ix_skm_surveys_sender", table_name="skm_surveys")
    op.drop_index(op.f("ix_skm_surveys_completed_at"), table_name="skm_surveys")
    op.drop_index(op.f("ix_skm_surveys_unit"), table_name="skm_surveys")
    op.drop_table("skm_surveys")
    op.drop_index(op.f("ix_handoffs_officer_id"), table_name="handoffs")
    op.drop_index(op.f("ix_handoffs_ticket_id"), table_name="handoffs")
    op.drop_index("ix_handoffs_status_requested_at", table_name="handoffs")
    op.drop_index("uq_handoffs_open_conversation", table_name="handoffs")
    op.drop_table("handoffs")
    with op.batch_alter_table("ticket_messages") as batch:
        batch.drop_column("is_internal")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index(op.f("ix_tickets_merged_into_id"))
        batch.drop_index(op.f("ix_tickets_assigned_to_id"))
        batch.drop_constraint(op.f("fk_tickets_merged_into_id_tickets"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_tickets_assigned_to_id_staff_users"), type_="foreignkey")
        batch.drop_column("merged_into_id")
        batch.drop_column("assigned_to_id")
    op.drop_index("ix_staff_access_log_target", table_name="staff_access_log")
    op.drop_index(op.f("ix_staff_access_log_user_id"), table_name="staff_access_log")
    op.drop_table("staff_access_log")
    op.drop_index("ix_login_attempts_ip_created_at", table_name="login_attempts")
    op.drop_index("ix_login_attempts_username_created_at", table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_index(op.f("ix_staff_sessions_user_id"), table_name="staff_sessions")
    op.drop_table("staff_sessions")
    op.drop_table("staff_user_units")
    op.drop_table("staff_users")
