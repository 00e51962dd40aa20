"""Append-only audit trail: the only way tickets code writes audit rows (there is no update or delete)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import utcnow
from bot.tickets.models import Ticket, TicketAudit


class AuditAction(StrEnum):
    CREATED = "created"
    STATUS_CHANGED = "status_changed"
    MESSAGE_ADDED = "message_added"
    ATTACHMENT_ADDED = "attachment_added"
    PRIORITY_CHANGED = "priority_changed"
    UNIT_CHANGED = "unit_changed"
    SLA_RESUMED = "sla_resumed"
    PSEUDONYMISED = "pseudonymised"
    ASSIGNED = "assigned"  # dashboard: officer assignment (or release)
    NOTE_ADDED = "note_added"  # dashboard: internal note (its text stays in ticket_messages)
    MERGED = "merged"  # dashboard: a duplicate was merged into this ticket


def record(
    session: Session,
    ticket: Ticket,
    actor: str,
    action: AuditAction,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> TicketAudit:
    entry = TicketAudit(
        ticket_id=ticket.id,
        actor=actor[:120],
        action=action.value,
        from_status=from_status,
        to_status=to_status,
        note=note,
        created_at=at or utcnow(),
    )
    session.add(entry)
    return entry


def trail(session: Session, ticket_id: int) -> Sequence[TicketAudit]:
    return session.scalars(
        select(TicketAudit).where(TicketAudit.ticket_id == ticket_id).order_by(TicketAudit.id)
    ).all()
