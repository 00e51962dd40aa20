"""Model registry: the Rasa models the service knows and every deploy or rollback of one.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "rasa_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("config", sa.String(length=200), nullable=True),
        sa.Column("data_hash", sa.String(length=64), nullable=True),
        _when("created_at"),
        _when("registered_at"),
        sa.Column("trained_by", sa.String(length=120), nullable=True),
        sa.Column("metrics", JSON_DOC, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        _when("deployed_at", nullable=True),
        sa.Column("deployed_by", sa.String(length=120), nullable=True),
        sa.CheckConstraint("status IN ('candidate', 'live', 'retired')", name=op.f("ck_rasa_models_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rasa_models")),
        sa.UniqueConstraint("name", name=op.f("uq_rasa_models_name")),
        sa.UniqueConstraint("sha256", name=op.f("uq_rasa_models_sha256")),
    )
    op.create_table(
        "model_deployments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("previous_model_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        _when("started_at"),
        _when("finished_at", nullable=True),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('deploy', 'rollback', 'startup')", name=op.f("ck_model_deployments_kind")
        ),
        sa.CheckConstraint(
            "status IN ('running', 'succeeded', 'failed')", name=op.f("ck_model_deployments_status")
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["rasa_models.id"], name=op.f("fk_model_deployments_model_id_rasa_models")
        ),
        sa.ForeignKeyConstraint(
            ["previous_model_id"],
            ["rasa_models.id"],
            name=op.f("fk_model_deployments_previous_model_id_rasa_models"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_deployments")),
    )
    op.create_index(op.f("ix_model_deployments_model_id"), "model_deployments", ["model_id"])
    op.create_index(op.f("ix_model_deployments_started_at"), "model_deployments", ["started_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_model_deployments_started_at"), table_name="model_deployments")
    op.drop_index(op.f("ix_model_deployments_model_id"), table_name="model_deployments")
    op.drop_table("model_deployments")
    op.drop_table("rasa_models")
