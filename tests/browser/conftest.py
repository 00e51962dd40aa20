"""Fixtures of the browser tests: the real bot service under uvicorn on a free loopback port (migrated SQLite
copy, fake Rasa), seeded staff, citizens that talk to it through the real web-chat API, and Debian's
Chromium driven by Playwright (one browser per session, a fresh context per test).

Chromium is never downloaded: `playwright install` is not used; `scripts/ensure_chromium.sh` puts the
distribution's package at /usr/bin/chromium (LAYANAN_CHROMIUM overrides the path).
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from bot.api.app import create_app
from bot.db import Database
from bot.settings import Settings
from bot.staff.accounts import create_user
from bot.staff.models import Role
from bot.tickets.models import Ticket
from bot.tickets.service import NewTicket, ReporterInfo, TicketConfig, add_attachment, create_ticket
from bot.tickets.vocab import Category
from bot.webchat.models import WebChatSession
from bot.webchat.sessions import token_hash
from tests.service import conftest as service_fixtures
from tests.service.fake_rasa import FakeRasa

fake_rasa_server = service_fixtures.fake_rasa_server
fake_rasa = service_fixtures.fake_rasa
sqlite_template = service_fixtures.sqlite_template

CHROMIUM = os.environ.get("LAYANAN_CHROMIUM", "/usr/bin/chromium")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS_DIR = PROJECT_ROOT / "docs" / "screenshots"
PASSWORD = "kata-sandi-uji-123"
SERVICE_TOKEN = "token-layanan-uji-browser"
UNIT_PU = "Dinas Pekerjaan Umum dan Penataan Ruang"  # category infrastruktur
UNIT_DUKCAPIL = "Dinas Kependudukan dan Pencatatan Sipil"  # category kependudukan
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
# How long a page may take to show something the server just did (htmx polling included).
LIVE_TIMEOUT_MS = 15_000
expect.set_options(timeout=LIVE_TIMEOUT_MS)


@dataclass(frozen=True)
class Staff:
    supervisor_pu: str = "supervisor.pu"
    petugas_pu: str = "petugas.pu"
    petugas_dukcapil: str = "petugas.dukcapil"


STAFF = Staff()


def solid_png(width: int = 160, height: int = 100, rgb: tuple[int, int, int] = (30, 120, 200)) -> bytes:
    """A real, decodable PNG of one colour (the browser must be able to render it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


# --- the service under test -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _ServerThread:
    """uvicorn serving the app in a background thread (its own event loop, the app's own lifespan)."""

    def __init__(self, app: Any, port: int) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn-browser-tests", daemon=True)

    def __enter__(self) -> _ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the bot service did not start for the browser tests")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@dataclass
class Citizen:
    """A web-chat user talking to the live service exactly as the chat widget does: with a session token the
    service issued. `sender` is the sender id the service bound to that session (the test reads it from the
    database to file tickets and handoffs for this citizen; the citizen itself never sends it)."""

    service: LiveService
    token: str
    sender: str
    last_id: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)  # pushed messages: text, buttons

    def say(self, text: str) -> list[str]:
        """Send one message; the bot's (or nobody's, during a handoff) direct answers."""
        return [m["text"] for m in self.send(text)]

    def send(self, text: str) -> list[dict[str, Any]]:
        response = self.service.http.post("/api/v1/chat", json={"text": text}, headers=self._auth())
        assert response.status_code == 200, response.text
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    def poll(self) -> list[dict[str, Any]]:
        """Messages pushed to this citizen since the last poll (officer replies, notices)."""
        response = self.service.http.get(
            "/api/v1/chat/updates", params={"after": self.last_id}, headers=self._auth()
        )
        assert response.status_code == 200, response.text
        body = response.json()
        self.last_id = body["last_id"]
        self.received.extend(body["messages"])
        return list(body["messages"])

    def texts(self) -> list[str]:
        return [m["text"] for m in self.received]

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def wait_for(self, fragment: str, timeout: float = 10.0) -> dict[str, Any]:
        """Poll until a pushed message containing `fragment` (case-insensitive) arrives; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            for message in self.received:
                if fragment.lower() in message["text"].lower():
                    return message
            if time.monotonic() > deadline:
                raise AssertionError(f"no message containing {fragment!r}; received: {self.texts()!r}")
            time.sleep(0.2)


_keys = count(1)


@dataclass
class LiveService:
    url: str
    settings: Settings
    database: Database
    fake_rasa: FakeRasa
    http: httpx.Client

    def citizen(self) -> Citizen:
        response = self.http.post("/api/v1/chat/sessions")
        assert response.status_code == 201, response.text
        self.http.cookies.clear()  # every citizen carries its own token, not the last one's cookie
        token = response.json()["token"]
        with self.database.session() as session:
            sender = session.get_one(WebChatSession, token_hash(token)).sender_id
        return Citizen(self, token, sender)

    def file_ticket(
        self,
        citizen: Citizen,
        description: str,
        category: Category = Category.INFRASTRUKTUR,
        name: str = "Budi Santoso",
        image: bytes | None = None,
        **fields: Any,
    ) -> Ticket:
        """A ticket through the real service, reported by this citizen (a conversation is behind it)."""
        config = TicketConfig.from_settings(self.settings)
        reporter = ReporterInfo(channel="web", sender_id=citizen.sender, name=name)
        new = NewTicket(category=category, description=description, reporter=reporter, **fields)
        with self.database.session() as session:
            ticket, created = create_ticket(session, new, f"browser-{next(_keys):06d}", config=config)
            assert created
            if image is not None:
                add_attachment(session, ticket, image, "foto-lokasi.png", config=config)
                session.commit()
            session.refresh(ticket)
            session.expunge(ticket)
            return ticket

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A call of the service API as the action server makes it (bearer service token)."""
        headers = {"Authorization": f"Bearer {self.settings.service_token}", **kwargs.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kwargs)


