"""Service catalogue: the office, its agencies (one document each), the audit trail of changes and the
questions the catalogue could not answer.

Revision ID: 0013
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "catalogue_office",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document", JSON_DOC, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_office")),
    )
    op.create_table(
        "catalogue_agencies",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("document", JSON_DOC, nullable=False),
        _when("updated_at"),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_agencies")),
    )
    op.create_table(
        "catalogue_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=True),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("before", JSON_DOC, nullable=True),
        sa.Column("after", JSON_DOC, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_changes")),
    )
    op.create_index(op.f("ix_catalogue_changes_agency_id"), "catalogue_changes", ["agency_id"])
    op.create_index(op.f("ix_catalogue_changes_created_at"), "catalogue_changes", ["created_at"])
    op.create_table(
        "catalogue_misses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=True),
        sa.Column("aspect", sa.String(length=32), nullable=True),
        sa.Column("example", sa.String(length=300), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        _when("first_seen"),
        _when("last_seen"),
        _when("resolved_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_misses")),
        sa.UniqueConstraint("kind", "key", name="uq_catalogue_misses_kind"),
    )
    op.create_index(op.f("ix_catalogue_misses_last_seen"), "catalogue_misses", ["last_seen"])


def downgrade() -> None:
    op.drop_index(op.f("ix_catalogue_misses_last_seen"), table_name="catalogue_misses")
    op.drop_table("catalogue_misses")
    op.drop_index(op.f("ix_catalogue_changes_created_at"), table_name="catalogue_changes")
    op.drop_index(op.f("ix_catalogue_changes_agency_id"), table_name="catalogue_changes")
    op.drop_table("catalogue_changes")
    op.drop_table("catalogue_agencies")
    op.drop_table("catalogue_office")
