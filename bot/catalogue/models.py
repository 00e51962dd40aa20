"""Tables of the service catalogue: the office, its agencies (one JSON document each, as in the YAML file),
the audit trail of every change, and the questions the catalogue could not answer (grouped).

`catalogue_office` holds one row whose `revision` grows with every change: answering processes compare it with
the revision they hold and rebuild their index when it moved, so an edit is live within seconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, utcnow
from bot.tickets.models import UTCDateTime

JSON_DOC = JSON().with_variant(postgresql.JSONB(), "postgresql")


class CatalogueOffice(Base):
    __tablename__ = "catalogue_office"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    document: Mapped[dict[str, Any]] = mapped_column(JSON_DOC)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CatalogueAgency(Base):
    __tablename__ = "catalogue_agencies"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    document: Mapped[dict[str, Any]] = mapped_column(JSON_DOC)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(120))


class CatalogueChange(Base):
    """Append-only: who changed what, when, with the value before and after."""

    __tablename__ = "catalogue_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(32))  # import | edit
    agency_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    field: Mapped[str | None] = mapped_column(String(64), default=None)
    before: Mapped[Any] = mapped_column(JSON_DOC, default=None, nullable=True)
    after: Mapped[Any] = mapped_column(JSON_DOC, default=None, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class CatalogueMiss(Base):
    """A question the catalogue could not answer, grouped by kind and key (e.g. an unknown agency name, or
    `samsat:biaya` for a fact the catalogue lacks), with a count and the latest example (masked)."""

    __tablename__ = "catalogue_misses"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_catalogue_misses_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # unknown_agency | missing_fact
    key: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[str | None] = mapped_column(String(64), default=None)
    aspect: Mapped[str | None] = mapped_column(String(32), default=None)
    example: Mapped[str] = mapped_column(String(300))
    count: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
