"""Login and logout of the dashboard.

The login form is protected against CSRF with a double-submit token (a cookie and a hidden field that
must match), since there is no session yet; after login every form uses the session's own token.
"""

from __future__ import annotations

import hmac
import math
import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.api.deps import SessionDep, SettingsDep
from bot.dashboard.deps import LOGIN_PATH, SESSION_COOKIE, CsrfDep, StaffDep, client_ip, session_policy
from bot.dashboard.templating import render, set_flash
from bot.settings import Settings
from bot.staff.accounts import AccountError, LoginPolicy, LoginThrottled, authenticate, update_user
from bot.staff.audit_log import AccessAction, log_access
from bot.staff.models import StaffUser
from bot.staff.passwords import WeakPasswordError, verify_password
from bot.staff.principal import StaffPrincipal
from bot.staff.sessions import end_all_sessions, end_session, start_session

router = APIRouter(tags=["dashboard"])
LOGIN_CSRF_COOKIE = "layanan_login_csrf"
DEFAULT_NEXT = "/dashboard/"


def _safe_next(raw: str | None) -> str:
    """Only a path of this site: never an absolute URL or `//host` (open redirect)."""
    if not raw or not raw.startswith("/dashboard") or raw.startswith("//") or "\\" in raw:
        return DEFAULT_NEXT
    return raw


def _secure_cookie(request: Request, mode: str) -> bool:
    if mode == "always":
        return True
    if mode == "never":
        return False
    # uvicorn sets the scheme from X-Forwarded-Proto only for TRUSTED_PROXIES (bot.cli.server_options).
    return request.url.scheme == "https"


def login_policy(settings: Settings) -> LoginPolicy:
    return LoginPolicy(
        max_failures=settings.login_max_failures,
        window=timedelta(minutes=settings.login_window_minutes),
        base_delay=timedelta(seconds=settings.login_delay_seconds),
        max_delay=timedelta(seconds=settings.login_max_delay_seconds),
    )


def _wait_text(wait: timedelta) -> str:
    seconds = max(1, math.ceil(wait.total_seconds()))
    return f"{seconds} detik" if seconds < 120 else f"{math.ceil(seconds / 60)} menit"


def _login_page(
    request: Request, status_code: int = 200, error: str | None = None, username: str = "", next_url: str = ""
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "auth/login.html",
        {
            "login_csrf": token,
            "error": error,
            "username": username,
            "next_url": _safe_next(next_url or request.query_params.get("next")),
            "notice": "Sesi Anda telah berakhir. Silakan masuk kembali."
            if request.query_params.get("next")
            else None,
        },
        status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, max_age=3600, path=LOGIN_PATH, httponly=True, samesite="strict"
    )
    return response


@router.get("/dashboard/masuk", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return _login_page(request)


@router.post("/dashboard/masuk")
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not csrf_token or not cookie or not hmac.compare_digest(csrf_token.encode(), cookie.encode()):
        return _login_page(request, 403, "Formulir kedaluwarsa. Silakan coba masuk lagi.", username, next)
    if not username.strip() or not password:
        return _login_page(request, 422, "Isi nama pengguna dan kata sandi.", username, next)
    if "\x00" in username:  # PostgreSQL cannot store it in the attempt log; no username contains it
        return _login_page(request, 422, "Nama pengguna mengandung karakter yang tidak diizinkan.", "", next)
    ip = client_ip(request)
    try:
        user = authenticate(session, username, password, ip, login_policy(settings))
    except LoginThrottled as throttled:
        wait = throttled.retry_after
        page = _login_page(
            request,
            429,
            f"Terlalu banyak percobaan masuk. Coba lagi dalam {_wait_text(wait)}.",
            username,
            next,
        )
        page.headers["Retry-After"] = str(max(1, math.ceil(wait.total_seconds())))
        return page
    if user is None:
        log_access(session, None, AccessAction.LOGIN_FAILED, detail=username[:64], ip=ip, actor="anonim")
        session.commit()  # keep the failed attempt even though the response is an error page
        return _login_page(request, 401, "Nama pengguna atau kata sandi salah.", username, next)
    token = start_session(
        session, user, session_policy(settings), ip=ip, user_agent=request.headers.get("user-agent")
    )
    log_access(session, StaffPrincipal.of(user), AccessAction.LOGIN, ip=ip)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.dashboard_session_max_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure_cookie(request, settings.dashboard_cookie_secure),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=LOGIN_PATH)
    return response


@router.post("/dashboard/keluar", dependencies=[CsrfDep])
def logout(request: Request, staff: StaffDep, session: SessionDep) -> Response:
    end_session(session, request.cookies.get(SESSION_COOKIE))
    log_access(session, staff, AccessAction.LOGOUT, ip=client_ip(request))
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/dashboard/akun", response_class=HTMLResponse)
def account(request: Request, staff: StaffDep) -> HTMLResponse:
    return render(request, "auth/account.html", {"nav_active": "akun"})


@router.post("/dashboard/akun/kata-sandi", dependencies=[CsrfDep])
def change_password(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    current_password: Annotated[str, Form(max_length=1024)] = "",
    new_password: Annotated[str, Form(max_length=1024)] = "",
    repeat_password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    user = session.get_one(StaffUser, staff.id)
    error = None
    if not verify_password(user.password_hash, current_password):
        error = "Kata sandi lama salah."
    elif new_password != repeat_password:
        error = "Kedua kata sandi baru tidak sama."
    else:
        try:
            update_user(session, user, password=new_password)
        except (WeakPasswordError, AccountError) as refused:
            error = str(refused)
    if error:
        return render(request, "auth/account.html", {"error": error}, 422)
    # Every other session of this account ends; this one continues.
    current = request.cookies.get(SESSION_COOKIE)
    end_all_sessions(session, user.id, keep_token=current)
    log_access(
        session,
        staff,
        AccessAction.USER_CHANGED,
        target_type="staff_user",
        target_id=user.id,
        detail="password changed",
        ip=client_ip(request),
    )
    response = RedirectResponse("/dashboard/akun", status_code=303)
    set_flash(response, "Kata sandi diganti. Sesi lain akun ini sudah diakhiri.")
    return response
