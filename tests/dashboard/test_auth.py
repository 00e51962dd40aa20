"""Login, logout, sessions, CSRF and throttling of the dashboard."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
from sqlalchemy import select

from bot.db import Database
from bot.staff.models import AccessLog, LoginAttempt, StaffSession
from bot.staff.sessions import token_hash
from tests.dashboard.conftest import PASSWORD, Browser, Staff, StaffClient, csrf_of


def _login(client: Browser, username: str, password: str, next_url: str = "") -> httpx.Response:
    page = client.get("/dashboard/masuk")
    return client.post(
        "/dashboard/masuk",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text), "next": next_url},
        follow_redirects=False,
    )


def test_pages_redirect_to_login_without_a_session(client_factory: Callable[[], Browser]) -> None:
    client = client_factory()
    response = client.get("/dashboard/akun", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/masuk?next=%2Fdashboard%2Fakun"
    htmx = client.get("/dashboard/akun", headers={"HX-Request": "true"})
    assert htmx.status_code == 401
    assert htmx.headers["HX-Redirect"].startswith("/dashboard/masuk")


def test_login_sets_a_hardened_cookie_and_stores_only_the_token_hash(
    client_factory: Callable[[], Browser], staff: Staff, database: Database
) -> None:
    client = client_factory()
    response = _login(client, staff.petugas_pu, PASSWORD, next_url="/dashboard/akun")
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/akun"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    token = client.cookies.get("layanan_session")
    assert token
    with database.session() as session:
        stored = session.scalars(select(StaffSession.token_hash)).all()
    assert stored == [token_hash(token)]
    page = client.get("/dashboard/akun")
    assert page.status_code == 200 and "Petugas PU" in page.text


def test_cookie_is_secure_over_https(client_factory: Callable[[], Browser], staff: Staff) -> None:
    # Behind a reverse proxy uvicorn turns the proxy's X-Forwarded-Proto into this scheme (TRUSTED_PROXIES).
    client = client_factory()
    page = client.get("https://testserver/dashboard/masuk")
    response = client.post(
        "https://testserver/dashboard/masuk",
        data={"username": staff.admin, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert "Secure" in response.headers["set-cookie"]


def test_a_forwarded_proto_header_alone_is_not_believed(
    client_factory: Callable[[], Browser], staff: Staff
) -> None:
    client = client_factory()
    page = client.get("/dashboard/masuk")
    response = client.post(
        "/dashboard/masuk",
        data={"username": staff.admin, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        headers={"X-Forwarded-Proto": "https"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "Secure" not in response.headers["set-cookie"]


def test_open_redirects_are_refused(client_factory: Callable[[], Browser], staff: Staff) -> None:
    for target in ("https://evil.example/", "//evil.example/dashboard", "/dashboard\\..\\x"):
        response = _login(client_factory(), staff.admin, PASSWORD, next_url=target)
        assert response.headers["location"] == "/dashboard/"


def test_wrong_password_and_unknown_user_look_the_same(
    client_factory: Callable[[], Browser], staff: Staff, database: Database
) -> None:
    wrong = _login(client_factory(), staff.admin, "bukan-kata-sandi-1")
    unknown = _login(client_factory(), "tidak.ada", "bukan-kata-sandi-1")
    assert wrong.status_code == unknown.status_code == 401
    assert "Nama pengguna atau kata sandi salah." in wrong.text
    with database.session() as session:
        assert session.scalar(select(AccessLog.action).where(AccessLog.action == "login_failed")) is not None


def test_login_form_without_its_csrf_token_is_refused(
    client_factory: Callable[[], Browser], staff: Staff
) -> None:
    client = client_factory()
    client.get("/dashboard/masuk")
    response = client.post(
        "/dashboard/masuk", data={"username": staff.admin, "password": PASSWORD, "csrf_token": "palsu"}
    )
    assert response.status_code == 403
    assert client.cookies.get("layanan_session") is None


def test_throttling_after_repeated_failures_even_with_the_right_password(
    client_factory: Callable[[], Browser], staff: Staff
) -> None:
    client = client_factory()
    for _ in range(5):
        assert _login(client, staff.petugas_pu, "salah-salah-1").status_code == 401
    blocked = _login(client, staff.petugas_pu, PASSWORD)
    assert blocked.status_code == 429
    assert "Terlalu banyak percobaan" in blocked.text


def test_throttle_window_passes(
    client_factory: Callable[[], Browser], staff: Staff, database: Database
) -> None:
    client = client_factory()
    for _ in range(5):
        _login(client, staff.petugas_pu, "salah-salah-1")
    with database.session() as session:
        for attempt in session.scalars(select(LoginAttempt)):
            attempt.created_at = attempt.created_at - timedelta(minutes=16)
    assert _login(client, staff.petugas_pu, PASSWORD).status_code == 303


def test_logout_needs_csrf_and_ends_the_session(login: Callable[[str], StaffClient], staff: Staff) -> None:
    officer = login(staff.petugas_pu)
    refused = officer.client.post("/dashboard/keluar", data={"csrf_token": "salah"})
    assert refused.status_code == 403
    assert officer.get("/dashboard/akun").status_code == 200
    token = officer.client.cookies.get("layanan_session")
    officer.post("/dashboard/keluar", follow_redirects=False)
    officer.client.cookies.set("layanan_session", token)  # a stolen copy of the cookie is dead too
    assert officer.get("/dashboard/akun", follow_redirects=False).status_code == 303


def test_idle_session_expires(login: Callable[[str], StaffClient], staff: Staff, database: Database) -> None:
    officer = login(staff.petugas_pu)
    with database.session() as session:
        for row in session.scalars(select(StaffSession)):
            row.last_seen_at = row.last_seen_at - timedelta(minutes=31)
    assert officer.get("/dashboard/akun", follow_redirects=False).status_code == 303


def test_deactivated_user_loses_the_session(
    login: Callable[[str], StaffClient], staff: Staff, database: Database
) -> None:
    from bot.staff.accounts import find_user

    officer = login(staff.petugas_pu)
    with database.session() as session:
        user = find_user(session, staff.petugas_pu)
        assert user is not None
        user.is_active = False
    assert officer.get("/dashboard/akun", follow_redirects=False).status_code == 303


def test_password_change_ends_other_sessions(login: Callable[[str], StaffClient], staff: Staff) -> None:
    first = login(staff.petugas_pu)
    second = login(staff.petugas_pu)
    response = first.post(
        "/dashboard/akun/kata-sandi",
        {"current_password": PASSWORD, "new_password": "sandi-baru-456", "repeat_password": "sandi-baru-456"},
    )
    assert response.status_code == 200 and "Kata sandi diganti" in response.text
    assert first.get("/dashboard/akun").status_code == 200
    assert second.get("/dashboard/akun", follow_redirects=False).status_code == 303


def test_weak_new_password_is_refused(login: Callable[[str], StaffClient], staff: Staff) -> None:
    officer = login(staff.petugas_pu)
    response = officer.post(
        "/dashboard/akun/kata-sandi",
        {"current_password": PASSWORD, "new_password": "pendek", "repeat_password": "pendek"},
    )
    assert response.status_code == 422 and "minimal 10 karakter" in response.text
