"""Ticket tables (SQLAlchemy 2 typed models on bot.db.Base); portable between SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timezone
from enum import StrEnum

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from bot.db import Base, utcnow
from bot.tickets.status import TicketStatus
from bot.tickets.vocab import AuthorKind, Category, Priority, TicketType


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite returns naive values for DateTime(timezone=True))."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _one_of(column: str, values: type[StrEnum], name: str, nullable: bool = False) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    condition = f"{column} IN ({allowed})"
    if nullable:
        condition = f"{column} IS NULL OR {condition}"
    return CheckConstraint(condition, name=name)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        _one_of("type", TicketType, "type"),
        _one_of("category", Category, "category"),
        _one_of("priority", Priority, "priority"),
        _one_of("status", TicketStatus, "status"),
        _one_of("paused_from_status", TicketStatus, "paused_from_status", nullable=True),
        CheckConstraint("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", name="latitude_range"),
        CheckConstraint(
            "longitude IS NULL OR (longitude >= -180 AND longitude <= 180)", name="longitude_range"
        ),
        Index("ix_tickets_reporter", "reporter_channel", "reporter_sender_id", "created_at"),
        Index("ix_tickets_unit_status", "unit", "status"),
        Index("ix_tickets_status_resolution_due", "status", "resolution_due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    # Client-chosen key of the filing attempt; a retried or concurrent repeat returns the first ticket.
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    type: Mapped[str] = mapped_column(String(32), default=TicketType.PENGADUAN.value)
    category: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(200))
    sla_tier: Mapped[str] = mapped_column(String(40))
    priority: Mapped[str] = mapped_column(String(16), default=Priority.SEDANG.value)
    status: Mapped[str] = mapped_column(String(32), default=TicketStatus.BELUM_DIVERIFIKASI.value)

    # Stored as received, NIKs masked (escaping HTML is the job of whatever renders it).
    description: Mapped[str] = mapped_column(Text)
    # The NIK(s) the description held, encrypted (bot/nik_vault.py); shown only on the officer's ticket page.
    nik_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    location_text: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    incident_date: Mapped[date | None] = mapped_column(Date)

    reporter_channel: Mapped[str] = mapped_column(String(32))
    reporter_sender_id: Mapped[str] = mapped_column(String(128))
    reporter_name: Mapped[str | None] = mapped_column(String(120))
    reporter_phone: Mapped[str | None] = mapped_column(String(20))
    # Anonim: identity hidden from the public. Rahasia (default): the report itself is not public,
    # so no admin can "forget" to protect a reporter (the LAPOR! incident in domain.md §1.5).
    is_anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    is_confidential: Mapped[bool] = mapped_column(Boolean, default=True)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    verification_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_response_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolution_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_from_status: Mapped[str | None] = mapped_column(String(32))
    paused_seconds_total: Mapped[int] = mapped_column(BigInteger, default=0)
    # Set when the reporter's identity was removed on request (UU 27/2022); the ticket itself is kept.
    pseudonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Dashboard: the officer working the ticket, and the ticket this one was merged into as a duplicate.
    assigned_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), index=True, default=None
    )
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True, default=None
    )

    consent: Mapped[TicketConsent | None] = relationship(back_populates="ticket", uselist=False)
    attachments: Mapped[list[TicketAttachment]] = relationship(
        back_populates="ticket", order_by="TicketAttachment.id"
    )
    messages: Mapped[list[TicketMessage]] = relationship(back_populates="ticket", order_by="TicketMessage.id")

    @property
    def status_enum(self) -> TicketStatus:
        return TicketStatus(self.status)


class TicketConsent(Base):
    """Proof of what privacy notice the reporter agreed to, when and where (UU 27/2022 Pasal 22-24)."""

    __tablename__ = "ticket_consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"), unique=True)
    text_version: Mapped[str] = mapped_column(String(32))
    text_sha256: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(32))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime())

    ticket: Mapped[Ticket] = relationship(back_populates="consent")


class TicketAttachment(Base):
    __tablename__ = "ticket_attachments"
    __table_args__ = (
        # A retried upload of the same file is the same attachment.
        UniqueConstraint("ticket_id", "sha256", name="uq_ticket_attachments_ticket_id_sha256"),
        CheckConstraint("size_bytes >= 0", name="size_bytes"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # Relative to ATTACHMENTS_DIR, so the directory can move without rewriting rows.
    storage_path: Mapped[str] = mapped_column(String(300))
    uploaded_by: Mapped[str] = mapped_column(String(16), default=AuthorKind.CITIZEN.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="attachments")


class TicketMessage(Base):
    __tablename__ = "ticket_messages"
    __table_args__ = (
        _one_of("author_kind", AuthorKind, "author_kind"),
        # The platform's message id (when there is one) makes a redelivered message a no-op.
        UniqueConstraint("ticket_id", "external_id", name="uq_ticket_messages_ticket_id_external_id"),
        Index("ix_ticket_messages_ticket_kind", "ticket_id", "author_kind", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"))
    author_kind: Mapped[str] = mapped_column(String(16))
    author: Mapped[str | None] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(128))
    # An officer's internal note: shown to staff only, never sent to the citizen.
    is_internal: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="messages")


class TicketAudit(Base):
    """Append-only trail of every change to a ticket; rows are never updated or deleted."""

    __tablename__ = "ticket_audit"
    __table_args__ = (Index("ix_ticket_audit_ticket_id", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"))
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditImmutableError(RuntimeError):
    pass


@event.listens_for(TicketAudit, "before_update")
@event.listens_for(TicketAudit, "before_delete")
def _refuse_audit_change(_mapper: Mapper[TicketAudit], _connection: object, target: TicketAudit) -> None:
    raise AuditImmutableError(f"audit row {target.id} is append-only")


# Database-level guard as well, so raw SQL and other programs cannot rewrite history either.
# The same statements are issued by migration 0002; create_all (tests, quick starts) gets them from here.
AUDIT_GUARD_DDL: dict[str, list[str]] = {
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

for _dialect, _statements in AUDIT_GUARD_DDL.items():
    for _statement in _statements:
        event.listen(
            TicketAudit.__table__,
            "after_create",
            DDL(_statement).execute_if(dialect=_dialect),  # type: ignore[no-untyped-call]
        )
