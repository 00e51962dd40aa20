"""The officer dashboard: server-rendered pages (Jinja2 + htmx) served by the bot service under /dashboard.

Each page area is one module with its own `router`; `install_dashboard` mounts them all with the static
files and the error pages. Domain rules live in bot/tickets, bot/staff, bot/handoff, bot/survey: the
modules here only translate HTTP to those calls and render the answer.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bot.dashboard import (
    auth,
    catalogue,
    delivery,
    handoffs,
    intake,
    models,
    nlu_admin,
    public,
    queue,
    reports,
    tickets,
    users,
)
from bot.dashboard.deps import install_dashboard_errors

STATIC_DIR = Path(__file__).parent / "static"


def install_dashboard(app: FastAPI) -> None:
    app.mount("/dashboard/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static")
    install_dashboard_errors(app)
    for module in (
        auth,
        queue,
        tickets,
        handoffs,
        intake,
        reports,
        users,
        models,
        nlu_admin,
        catalogue,
        public,
        delivery,
    ):
        app.include_router(module.router)
