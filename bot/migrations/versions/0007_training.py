"""Retraining loop: NLU inbox flags and reviews, admin training examples, FAQ answer overrides, training
runs, the held-out evaluation split and evaluation reports.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _message_fk(table: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["message_id"], ["messages.id"], name=op.f(f"fk_{table}_message_id_messages"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "nlu_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", BIG_ID, nullable=False),
        sa.Column("flagged_by", sa.String(length=120), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        _when("created_at"),
        _message_fk("nlu_flags", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nlu_flags")),
        sa.UniqueConstraint("message_id", name=op.f("uq_nlu_flags_message_id")),
    )
    op.create_table(
        "nlu_training_examples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("new_label", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("message_id", BIG_ID, nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        _when("created_at"),
        _message_fk("nlu_training_examples", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nlu_training_examples")),
        sa.UniqueConstraint("text", "label", name=op.f("uq_nlu_training_examples_text")),
    )
    op.create_index(op.f("ix_nlu_training_examples_label"), "nlu_training_examples", ["label"])
    op.create_index(op.f("ix_nlu_training_examples_created_at"), "nlu_training_examples", ["created_at"])
    op.create_table(
        "nlu_inbox_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", BIG_ID, nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("example_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=120), nullable=False),
        _when("decided_at"),
        _message_fk("nlu_inbox_reviews", "CASCADE"),
        sa.ForeignKeyConstraint(
            ["example_id"],
            ["nlu_training_examples.id"],
            name=op.f("fk_nlu_inbox_reviews_example_id_nlu_training_examples"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nlu_inbox_reviews")),
        sa.UniqueConstraint("message_id", name=op.f("uq_nlu_inbox_reviews_message_id")),
    )
    op.create_table(
        "faq_overrides",
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.Column("parts", JSON_DOC, nullable=False),
        sa.Column("followups", JSON_DOC, nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("source_url", sa.String(length=500), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("topic", name=op.f("pk_faq_overrides")),
    )
    op.create_table(
        "training_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        _when("requested_at"),
        _when("started_at", nullable=True),
        _when("finished_at", nullable=True),
        sa.Column("config", sa.String(length=200), nullable=False),
        sa.Column("holdout", sa.Boolean(), nullable=False),
        sa.Column("data_hash", sa.String(length=64), nullable=True),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=200), nullable=False),
        sa.Column("log_path", sa.String(length=1000), nullable=True),
        sa.Column("model_path", sa.String(length=1000), nullable=True),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["rasa_models.id"], name=op.f("fk_training_runs_model_id_rasa_models")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_runs")),
    )
    op.create_index(op.f("ix_training_runs_status"), "training_runs", ["status"])
    op.create_table(
        "nlu_heldout_splits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("fraction", sa.String(length=16), nullable=False),
        sa.Column("examples", JSON_DOC, nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nlu_heldout_splits")),
    )
    op.create_table(
        "nlu_evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_model_id", sa.Integer(), nullable=False),
        sa.Column("live_model_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        _when("created_at"),
        sa.Column("not_worse", sa.Boolean(), nullable=False),
        sa.Column("report", JSON_DOC, nullable=False),
        sa.Column("confusion_png", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["candidate_model_id"],
            ["rasa_models.id"],
            name=op.f("fk_nlu_evaluations_candidate_model_id_rasa_models"),
        ),
        sa.ForeignKeyConstraint(
            ["live_model_id"], ["rasa_models.id"], name=op.f("fk_nlu_evaluations_live_model_id_rasa_models")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nlu_evaluations")),
    )
    op.create_index(op.f("ix_nlu_evaluations_candidate_model_id"), "nlu_evaluations", ["candidate_model_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_nlu_evaluations_candidate_model_id"), table_name="nlu_evaluations")
    op.drop_table("nlu_evaluations")
    op.drop_table("nlu_heldout_splits")
    op.drop_index(op.f("ix_training_runs_status"), table_name="training_runs")
    op.drop_table("training_runs")
    op.drop_table("faq_overrides")
    op.drop_table("nlu_inbox_reviews")
    op.drop_index(op.f("ix_nlu_training_examples_created_at"), table_name="nlu_training_examples")
    op.drop_index(op.f("ix_nlu_training_examples_label"), table_name="nlu_training_examples")
    op.drop_table("nlu_training_examples")
    op.drop_table("nlu_flags")
