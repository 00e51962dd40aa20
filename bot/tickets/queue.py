"""The officers' queue: which tickets, in which order, with which SLA state. Framework-free.

SLA state of a ticket (one word, also a filter):
- `done`: closed (selesai, ditolak, diarsipkan); `paused`: waiting for the citizen (menunggu_pelapor);
- otherwise judged on the *next unmet* deadline, in the order the work happens: verification, then the
  first answer, then resolution. `overdue` when that deadline has passed, `soon` when it falls within one
  working day or 24 hours (whichever reaches further, so a Friday-afternoon view warns about Monday),
  `ok` otherwise.

The queue is ordered by that next deadline, nearest first; paused tickets come after the running ones and
closed tickets last. Every filter value is bound as a parameter; search text is escaped for LIKE.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select, type_coerce
from sqlalchemy.orm import Session

from bot.staff.access import ticket_scope
from bot.staff.models import StaffUser
from bot.staff.principal import StaffPrincipal
from bot.tickets.codes import normalize_code
from bot.tickets.models import Ticket, UTCDateTime
from bot.tickets.sla import WorkingCalendar
from bot.tickets.status import CLOSED_STATUSES, TicketStatus

PAGE_SIZE = 25
MAX_SEARCH_CHARS = 200
SOON_HOURS = 24


class SlaState(StrEnum):
    OK = "ok"
    SOON = "soon"
    OVERDUE = "overdue"
    PAUSED = "paused"
    DONE = "done"


SLA_STATE_LABELS: dict[SlaState, str] = {
    SlaState.OK: "Sesuai jadwal",
    SlaState.SOON: "Segera jatuh tempo",
    SlaState.OVERDUE: "Terlambat",
    SlaState.PAUSED: "Dijeda (menunggu pelapor)",
    SlaState.DONE: "Selesai ditangani",
}


class Deadline(StrEnum):
    VERIFICATION = "verification"
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


DEADLINE_LABELS: dict[Deadline, str] = {
    Deadline.VERIFICATION: "Verifikasi",
    Deadline.FIRST_RESPONSE: "Tanggapan pertama",
    Deadline.RESOLUTION: "Penyelesaian",
}

_CLOSED = sorted(s.value for s in CLOSED_STATUSES)


@dataclass(frozen=True)
class QueueFilters:
    """Validated filters; None means "not filtered"."""

    status: TicketStatus | None = None
    category: str | None = None
    unit: str | None = None
    channel: str | None = None
    created_from: date | None = None
    created_to: date | None = None
    sla: SlaState | None = None
    mine: bool = False
    q: str | None = None
    include_merged: bool = False


@dataclass(frozen=True)
class QueueRow:
    ticket: Ticket
    assignee_name: str | None
    sla_state: SlaState
    next_deadline: Deadline | None
    next_deadline_at: datetime | None


@dataclass(frozen=True)
class QueuePage:
    rows: Sequence[QueueRow]
    total: int
    page: int
    pages: int
    status_counts: dict[str, int] = field(default_factory=dict)


def soon_threshold(now: datetime, calendar: WorkingCalendar) -> datetime:
    """Deadlines before this moment are "due soon": one working day or 24 h ahead, whichever is later."""
    return max(now + timedelta(hours=SOON_HOURS), calendar.add_working_seconds(now, SOON_HOURS * 3600))


def next_deadline(ticket: Ticket) -> tuple[Deadline, datetime] | None:
    """The next deadline still to be met, or None when the ticket is closed."""
    if ticket.status in _CLOSED:
        return None
    if ticket.verified_at is None:
        return Deadline.VERIFICATION, ticket.verification_due_at
    if ticket.first_response_at is None:
        return Deadline.FIRST_RESPONSE, ticket.first_response_due_at
    return Deadline.RESOLUTION, ticket.resolution_due_at


def sla_state(ticket: Ticket, now: datetime, soon_before: datetime) -> SlaState:
    if ticket.status in _CLOSED:
        return SlaState.DONE
    if ticket.status == TicketStatus.MENUNGGU_PELAPOR.value:
        return SlaState.PAUSED
    upcoming = next_deadline(ticket)
    assert upcoming is not None
    due = upcoming[1]
    if due < now:
        return SlaState.OVERDUE
    if due < soon_before:
        return SlaState.SOON
    return SlaState.OK


def _next_deadline_column() -> ColumnElement[datetime]:
    return type_coerce(
        case(
            (Ticket.verified_at.is_(None), Ticket.verification_due_at),
            (Ticket.first_response_at.is_(None), Ticket.first_response_due_at),
            else_=Ticket.resolution_due_at,
        ),
        UTCDateTime(),
    )


def _at(moment: datetime) -> ColumnElement[datetime]:
    return literal(moment, UTCDateTime())


def _sla_condition(state: SlaState, now: datetime, soon_before: datetime) -> ColumnElement[bool]:
    running = and_(Ticket.status.not_in(_CLOSED), Ticket.status != TicketStatus.MENUNGGU_PELAPOR.value)
    due = _next_deadline_column()
    if state is SlaState.DONE:
        return Ticket.status.in_(_CLOSED)
    if state is SlaState.PAUSED:
        return Ticket.status == TicketStatus.MENUNGGU_PELAPOR.value
    if state is SlaState.OVERDUE:
        return and_(running, due < _at(now))
    if state is SlaState.SOON:
        return and_(running, due >= _at(now), due < _at(soon_before))
    return and_(running, due >= _at(soon_before))


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search_condition(q: str) -> ColumnElement[bool]:
    by_text = Ticket.description.ilike(f"%{escape_like(q)}%", escape="\\")
    code = normalize_code(q)
    return or_(Ticket.code == code, by_text) if code else by_text


def _conditions(
    principal: StaffPrincipal,
    filters: QueueFilters,
    calendar: WorkingCalendar,
    now: datetime,
    *,
    with_status: bool = True,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [ticket_scope(principal)]
    if not filters.include_merged:
        conditions.append(Ticket.merged_into_id.is_(None))
    if with_status and filters.status is not None:
        conditions.append(Ticket.status == filters.status.value)
    if filters.category:
        conditions.append(Ticket.category == filters.category)
    if filters.unit:
        conditions.append(Ticket.unit == filters.unit)
    if filters.channel:
        conditions.append(Ticket.reporter_channel == filters.channel)
    if filters.created_from:
        conditions.append(Ticket.created_at >= calendar.start_of_day(filters.created_from))
    if filters.created_to:
        conditions.append(Ticket.created_at < calendar.start_of_day(filters.created_to + timedelta(days=1)))
    if filters.sla is not None:
        conditions.append(_sla_condition(filters.sla, now, soon_threshold(now, calendar)))
    if filters.mine:
        conditions.append(Ticket.assigned_to_id == principal.id)
    if filters.q:
        conditions.append(_search_condition(filters.q))
    return conditions


def _order() -> list[ColumnElement[object]]:
    group = case(
        (Ticket.status.in_(_CLOSED), 2),
        (Ticket.status == TicketStatus.MENUNGGU_PELAPOR.value, 1),
        else_=0,
    )
    return [group, _next_deadline_column(), Ticket.id]  # type: ignore[list-item]


def load_queue(
    session: Session,
    principal: StaffPrincipal,
    filters: QueueFilters,
    calendar: WorkingCalendar,
    *,
    page: int = 1,
    now: datetime,
    page_size: int = PAGE_SIZE,
) -> QueuePage:
    """One page of the principal's queue, with the total and the per-status counts of the same filters."""
    where = _conditions(principal, filters, calendar, now)
    total = session.scalar(select(func.count(Ticket.id)).where(*where)) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    result = session.execute(
        select(Ticket, StaffUser.full_name)
        .outerjoin(StaffUser, StaffUser.id == Ticket.assigned_to_id)
        .where(*where)
        .order_by(*_order())
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    soon_before = soon_threshold(now, calendar)
    rows = []
    for ticket, assignee in result:
        upcoming = next_deadline(ticket)
        rows.append(
            QueueRow(
                ticket=ticket,
                assignee_name=assignee,
                sla_state=sla_state(ticket, now, soon_before),
                next_deadline=upcoming[0] if upcoming else None,
                next_deadline_at=upcoming[1] if upcoming else None,
            )
        )
    counts_where = _conditions(principal, filters, calendar, now, with_status=False)
    counts = dict(
        session.execute(
            select(Ticket.status, func.count(Ticket.id)).where(*counts_where).group_by(Ticket.status)
        )
        .tuples()
        .all()
    )
    return QueuePage(rows=rows, total=total, page=page, pages=pages, status_counts=counts)
