"""Supervisors' report page (`/dashboard/laporan`) and its CSV export: figures of bot/reports per period
and unit. A supervisor sees only their own units; an admin every unit, all together or one at a time."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from bot.api.deps import SessionDep
from bot.dashboard.deps import DashboardError, SupervisorDep, client_ip
from bot.dashboard.templating import render
from bot.db import utcnow
from bot.reports.csv_export import rows_of, to_csv
from bot.reports.figures import Figures, figures
from bot.reports.period import InvalidPeriod, Period, current_month, parse_period
from bot.staff.audit_log import AccessAction, log_access
from bot.staff.principal import StaffPrincipal
from bot.tickets.routing import load_routing

router = APIRouter(tags=["dashboard"])
REPORTS_PATH = "/dashboard/laporan"
ALL_UNITS = "Semua unit"

FromQuery = Annotated[str, Query(alias="dari", max_length=10)]
ToQuery = Annotated[str, Query(alias="sampai", max_length=10)]
UnitQuery = Annotated[str, Query(max_length=200)]


def selectable_units(staff: StaffPrincipal) -> list[str]:
    return sorted(load_routing().units()) if staff.is_admin else sorted(staff.units)


def chosen_units(staff: StaffPrincipal, unit: str) -> tuple[str, ...] | None:
    """The units the figures cover; another unit's name is refused, not silently widened or narrowed."""
    unit = unit.strip()
    if not unit:
        return None if staff.is_admin else tuple(sorted(staff.units))
    if unit not in selectable_units(staff):
        raise DashboardError(403, "Anda tidak berwenang melihat laporan unit tersebut.")
    return (unit,)


def _period(raw_from: str, raw_to: str) -> tuple[Period, str | None]:
    now = utcnow()
    try:
        return parse_period(raw_from, raw_to, now), None
    except InvalidPeriod as error:
        return current_month(now), str(error)


def units_label(units: tuple[str, ...] | None) -> str:
    return ALL_UNITS if units is None else ", ".join(units)


def chart_data(result: Figures) -> dict[str, Any]:
    """Numbers and code-defined labels only: the page reads them from a JSON block, never inline JS."""
    ikm = result.ikm
    return {
        "category": {
            "labels": [c.label for c in result.by_category],
            "counts": [c.count for c in result.by_category],
        },
        "status": {
            "labels": [c.label for c in result.by_status],
            "counts": [c.count for c in result.by_status],
        },
        "ikm": {
            "labels": [f"U{e.element}" for e in ikm.elements] if ikm else [],
            "titles": [e.label for e in ikm.elements] if ikm else [],
            "values": [float(e.converted) for e in ikm.elements] if ikm else [],
        },
    }


@router.get(REPORTS_PATH, response_class=HTMLResponse)
def reports_page(
    request: Request,
    staff: SupervisorDep,
    session: SessionDep,
    raw_from: FromQuery = "",
    raw_to: ToQuery = "",
    unit: UnitQuery = "",
) -> HTMLResponse:
    units = chosen_units(staff, unit)
    period, error = _period(raw_from, raw_to)
    result = figures(session, period, units, utcnow())
    return render(
        request,
        "reports/index.html",
        {
            "nav_active": "laporan",
            "figures": result,
            "period": period,
            "unit": unit.strip(),
            "units_label": units_label(units),
            "selectable_units": selectable_units(staff),
            "error": error,
            "charts": chart_data(result),
            "csv_query": {
                "dari": period.start.isoformat(),
                "sampai": period.end.isoformat(),
                "unit": unit.strip(),
            },
        },
        422 if error else 200,
    )


@router.get(REPORTS_PATH + ".csv")
def reports_csv(
    request: Request,
    staff: SupervisorDep,
    session: SessionDep,
    raw_from: FromQuery = "",
    raw_to: ToQuery = "",
    unit: UnitQuery = "",
) -> Response:
    units = chosen_units(staff, unit)
    period, error = _period(raw_from, raw_to)
    if error:
        raise DashboardError(422, error)
    result = figures(session, period, units, utcnow())
    label = units_label(units)
    log_access(
        session,
        staff,
        AccessAction.EXPORT,
        target_type="laporan",
        detail=f"CSV {period.start.isoformat()} s.d. {period.end.isoformat()}: {label}",
        ip=client_ip(request),
    )
    filename = f"laporan-aduan-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return Response(
        to_csv(rows_of(result, label)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
