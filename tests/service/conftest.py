"""Fixtures of the service tests: a fake Rasa on loopback, migrated SQLite and PostgreSQL databases."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from bot import log_masking, migrations
from bot.db import Database
from bot.gateway.gateway import Gateway
from bot.gateway.rasa_client import RasaClient
from tests.service.fake_rasa import FakeRasa, FakeRasaServer

# Candidates for an admin connection (trust auth); TEST_POSTGRES_URL overrides them.
PG_ADMIN_URLS = (
    [os.environ["TEST_POSTGRES_URL"]]
    if os.environ.get("TEST_POSTGRES_URL")
    else [
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        "postgresql+psycopg://root@127.0.0.1:5432/test",
    ]
)


# --- Rasa ---


@pytest.fixture(scope="session")
def fake_rasa_server() -> Iterator[FakeRasa]:
    with FakeRasaServer() as fake:
        yield fake


@pytest.fixture
def fake_rasa(fake_rasa_server: FakeRasa) -> Iterator[FakeRasa]:
    fake_rasa_server.reset()
    yield fake_rasa_server
    fake_rasa_server.reset()


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nobody listens on: connecting is refused at once (Rasa down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- databases ---


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrations.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "service.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


def _admin_engine() -> tuple[Engine, str] | None:
    for url in PG_ADMIN_URLS:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return engine, url
        except Exception:  # any failure to connect means "not with this user"
            engine.dispose()
    return None


@pytest.fixture(scope="session")
def postgres_scratch() -> Iterator[Callable[[], str]]:
    """A factory of scratch databases `layanan_test_<random>`, all dropped at the end of the session."""
    admin = _admin_engine()
    if admin is None:
        pytest.skip(f"PostgreSQL not reachable (tried {', '.join(PG_ADMIN_URLS)}); set TEST_POSTGRES_URL")
    engine, admin_url = admin
    created: list[str] = []

    def create() -> str:
        name = f"layanan_test_{secrets.token_hex(5)}"
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    yield create
    with engine.connect() as connection:
        for name in created:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_migrated(postgres_scratch: Callable[[], str]) -> str:
    url = postgres_scratch()
    migrations.upgrade(url)
    return url


@pytest.fixture
def postgres_url(postgres_migrated: str) -> str:
    """The session's migrated PostgreSQL database, emptied for this test."""
    engine = create_engine(postgres_migrated, poolclass=NullPool)
    with engine.begin() as connection:
        # CASCADE also empties any table that references these.
        connection.execute(
            text("TRUNCATE conversations, messages, webchat_sessions RESTART IDENTITY CASCADE")
        )
    engine.dispose()
    return postgres_migrated


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    """A migrated, empty database: SQLite file and PostgreSQL."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    db = Database(url)
    yield db
    db.dispose()


@pytest.fixture
def sqlite_database(sqlite_url: str) -> Iterator[Database]:
    db = Database(sqlite_url)
    yield db
    db.dispose()


# --- gateway ---


@pytest.fixture
async def rasa_http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


@pytest.fixture
def make_gateway(
    database: Database, rasa_http: httpx.AsyncClient, fake_rasa: FakeRasa
) -> Callable[..., Gateway]:
    def make(rasa_url: str | None = None, timeout: float = 5.0, duplicate_wait: float = 5.0) -> Gateway:
        rasa = RasaClient(rasa_url or fake_rasa.url, rasa_http, timeout)
        return Gateway(database, rasa, duplicate_wait_seconds=duplicate_wait)

    return make


@pytest.fixture
def gateway(make_gateway: Callable[..., Gateway]) -> Gateway:
    return make_gateway()


# --- logging ---


@pytest.fixture
def fresh_log_masking() -> Iterator[None]:
    """Log records as before any entry point ran, so a test shows that the entry point installs the masking
    (it is process-wide: the first create_app of the session installs it for every later test)."""
    previous_factory = logging.getLogRecordFactory()
    previous_state = log_masking._installed, log_masking._key
    logging.setLogRecordFactory(logging.LogRecord)
    log_masking._installed = False
    yield
    logging.setLogRecordFactory(previous_factory)
    log_masking._installed, log_masking._key = previous_state
