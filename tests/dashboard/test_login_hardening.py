"""Login throttling that cannot be dodged with X-Forwarded-For and cannot be turned into a lock-out.

- The server `bot serve` (and `make run`) starts believes forwarded headers only from TRUSTED_PROXIES:
  tested against real uvicorn on loopback with the options `bot.cli.server_options` gives it.
- Failures delay further attempts, doubling per failure up to a cap, per username and per address:
  tested on `authenticate` with an explicit clock.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select

from bot.api.app import create_app
from bot.cli import server_options
from bot.db import Database
from bot.settings import Settings
from bot.staff.accounts import LoginPolicy, LoginThrottled, authenticate
from bot.staff.models import LoginAttempt
from tests.dashboard.conftest import PASSWORD, Staff

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
POLICY = LoginPolicy(
    max_failures=5,
    window=timedelta(minutes=15),
    base_delay=timedelta(seconds=1),
    max_delay=timedelta(seconds=60),
)
T0 = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)


# --- forwarded headers --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(app: FastAPI, settings: Settings) -> Iterator[httpx.Client]:
    """The app under uvicorn on loopback with exactly the proxy options `bot serve` passes."""
    port = _free_port()
    options = server_options(settings, "127.0.0.1", port)
    options.pop("app"), options.pop("factory")
    options["log_level"] = "warning"
    server = uvicorn.Server(uvicorn.Config(app, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _attempt(client: httpx.Client, username: str, password: str, forwarded_for: str) -> httpx.Response:
    page = client.get("/dashboard/masuk")
    match = _CSRF.search(page.text)
    assert match
    return client.post(
        "/dashboard/masuk",
        data={"username": username, "password": password, "csrf_token": match.group(1)},
        headers={"X-Forwarded-For": forwarded_for},
        follow_redirects=False,
    )


def test_a_forged_forwarded_for_does_not_dodge_the_throttle_per_address(
    settings: Settings, database: Database, staff: Staff
) -> None:
    """Password spraying over many usernames, each try claiming another client address: uvicorn's
    default trusts 127.0.0.1 as a proxy, so every try counted for a new address and none was slowed."""
    with served(create_app(settings, database), settings) as client:
        codes = [
            _attempt(client, f"tebakan.{n}", "salah-salah-1", f"203.0.113.{n}").status_code for n in range(7)
        ]
    assert codes == [401] * 5 + [429] * 2
    with database.session() as session:
        assert set(session.scalars(select(LoginAttempt.ip))) == {"127.0.0.1"}


def test_a_trusted_proxy_gives_the_client_address(
    settings: Settings, database: Database, staff: Staff
) -> None:
    behind_nginx = settings.model_copy(update={"trusted_proxies": "127.0.0.1"})
    with served(create_app(behind_nginx, database), behind_nginx) as client:
        assert _attempt(client, "tebakan", "salah-salah-1", "198.51.100.7").status_code == 401
        assert _attempt(client, staff.admin, PASSWORD, "198.51.100.8").status_code == 303
    with database.session() as session:
        assert list(session.scalars(select(LoginAttempt.ip).order_by(LoginAttempt.id))) == [
            "198.51.100.7",
            "198.51.100.8",
        ]


def test_server_options_trust_no_proxy_by_default() -> None:
    assert server_options(Settings(), "127.0.0.1", 8000)["proxy_headers"] is False
    options = server_options(Settings(trusted_proxies="10.0.0.5, 10.1.0.0/16"), "0.0.0.0", 8000)
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == ["10.0.0.5", "10.1.0.0/16"]


# --- progressive delay --------------------------------------------------------------------------------


def _fail(database: Database, username: str, ip: str, at: datetime) -> None:
    with database.session() as session:
        assert authenticate(session, username, "salah-salah-1", ip, POLICY, now=at) is None
        session.commit()


def _wait(database: Database, username: str, ip: str, at: datetime) -> timedelta | None:
    with database.session() as session:
        try:
            authenticate(session, username, "salah-salah-1", ip, POLICY, now=at)
        except LoginThrottled as throttled:
            return throttled.retry_after
        finally:
            session.rollback()
    return None


def test_the_delay_doubles_per_failure_and_is_capped(database: Database, staff: Staff) -> None:
    at = T0
    waits = []
    for n in range(12):
        _fail(database, staff.petugas_pu, f"192.0.2.{n}", at)  # a new address each time: the username's delay
        waits.append(_wait(database, staff.petugas_pu, "192.0.2.200", at))
        at += timedelta(minutes=1, seconds=1)  # past every delay, within the window
    assert waits[:4] == [None] * 4  # the first failures are free
    assert [w.total_seconds() if w else None for w in waits[4:]] == [1, 2, 4, 8, 16, 32, 60, 60]


def test_failing_on_purpose_cannot_lock_an_officer_out(database: Database, staff: Staff) -> None:
    """Fifty wrong passwords for the officer's name: the officer waits at most a minute, then gets in
    (the old hard lock refused every login for 15 minutes)."""
    for n in range(50):
        _fail(database, staff.petugas_pu, "203.0.113.66", T0 + timedelta(seconds=61 * n))
    last = T0 + timedelta(seconds=61 * 49)
    with database.session() as session:
        with pytest.raises(LoginThrottled) as throttled:
            authenticate(session, staff.petugas_pu, PASSWORD, "198.51.100.1", POLICY, now=last)
        assert throttled.value.retry_after == timedelta(seconds=60)
        user = authenticate(
            session, staff.petugas_pu, PASSWORD, "198.51.100.1", POLICY, now=last + timedelta(seconds=60)
        )
        assert user is not None and user.username == staff.petugas_pu


def test_a_successful_login_clears_the_usernames_failures(database: Database, staff: Staff) -> None:
    for n in range(6):
        _fail(database, staff.petugas_pu, f"192.0.2.{n}", T0 + timedelta(seconds=2 * n))
    signed_in = T0 + timedelta(minutes=2)
    with database.session() as session:
        assert authenticate(session, staff.petugas_pu, PASSWORD, "192.0.2.50", POLICY, now=signed_in)
        session.commit()
    _fail(database, staff.petugas_pu, "192.0.2.51", signed_in + timedelta(seconds=1))
    assert _wait(database, staff.petugas_pu, "192.0.2.52", signed_in + timedelta(seconds=1)) is None


def test_the_address_is_delayed_across_usernames(database: Database, staff: Staff) -> None:
    for n in range(5):
        _fail(database, f"tebakan.{n}", "203.0.113.9", T0 + timedelta(seconds=n))
    wait = _wait(database, "tebakan.x", "203.0.113.9", T0 + timedelta(seconds=4))
    assert wait == timedelta(seconds=1)
    assert _wait(database, "tebakan.x", "203.0.113.10", T0 + timedelta(seconds=4)) is None
