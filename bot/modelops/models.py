"""Tables of the model registry: trained Rasa models and the history of their deployments."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.conversations.models import JsonPayload
from bot.db import Base, utcnow
from bot.tickets.models import UTCDateTime


class ModelStatus(StrEnum):
    CANDIDATE = "candidate"  # registered, never served or not served now but never replaced
    LIVE = "live"  # the model the gateway talks to; at most one
    RETIRED = "retired"  # was live, replaced by another; a rollback target


class DeploymentKind(StrEnum):
    DEPLOY = "deploy"
    ROLLBACK = "rollback"
    STARTUP = "startup"  # the service started the live model when it booted


class DeploymentStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def _one_of(column: str, values: type[StrEnum], name: str) -> CheckConstraint:
    return CheckConstraint(f"{column} IN (" + ", ".join(f"'{v.value}'" for v in values) + ")", name=name)


class RasaModel(Base):
    __tablename__ = "rasa_models"
    __table_args__ = (_one_of("status", ModelStatus, "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)  # file name without .tar.gz
    path: Mapped[str] = mapped_column(String(1000))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    config: Mapped[str | None] = mapped_column(String(200), default=None)
    data_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when the model file was trained
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    trained_by: Mapped[str | None] = mapped_column(String(120), default=None)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JsonPayload, default=None)
    status: Mapped[str] = mapped_column(String(16), default=ModelStatus.CANDIDATE.value)
    deployed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    deployed_by: Mapped[str | None] = mapped_column(String(120), default=None)


class ModelDeployment(Base):
    """One attempt to put a model live, with its progress; the page polls `stage` while it runs."""

    __tablename__ = "model_deployments"
    __table_args__ = (
        _one_of("kind", DeploymentKind, "kind"),
        _one_of("status", DeploymentStatus, "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("rasa_models.id"), index=True)
    previous_model_id: Mapped[int | None] = mapped_column(ForeignKey("rasa_models.id"), default=None)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=DeploymentStatus.RUNNING.value)
    stage: Mapped[str] = mapped_column(String(32))
    requested_by: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    port: Mapped[int | None] = mapped_column(Integer, default=None)
    detail: Mapped[str | None] = mapped_column(Text, default=None)

    model: Mapped[RasaModel] = relationship(foreign_keys=[model_id], lazy="joined")
    previous_model: Mapped[RasaModel | None] = relationship(foreign_keys=[previous_model_id], lazy="joined")
