"""Tables of the retraining loop: officer flags, inbox decisions, admin training examples, FAQ answer
overrides, training runs, the fixed held-out split and evaluation reports (migration 0007)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.conversations.models import BigIntId, JsonPayload
from bot.db import Base, utcnow
from bot.tickets.models import UTCDateTime


class ReviewDecision(StrEnum):
    LABELLED = "labelled"
    DISMISSED = "dismissed"


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class NluFlag(Base):
    """An officer marked a citizen message as misunderstood by the bot (from a conversation page)."""

    __tablename__ = "nlu_flags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    flagged_by: Mapped[str] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TrainingExample(Base):
    """One NLU example kept in the database; `label` is an intent name or `faq/<topic>`."""

    __tablename__ = "nlu_training_examples"
    __table_args__ = (UniqueConstraint("text", "label"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(String(500))
    label: Mapped[str] = mapped_column(String(120), index=True)
    new_label: Mapped[bool] = mapped_column(Boolean, default=False)  # declared new, not in nlu_data/
    source: Mapped[str] = mapped_column(String(16))  # inbox | editor
    message_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("messages.id", ondelete="SET NULL"), default=None
    )
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class InboxReview(Base):
    """What an admin decided about one inbox message: labelled (with its example) or dismissed."""

    __tablename__ = "nlu_inbox_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    decision: Mapped[str] = mapped_column(String(16))
    example_id: Mapped[int | None] = mapped_column(
        ForeignKey("nlu_training_examples.id", ondelete="SET NULL"), default=None
    )
    decided_by: Mapped[str] = mapped_column(String(120))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FaqOverride(Base):
    """An FAQ answer edited in the dashboard; it replaces (or adds) the topic of bot/knowledge/faq.yml."""

    __tablename__ = "faq_overrides"

    topic: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(String(300))
    parts: Mapped[list[str]] = mapped_column(JsonPayload)
    followups: Mapped[list[str]] = mapped_column(JsonPayload)
    source: Mapped[str] = mapped_column(String(300))
    source_url: Mapped[str | None] = mapped_column(String(500), default=None)
    as_of: Mapped[date] = mapped_column(Date)
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TrainingRun(Base):
    __tablename__ = "training_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.QUEUED.value, index=True)
    requested_by: Mapped[str] = mapped_column(String(120))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    config: Mapped[str] = mapped_column(String(200))
    holdout: Mapped[bool] = mapped_column(Boolean, default=True)  # held-out split left out of training
    data_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    stage: Mapped[str] = mapped_column(String(200), default="Menunggu giliran")
    log_path: Mapped[str | None] = mapped_column(String(1000), default=None)
    model_path: Mapped[str | None] = mapped_column(String(1000), default=None)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("rasa_models.id"), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)


class HeldOutSplit(Base):
    """The fixed evaluation split of nlu_data (seeded, stratified); the newest row is the one in use."""

    __tablename__ = "nlu_heldout_splits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seed: Mapped[int] = mapped_column(Integer)
    fraction: Mapped[str] = mapped_column(String(16))
    examples: Mapped[list[dict[str, Any]]] = mapped_column(JsonPayload)  # [{"text", "label"}]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Evaluation(Base):
    __tablename__ = "nlu_evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_model_id: Mapped[int] = mapped_column(ForeignKey("rasa_models.id"), index=True)
    live_model_id: Mapped[int | None] = mapped_column(ForeignKey("rasa_models.id"), default=None)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    not_worse: Mapped[bool] = mapped_column(Boolean)
    report: Mapped[dict[str, Any]] = mapped_column(JsonPayload)
    confusion_png: Mapped[str | None] = mapped_column(String(1000), default=None)
