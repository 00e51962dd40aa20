"""Fixtures of the dashboard tests: the whole service app on a migrated SQLite file (and PostgreSQL where a
test asks for it) with a fake Rasa, staff accounts of each role, tickets in two units, and a logged-in
client helper that knows the CSRF token."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.api.app import create_app
from bot.db import Database
from bot.settings import Settings
from bot.staff.accounts import create_user
from bot.staff.models import Role
from bot.tickets.models import Ticket
from bot.tickets.service import NewTicket, ReporterInfo, TicketConfig, create_ticket
from bot.tickets.vocab import Category
from tests.service import conftest as service_fixtures
from tests.service.fake_rasa import FakeRasa

fake_rasa_server = service_fixtures.fake_rasa_server
fake_rasa = service_fixtures.fake_rasa
sqlite_template = service_fixtures.sqlite_template
sqlite_url = service_fixtures.sqlite_url

PASSWORD = "kata-sandi-uji-123"
SERVICE_TOKEN = "token-layanan-uji-dashboard"
UNIT_PU = "Dinas Pekerjaan Umum dan Penataan Ruang"  # category infrastruktur
UNIT_DUKCAPIL = "Dinas Kependudukan dan Pencatatan Sipil"  # category kependudukan
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Staff:
    """One account of each kind: petugas of PU, petugas of Dukcapil, supervisor of PU, admin."""

    petugas_pu: str = "petugas.pu"
    petugas_dukcapil: str = "petugas.dukcapil"
    supervisor_pu: str = "supervisor.pu"
    admin: str = "admin"


@pytest.fixture
def settings(sqlite_url: str, fake_rasa: FakeRasa, tmp_path: Path) -> Settings:
    return Settings(
        database_url=sqlite_url,
        rasa_url=fake_rasa.url,
        service_token=SERVICE_TOKEN,
        attachments_dir=tmp_path / "attachments",
        login_max_failures=5,
        login_delay_seconds=30,  # the first delay outlasts any slow test step
    )


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    db = Database(settings.database_url)
    yield db
    db.dispose()


@pytest.fixture
def staff(database: Database) -> Staff:
    with database.session() as session:
        create_user(session, "petugas.pu", "Petugas PU", PASSWORD, Role.PETUGAS, [UNIT_PU])
        create_user(session, "petugas.dukcapil", "Petugas Dukcapil", PASSWORD, Role.PETUGAS, [UNIT_DUKCAPIL])
        create_user(session, "supervisor.pu", "Supervisor PU", PASSWORD, Role.SUPERVISOR, [UNIT_PU])
        create_user(session, "admin", "Admin Utama", PASSWORD, Role.ADMIN)
    return Staff()


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    return create_app(settings, database)


class Browser:
    """One visitor with its own cookie jar, over the app's single TestClient (one lifespan, one event loop:
    several TestClients would each start the app's background workers)."""

    def __init__(self, shared: TestClient) -> None:
        self._shared = shared
        self.cookies = httpx.Cookies()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        self._shared.cookies = self.cookies
        try:
            return self._shared.request(method, url, **kwargs)
        finally:
            self.cookies = self._shared.cookies
            self._shared.cookies = httpx.Cookies()

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def _service_auth(self) -> dict[str, str]:
        settings: Settings = self._shared.app.state.settings  # type: ignore[attr-defined]
        return {"Authorization": f"Bearer {settings.service_token}"}

    def chat(self, sender: str, text: str) -> httpx.Response:
        """A web-chat turn of a named sender, through the service-token relay (as an integration sends it)."""
        return self.post(
            "/api/v1/chat/relay", json={"sender": sender, "text": text}, headers=self._service_auth()
        )

    def chat_updates(self, sender: str, after: int = 0) -> httpx.Response:
        """The web-chat updates of a named sender, through the service-token relay."""
        return self.post(
            "/api/v1/chat/relay/updates",
            json={"sender": sender, "after": after},
            headers=self._service_auth(),
        )


@pytest.fixture
def test_client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def client_factory(test_client: TestClient) -> Callable[[], Browser]:
    """New visitors (each its own cookies) of the same running app."""
    return lambda: Browser(test_client)


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no csrf_token field"
    return match.group(1)


class StaffClient:
    """A TestClient logged in as one staff member; `post` adds the session's CSRF token."""

    def __init__(self, client: Browser, username: str) -> None:
        self.client = client
        self.username = username
        page = client.get("/dashboard/masuk")
        response = client.post(
            "/dashboard/masuk",
            data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        self.csrf = csrf_of(client.get("/dashboard/akun").text)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        return self.client.post(url, data={**(data or {}), "csrf_token": self.csrf}, **kwargs)


@pytest.fixture
def login(client_factory: Callable[[], Browser], staff: Staff) -> Callable[[str], StaffClient]:
    return lambda username: StaffClient(client_factory(), username)


_keys = count(1)


@pytest.fixture
def make_ticket(database: Database, settings: Settings) -> Callable[..., Ticket]:
    """File a ticket through the real service (category decides the unit). Keyword arguments go to
    NewTicket; `sender_id`/`channel` set the reporter."""
    config = TicketConfig.from_settings(settings)

    def make(
        category: Category = Category.INFRASTRUKTUR,
        description: str = "Jalan berlubang besar di depan SDN 3, sudah dua minggu belum diperbaiki.",
        channel: str = "web",
        sender_id: str = "warga-1",
        **fields: object,
    ) -> Ticket:
        reporter = ReporterInfo(channel=channel, sender_id=sender_id, name=fields.pop("name", "Budi Santoso"))  # type: ignore[arg-type]
        new = NewTicket(category=category, description=description, reporter=reporter, **fields)  # type: ignore[arg-type]
        with database.session() as session:
            ticket, _ = create_ticket(session, new, f"test-{next(_keys):04d}", config=config)
            return ticket

    return make
