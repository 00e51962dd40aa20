"""Complaint figures of one period and set of units: counts, time to first answer, SLA compliance, IKM.

Which tickets count:
- Counts and the time to first answer: tickets *filed* in the period (created_at), in the chosen units.
  A duplicate merged into another ticket is not counted again.
- Time to first answer: wall-clock hours from filing to the first officer answer (the first-answer SLA runs
  on calendar days, so calendar hours are the comparable measure), median over the answered tickets.
- SLA compliance, per deadline (verification, first answer, resolution): tickets whose deadline *falls* in
  the period, of those already decided: met (at or before the deadline, on time or not) or deadline passed
  unmet. A deadline still ahead and unmet, or frozen by a pause (status menunggu_pelapor), is undecided.
  Pauses are already in the deadlines: bot/tickets/service.py moves them on resume.
- IKM: completed SKM surveys of the chosen units whose completion falls in the period.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from bot.reports.period import Period
from bot.survey.ikm import ELEMENTS, IkmResult, compute_ikm
from bot.survey.models import Survey, SurveyAnswer, SurveyStatus
from bot.tickets.models import Ticket
from bot.tickets.status import STATUS_LABELS, TicketStatus
from bot.tickets.vocab import CATEGORY_LABELS, Category

CHANNEL_LABELS: dict[str, str] = {
    "web": "Web chat",
    "telegram": "Telegram",
    "whatsapp": "WhatsApp",
    "loket": "Loket (tatap muka)",
}


@dataclass(frozen=True)
class Count:
    code: str
    label: str
    count: int


@dataclass(frozen=True)
class SlaCompliance:
    kind: str
    label: str
    decided: int
    on_time: int

    @property
    def percent(self) -> Decimal | None:
        if self.decided == 0:
            return None
        share = Decimal(self.on_time * 100) / Decimal(self.decided)
        return share.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Figures:
    period: Period
    units: tuple[str, ...] | None  # None: every unit
    total: int
    by_category: tuple[Count, ...]
    by_status: tuple[Count, ...]
    by_channel: tuple[Count, ...]
    answered: int
    median_first_response_hours: Decimal | None
    sla: tuple[SlaCompliance, ...]
    ikm: IkmResult | None


def unit_clause(units: Collection[str] | None) -> ColumnElement[bool]:
    return true() if units is None else Ticket.unit.in_(sorted(units))


def _filed(period: Period, units: Collection[str] | None) -> ColumnElement[bool]:
    return and_(
        Ticket.created_at >= period.start_utc,
        Ticket.created_at < period.end_utc,
        Ticket.merged_into_id.is_(None),
        unit_clause(units),
    )


def _grouped(
    session: Session, column: InstrumentedAttribute[str], where: ColumnElement[bool]
) -> dict[str, int]:
    rows = session.execute(select(column, func.count()).where(where).group_by(column)).all()
    return {str(code): int(count) for code, count in rows}


def category_counts(session: Session, period: Period, units: Collection[str] | None) -> tuple[Count, ...]:
    """Every category, zero included, in the vocabulary's order (a stable chart)."""
    counts = _grouped(session, Ticket.category, _filed(period, units))
    return tuple(Count(c.value, CATEGORY_LABELS[c], counts.get(c.value, 0)) for c in Category)


def status_counts(session: Session, period: Period, units: Collection[str] | None) -> tuple[Count, ...]:
    counts = _grouped(session, Ticket.status, _filed(period, units))
    return tuple(Count(s.value, STATUS_LABELS[s], counts.get(s.value, 0)) for s in TicketStatus)


def channel_counts(session: Session, period: Period, units: Collection[str] | None) -> tuple[Count, ...]:
    counts = _grouped(session, Ticket.reporter_channel, _filed(period, units))
    known = [Count(code, label, counts.pop(code, 0)) for code, label in CHANNEL_LABELS.items()]
    return tuple(known + [Count(code, code, n) for code, n in sorted(counts.items())])


