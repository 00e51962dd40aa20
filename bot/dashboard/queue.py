"""The officer's queue (`GET /dashboard/`): the tickets of their units, filtered, searched, sorted by the
nearest deadline. Query values that do not make sense are ignored with a notice, never an error page."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from bot.api.deps import SessionDep, get_settings_dep
from bot.dashboard.deps import StaffDep
from bot.dashboard.templating import render
from bot.db import utcnow
from bot.settings import Settings
from bot.staff.principal import StaffPrincipal
from bot.tickets.queue import (
    DEADLINE_LABELS,
    SLA_STATE_LABELS,
    QueueFilters,
    SlaState,
    load_queue,
)
from bot.tickets.service import TicketConfig
from bot.tickets.status import STATUS_LABELS, TicketStatus
from bot.tickets.vocab import CATEGORY_LABELS, Category

router = APIRouter(tags=["dashboard"])

CHANNEL_LABELS: dict[str, str] = {
    "web": "Web",
    "telegram": "Telegram",
    "whatsapp": "WhatsApp",
    "loket": "Loket",
}
MAX_SEARCH_CHARS = 200
FILTER_KEYS = ("status", "kategori", "unit", "kanal", "dari", "sampai", "sla", "saya", "q", "gabungan")


def visible_units(principal: StaffPrincipal, config: TicketConfig) -> list[str]:
    if principal.is_admin:
        return config.routing.units()
    return sorted(principal.units)


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def parse_filters(
    params: dict[str, str], principal: StaffPrincipal, units: list[str]
) -> tuple[QueueFilters, dict[str, str], list[str]]:
    """(filters, the accepted raw values to keep in links, notices about ignored values)."""
    filters = QueueFilters()
    kept: dict[str, str] = {}
    notices: list[str] = []

    def accept(key: str, **change: Any) -> None:
        nonlocal filters
        filters = replace(filters, **change)
        kept[key] = params[key]

    def value(key: str) -> str:
        return params.get(key, "").strip()

    if raw := value("status"):
        if raw in TicketStatus.__members__.values():
            accept("status", status=TicketStatus(raw))
        else:
            notices.append("Filter status tidak dikenal dan diabaikan.")
    if raw := value("kategori"):
        if raw in Category.__members__.values():
            accept("kategori", category=raw)
        else:
            notices.append("Filter kategori tidak dikenal dan diabaikan.")
    if raw := value("unit"):
        if raw in units and principal.can_see_unit(raw):
            accept("unit", unit=raw)
        else:
            notices.append("Filter unit diabaikan: unit itu tidak dikenal atau di luar unit Anda.")
    if raw := value("kanal"):
        if raw in CHANNEL_LABELS:
            accept("kanal", channel=raw)
        else:
            notices.append("Filter kanal tidak dikenal dan diabaikan.")
    for key, name in (("dari", "created_from"), ("sampai", "created_to")):
        if raw := value(key):
            parsed = _date(raw)
            if parsed is not None:
                accept(key, **{name: parsed})
            else:
                notices.append("Tanggal tidak valid dan diabaikan (gunakan format TTTT-BB-HH).")
    if filters.created_from and filters.created_to and filters.created_from > filters.created_to:
        notices.append("Tanggal awal sesudah tanggal akhir: filter tanggal diabaikan.")
        filters = replace(filters, created_from=None, created_to=None)
        kept.pop("dari", None)
        kept.pop("sampai", None)
    if raw := value("sla"):
        if raw in SlaState.__members__.values():
            accept("sla", sla=SlaState(raw))
        else:
            notices.append("Filter tenggat tidak dikenal dan diabaikan.")
    if value("saya") == "1":
        accept("saya", mine=True)
    if value("gabungan") == "1":
        accept("gabungan", include_merged=True)
    if raw := value("q"):
        if len(raw) > MAX_SEARCH_CHARS or "\x00" in raw:
            notices.append(f"Kata pencarian terlalu panjang (paling banyak {MAX_SEARCH_CHARS} karakter).")
        else:
            filters = replace(filters, q=raw)
            kept["q"] = raw
    return filters, kept, notices


def _page_number(raw: str | None, notices: list[str]) -> int:
    if not raw:
        return 1
    try:
        number = int(raw)
    except ValueError:
        notices.append("Nomor halaman tidak valid; halaman pertama ditampilkan.")
        return 1
    if number < 1:
        notices.append("Nomor halaman tidak valid; halaman pertama ditampilkan.")
        return 1
    return number


def age_label(created_at: datetime, now: datetime) -> str:
    seconds = max(int((now - created_at).total_seconds()), 0)
    if seconds < 3600:
        return f"{max(seconds // 60, 1)} menit"
    if seconds < 86400:
        return f"{seconds // 3600} jam"
    return f"{seconds // 86400} hari"


@router.get("/dashboard/", response_class=HTMLResponse)
def queue_page(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    settings: Annotated[Settings, Depends(get_settings_dep)],
) -> HTMLResponse:
    config = TicketConfig.from_settings(settings)
    units = visible_units(staff, config)
    params = {key: request.query_params.get(key, "") for key in (*FILTER_KEYS, "halaman")}
    filters, kept, notices = parse_filters(params, staff, units)
    page_number = _page_number(params["halaman"], notices)
    now = utcnow()
    result = load_queue(session, staff, filters, config.calendar, page=page_number, now=now)

    def url(**change: Any) -> str:
        query = {**kept, **change}
        query = {k: str(v) for k, v in query.items() if v not in (None, "")}
        return "/dashboard/" + (f"?{urlencode(query)}" if query else "")

    status_links = [
        {
            "status": status.value,
            "label": STATUS_LABELS[status],
            "count": result.status_counts.get(status.value, 0),
            "url": url(status=status.value, halaman=None),
            "active": filters.status is status,
        }
        for status in TicketStatus
    ]
    return render(
        request,
        "queue/index.html",
        {
            "nav_active": "antrean",
            "page": result,
            "rows": result.rows,
            "now": now,
            "age_label": age_label,
            "notices": notices,
            "filters": filters,
            "kept": kept,
            "status_links": status_links,
            "all_statuses_url": url(status=None, halaman=None),
            "page_url": lambda number: url(halaman=number),
            "units": units,
            "statuses": [(s.value, STATUS_LABELS[s]) for s in TicketStatus],
            "categories": [(c.value, CATEGORY_LABELS[c]) for c in Category],
            "channels": list(CHANNEL_LABELS.items()),
            "channel_labels": CHANNEL_LABELS,
            "sla_states": [(s.value, SLA_STATE_LABELS[s]) for s in SlaState],
            "sla_labels": {s.value: label for s, label in SLA_STATE_LABELS.items()},
            "deadline_labels": {d.value: label for d, label in DEADLINE_LABELS.items()},
        },
    )
