"""The figures published on the transparency page: per unit and per unit × category, suppressed.

Only counts, shares, medians and IKM leave this module, and each is hidden (None or "< 3") when it rests on
fewer than 3 tickets or respondents, so that nobody can be singled out.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from bot.reports.figures import (
    Count,
    first_response_hours,
    ikm_of,
    sla_compliance,
    status_counts,
    unit_category_counts,
)
from bot.reports.period import Period
from bot.reports.suppression import THRESHOLD, PublicTable, shown, suppress
from bot.tickets.vocab import CATEGORY_LABELS, Category


@dataclass(frozen=True)
class PublicUnit:
    unit: str
    total: str
    median_first_response_hours: Decimal | None
    first_response_on_time_percent: Decimal | None
    ikm: Decimal | None
    ikm_grade: str | None


@dataclass(frozen=True)
class PublicFigures:
    period: Period
    total: str
    by_status: tuple[tuple[str, str], ...]  # (label, shown count)
    units: tuple[PublicUnit, ...]
    categories: tuple[tuple[str, str], ...]  # (code, label), the table's columns
    table: PublicTable


def _unit_figures(session: Session, period: Period, unit: str, total: int, now: datetime) -> PublicUnit:
    answered, median = first_response_hours(session, period, [unit])
    first_answer = next(
        s for s in sla_compliance(session, period, [unit], now) if s.kind == "tanggapan_pertama"
    )
    ikm = ikm_of(session, period, [unit])
    enough_ikm = ikm is not None and ikm.respondents >= THRESHOLD
    return PublicUnit(
        unit=unit,
        total=shown(total),
        median_first_response_hours=median if answered >= THRESHOLD else None,
        first_response_on_time_percent=first_answer.percent if first_answer.decided >= THRESHOLD else None,
        ikm=ikm.ikm if enough_ikm and ikm else None,
        ikm_grade=ikm.grade if enough_ikm and ikm else None,
    )


def public_figures(
    session: Session, period: Period, known_units: Collection[str], now: datetime
) -> PublicFigures:
    matrix = unit_category_counts(session, period)
    units = sorted(set(known_units) | set(matrix))
    columns = [c.value for c in Category]
    table = suppress(matrix, units, columns)
    totals = {unit: sum(matrix.get(unit, {}).values()) for unit in units}
    statuses: tuple[Count, ...] = status_counts(session, period, None)
    return PublicFigures(
        period=period,
        total=shown(sum(totals.values())),
        by_status=tuple((s.label, shown(s.count)) for s in statuses),
        units=tuple(_unit_figures(session, period, unit, totals[unit], now) for unit in units),
        categories=tuple((c.value, CATEGORY_LABELS[c]) for c in Category),
        table=table,
    )