def unit_category_counts(session: Session, period: Period) -> dict[str, dict[str, int]]:
    """unit → category → count of tickets filed in the period (units without tickets are absent)."""
    rows = session.execute(
        select(Ticket.unit, Ticket.category, func.count())
        .where(_filed(period, None))
        .group_by(Ticket.unit, Ticket.category)
    ).all()
    table: dict[str, dict[str, int]] = defaultdict(dict)
    for unit, category, count in rows:
        table[str(unit)][str(category)] = int(count)
    return dict(table)


def first_response_hours(
    session: Session, period: Period, units: Collection[str] | None
) -> tuple[int, Decimal | None]:
    """(answered tickets, median wall-clock hours to the first answer rounded to 0.1) of tickets filed."""
    rows = session.execute(
        select(Ticket.created_at, Ticket.first_response_at).where(
            _filed(period, units), Ticket.first_response_at.is_not(None)
        )
    ).all()
    hours = [(answered - created).total_seconds() / 3600 for created, answered in rows]
    if not hours:
        return 0, None
    median = Decimal(str(statistics.median(hours))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return len(hours), median


_DEADLINES: tuple[
    tuple[str, str, InstrumentedAttribute[datetime], InstrumentedAttribute[datetime | None]], ...
] = (
    ("verifikasi", "Verifikasi", Ticket.verification_due_at, Ticket.verified_at),
    ("tanggapan_pertama", "Tanggapan pertama", Ticket.first_response_due_at, Ticket.first_response_at),
    ("penyelesaian", "Penyelesaian", Ticket.resolution_due_at, Ticket.resolved_at),
)


def sla_compliance(
    session: Session, period: Period, units: Collection[str] | None, now: datetime
) -> tuple[SlaCompliance, ...]:
    results = []
    for kind, label, due_column, met_column in _DEADLINES:
        rows = session.execute(
            select(due_column, met_column, Ticket.paused_at).where(
                due_column >= period.start_utc,
                due_column < period.end_utc,
                Ticket.merged_into_id.is_(None),
                unit_clause(units),
            )
        ).all()
        decided = on_time = 0
        for due, met, paused in rows:
            if met is not None:
                decided += 1
                on_time += met <= due
            elif paused is None and due <= now:
                decided += 1
        results.append(SlaCompliance(kind, label, decided, on_time))
    return tuple(results)


def survey_respondents(
    session: Session, period: Period, units: Collection[str] | None
) -> list[dict[int, int]]:
    """The answers (element → score) of each completed survey with all 9 elements answered."""
    where = [
        Survey.status == SurveyStatus.COMPLETED.value,
        Survey.completed_at >= period.start_utc,
        Survey.completed_at < period.end_utc,
    ]
    if units is not None:
        where.append(Survey.unit.in_(sorted(units)))
    rows = session.execute(
        select(SurveyAnswer.survey_id, SurveyAnswer.element, SurveyAnswer.score)
        .join(Survey, Survey.id == SurveyAnswer.survey_id)
        .where(*where)
    ).all()
    by_survey: dict[int, dict[int, int]] = defaultdict(dict)
    for survey_id, element, score in rows:
        by_survey[int(survey_id)][int(element)] = int(score)
    # A survey marked complete always has its 9 answers; anything less is left out, not half-counted.
    return [answers for answers in by_survey.values() if len(answers) == len(ELEMENTS)]


def ikm_of(session: Session, period: Period, units: Collection[str] | None) -> IkmResult | None:
    return compute_ikm(survey_respondents(session, period, units))


def figures(session: Session, period: Period, units: Collection[str] | None, now: datetime) -> Figures:
    by_category = category_counts(session, period, units)
    answered, median = first_response_hours(session, period, units)
    return Figures(
        period=period,
        units=None if units is None else tuple(sorted(units)),
        total=sum(c.count for c in by_category),
        by_category=by_category,
        by_status=status_counts(session, period, units),
        by_channel=channel_counts(session, period, units),
        answered=answered,
        median_first_response_hours=median,
        sla=sla_compliance(session, period, units, now),
        ikm=ikm_of(session, period, units),
    )