@pytest.fixture(scope="session")
def seeded_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The migrated database with the three officers, made once (password hashing is slow on purpose)."""
    path = tmp_path_factory.mktemp("browser-template") / "seeded.db"
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    with database.session() as session:
        create_user(session, STAFF.supervisor_pu, "Sari Supervisor", PASSWORD, Role.SUPERVISOR, [UNIT_PU])
        create_user(session, STAFF.petugas_pu, "Putu Petugas", PASSWORD, Role.PETUGAS, [UNIT_PU])
        create_user(session, STAFF.petugas_dukcapil, "Dewi Dukcapil", PASSWORD, Role.PETUGAS, [UNIT_DUKCAPIL])
        session.commit()
    database.dispose()  # the last connection closing folds the WAL back into the file
    return path


@pytest.fixture
def service_settings(seeded_template: Path, fake_rasa: FakeRasa, tmp_path: Path) -> Settings:
    path = tmp_path / "service.db"
    shutil.copyfile(seeded_template, path)
    return Settings(
        database_url=f"sqlite:///{path}",
        rasa_url=fake_rasa.url,
        service_token=SERVICE_TOKEN,
        attachments_dir=tmp_path / "attachments",
        # Officers must be "on duty" whatever day and hour the suite runs (handoff is offered then only).
        office_hours="1-7 00:00-24:00",
        log_level="WARNING",
        delivery_poll_seconds=0.2,
    )


@pytest.fixture
def live(service_settings: Settings, fake_rasa: FakeRasa) -> Iterator[LiveService]:
    """The whole bot service on a free loopback port, with three officers."""
    database = Database(service_settings.database_url)
    app = create_app(service_settings, database)
    port = _free_port()
    with _ServerThread(app, port), httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as http:
        yield LiveService(f"http://127.0.0.1:{port}", service_settings, database, fake_rasa, http)
    database.dispose()


# --- the browser ------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/ensure_chromium.sh` (or set LAYANAN_CHROMIUM)")
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
    yield chromium
    chromium.close()


@dataclass
class PageWatch:
    """What a page did that a test must notice: JavaScript dialogs (XSS), uncaught script errors, and
    anything the Content-Security-Policy blocked (an inline script or style left in a template)."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


def new_context(browser: Browser, live: LiveService, viewport: dict[str, int] = DESKTOP) -> BrowserContext:
    context = browser.new_context(
        base_url=live.url,
        viewport=viewport,  # type: ignore[arg-type]
        locale="id-ID",
        timezone_id="Asia/Jakarta",
    )
    context.set_default_timeout(LIVE_TIMEOUT_MS)
    return context


def watch(page: Page) -> PageWatch:
    seen = PageWatch()

    def on_dialog(dialog: Dialog) -> None:
        seen.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            seen.blocked.append(message.text)

    page.on("console", on_console)
    return seen


@pytest.fixture
def context(browser: Browser, live: LiveService) -> Iterator[BrowserContext]:
    ctx = new_context(browser, live)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext, live: LiveService) -> Iterator[Page]:
    """A desktop page; any JS dialog, uncaught script error, CSP violation or request to another origin
    fails the test."""
    tab = context.new_page()
    seen = watch(tab)
    elsewhere: list[str] = []  # pages load only their own assets: no CDN, web font or analytics
    tab.on(
        "request",
        lambda request: None if is_same_origin(request.url, live.url) else elsewhere.append(request.url),
    )
    yield tab
    assert not seen.dialogs, f"unexpected JavaScript dialogs: {seen.dialogs}"
    assert not seen.errors, f"uncaught script errors: {seen.errors}"
    assert not seen.blocked, f"blocked by the Content-Security-Policy: {seen.blocked}"
    assert not elsewhere, f"requests to other origins: {elsewhere}"


def is_same_origin(url: str, base_url: str) -> bool:
    return url.startswith((base_url + "/", "data:", "blob:", "about:")) or url == base_url


def login(page: Page, username: str, password: str = PASSWORD) -> None:
    page.goto("/dashboard/masuk")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/dashboard/")


def screenshot(page: Page, name: str, full_page: bool = True, settle_ms: int = 0) -> None:
    """Save a screenshot for the README when LAYANAN_SCREENSHOTS=1 (pages show times and codes, which
    change every run, so the committed images are refreshed on purpose, not by every test run).
    `settle_ms`: let animations (Chart.js draws its charts in ~1 s) finish first."""
    if os.environ.get("LAYANAN_SCREENSHOTS") != "1":
        return
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    if settle_ms:
        page.wait_for_timeout(settle_ms)
    page.screenshot(path=str(SCREENSHOTS_DIR / f"{name}.png"), full_page=full_page)
