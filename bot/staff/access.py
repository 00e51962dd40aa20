"""Who may see what: every query and every route of the dashboard goes through these rules.

An officer never sees another unit's tickets or conversations. A ticket outside the officer's units is
reported as not found (404), so its existence is not revealed either.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from bot.staff.principal import StaffPrincipal
from bot.tickets.codes import normalize_code
from bot.tickets.models import Ticket


class NotVisible(LookupError):
    """The object does not exist or is outside the staff member's units (deliberately indistinguishable)."""


def ticket_scope(principal: StaffPrincipal) -> ColumnElement[bool]:
    """WHERE clause limiting `tickets` to the principal's units."""
    if principal.is_admin:
        return true()
    return Ticket.unit.in_(sorted(principal.units))


def visible_ticket(session: Session, principal: StaffPrincipal, code: str) -> Ticket:
    normalized = normalize_code(code)
    if normalized is None:
        raise NotVisible(code)
    ticket = session.scalar(select(Ticket).where(Ticket.code == normalized, ticket_scope(principal)))
    if ticket is None:
        raise NotVisible(code)
    return ticket
