"""`/transparansi`: the public transparency page. No login, aggregate figures only (bot/reports/public.py:
no names, codes or free text; small counts hidden), cacheable for five minutes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from bot.api.deps import SessionDep
from bot.dashboard.templating import render
from bot.db import utcnow
from bot.reports.period import InvalidPeriod, current_month, parse_period
from bot.reports.public import public_figures
from bot.reports.suppression import THRESHOLD
from bot.tickets.routing import load_routing

router = APIRouter(tags=["public"])
PUBLIC_PATH = "/transparansi"
CACHE_SECONDS = 300


@router.get(PUBLIC_PATH, response_class=HTMLResponse)
def transparency_page(
    request: Request,
    session: SessionDep,
    raw_from: Annotated[str, Query(alias="dari", max_length=10)] = "",
    raw_to: Annotated[str, Query(alias="sampai", max_length=10)] = "",
) -> HTMLResponse:
    now = utcnow()
    error = None
    try:
        period = parse_period(raw_from, raw_to, now)
    except InvalidPeriod as invalid:
        period, error = current_month(now), str(invalid)
    result = public_figures(session, period, load_routing().units(), now)
    response = render(
        request,
        "public/transparency.html",
        {"figures": result, "period": period, "error": error, "threshold": THRESHOLD},
        422 if error else 200,
    )
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    return response
