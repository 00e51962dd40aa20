"""Jinja2 environment of the dashboard: autoescaping on, Indonesian labels and Jakarta time as filters.

`render` is the one way routes produce a page: it adds the signed-in staff member, the CSRF token and the
flash messages every template expects.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from bot.staff.models import ROLE_LABELS, Role
from bot.tickets.status import STATUS_LABELS, TicketStatus
from bot.tickets.vocab import CATEGORY_LABELS, PRIORITY_LABELS, Category, Priority

TEMPLATES_DIR = Path(__file__).parent / "templates"
JAKARTA = ZoneInfo("Asia/Jakarta")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"]
FLASH_COOKIE = "layanan_flash"

templates = Jinja2Templates(directory=TEMPLATES_DIR)


def local_time(value: datetime | None, with_time: bool = True) -> str:
    """`28 Nov 2026 14:05 WIB` (Asia/Jakarta), or an empty string."""
    if value is None:
        return ""
    local = value.astimezone(JAKARTA)
    text = f"{local.day} {MONTHS[local.month - 1]} {local.year}"
    return f"{text} {local:%H:%M} WIB" if with_time else text


def local_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return local_time(value, with_time=False)
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def _label(mapping: dict[Any, str], enum: type, value: str | None) -> str:
    if value is None:
        return ""
    try:
        return mapping[enum(value)]
    except (ValueError, KeyError):
        return value


templates.env.filters["waktu"] = local_time
templates.env.filters["tanggal"] = local_date
templates.env.filters["status_label"] = lambda v: _label(STATUS_LABELS, TicketStatus, v)
templates.env.filters["category_label"] = lambda v: _label(CATEGORY_LABELS, Category, v)
templates.env.filters["priority_label"] = lambda v: _label(PRIORITY_LABELS, Priority, v)
templates.env.filters["role_label"] = lambda v: _label(ROLE_LABELS, Role, v)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    full = {
        "staff": getattr(request.state, "staff", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "flash": unquote(request.cookies.get(FLASH_COOKIE, "")),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, template, full, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    if full["flash"]:
        response.delete_cookie(FLASH_COOKIE, path="/dashboard")
    return response


def set_flash(response: Any, message: str) -> None:
    """A one-time notice shown on the next page (after a redirect), e.g. "Status diubah"."""
    response.set_cookie(
        FLASH_COOKIE, quote(message[:300]), max_age=60, path="/dashboard", httponly=True, samesite="lax"
    )
