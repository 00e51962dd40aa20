"""Dependencies of every dashboard route: the signed-in staff member, role checks, CSRF, error pages.

- `StaffDep` resolves the session cookie to a `StaffPrincipal` (and sets `request.state.staff` and
  `request.state.csrf_token` for the templates); without a live session a page request is redirected to
  the login page, an htmx request gets 401 with `HX-Redirect`.
- `SupervisorDep` / `AdminDep` also require the role (403 page otherwise).
- `CsrfDep` must be on every state-changing route: the form field `csrf_token` or the header
  `X-CSRF-Token` (htmx sends it, see base.html) must equal the session's token.
- `DashboardError(status, message)` renders the error page with an Indonesian message.
"""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from bot.api.deps import SessionDep, get_settings_dep
from bot.api.deps import client_ip as client_ip  # re-exported: the dashboard routes import it from here
from bot.settings import Settings
from bot.staff.access import NotVisible
from bot.staff.principal import StaffPrincipal
from bot.staff.sessions import SessionPolicy, resume_session

SESSION_COOKIE = "layanan_session"
LOGIN_PATH = "/dashboard/masuk"


class LoginRequired(Exception):
    pass


class DashboardError(Exception):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def session_policy(settings: Settings) -> SessionPolicy:
    from datetime import timedelta

    return SessionPolicy(
        idle=timedelta(minutes=settings.dashboard_session_idle_minutes),
        max_age=timedelta(hours=settings.dashboard_session_max_hours),
    )


def current_staff(
    request: Request,
    session: SessionDep,
    settings: Annotated[Settings, Depends(get_settings_dep)],
) -> StaffPrincipal:
    active = resume_session(session, request.cookies.get(SESSION_COOKIE), session_policy(settings))
    if active is None:
        raise LoginRequired()
    principal = StaffPrincipal.of(active.user)
    request.state.staff = principal
    request.state.csrf_token = active.csrf_token
    return principal


StaffDep = Annotated[StaffPrincipal, Depends(current_staff)]


def require_supervisor(staff: StaffDep) -> StaffPrincipal:
    if not staff.is_supervisor:
        raise DashboardError(403, "Halaman ini hanya untuk supervisor dan admin.")
    return staff


def require_admin(staff: StaffDep) -> StaffPrincipal:
    if not staff.is_admin:
        raise DashboardError(403, "Halaman ini hanya untuk admin.")
    return staff


SupervisorDep = Annotated[StaffPrincipal, Depends(require_supervisor)]
AdminDep = Annotated[StaffPrincipal, Depends(require_admin)]


async def verify_csrf(request: Request, staff: StaffDep) -> None:
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()  # Starlette caches it: the route's Form() fields read the same
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
    expected: str = request.state.csrf_token
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise DashboardError(
            403, "Sesi formulir tidak valid atau kedaluwarsa. Muat ulang halaman lalu coba lagi."
        )


CsrfDep = Depends(verify_csrf)


def db_session(session: SessionDep) -> Session:
    return session


def _error_page(request: Request, status_code: int, message: str) -> Response:
    from bot.dashboard.templating import render

    if request.headers.get("hx-request"):
        return HTMLResponse(
            f'<div class="alert alert-error" role="alert">{_escape(message)}</div>', status_code
        )
    return render(request, "error.html", {"status_code": status_code, "message": message}, status_code)


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def install_dashboard_errors(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, _: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        login = f"{LOGIN_PATH}?next={quote(target, safe='')}"
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": login})
        return RedirectResponse(login, status_code=303)

    @app.exception_handler(DashboardError)
    async def _dashboard_error(request: Request, error: DashboardError) -> Response:
        return _error_page(request, error.status_code, error.message)

    @app.exception_handler(NotVisible)
    async def _not_visible(request: Request, _: NotVisible) -> Response:
        return _error_page(request, 404, "Data tidak ditemukan atau di luar unit Anda.")
