"""Fixtures of the channel-pipeline tests: the service tests' fake Rasa and migrated databases (every table
emptied for each test), a fake connector, and a pipeline wired as the app wires it (with short delays)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bot.db import Database
from tests.channels.fake_connector import FakeConnector
from tests.channels.helpers import Pipeline, make_pipeline
from tests.service import conftest as service_fixtures
from tests.service.fake_rasa import FakeRasa

# Fixtures shared with the service tests (fake Rasa on loopback, migrated SQLite and PostgreSQL databases).
fake_rasa_server = service_fixtures.fake_rasa_server
fake_rasa = service_fixtures.fake_rasa
rasa_http = service_fixtures.rasa_http
sqlite_template = service_fixtures.sqlite_template
sqlite_url = service_fixtures.sqlite_url
postgres_scratch = service_fixtures.postgres_scratch
postgres_migrated = service_fixtures.postgres_migrated

# Every table the pipeline writes (TRUNCATE ... CASCADE also empties whatever references them).
ALL_TABLES = (
    "conversations, messages, message_deliveries, media, tickets, ticket_consents, ticket_attachments, "
    "ticket_messages, ticket_audit"
)


@pytest.fixture
def postgres_url(postgres_migrated: str) -> str:
    """The session's migrated PostgreSQL database, emptied for this test."""
    engine = create_engine(postgres_migrated, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {ALL_TABLES} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return postgres_migrated


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    """A database migrated to head, empty: SQLite file and PostgreSQL."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    db = Database(url)
    yield db
    db.dispose()


@pytest.fixture
def connector() -> FakeConnector:
    return FakeConnector("telegram")


@pytest.fixture
async def pipeline(
    database: Database,
    rasa_http: httpx.AsyncClient,
    fake_rasa: FakeRasa,
    tmp_path: Path,
    connector: FakeConnector,
) -> AsyncIterator[Pipeline]:
    built = make_pipeline(database, rasa_http, fake_rasa, tmp_path / "attachments", connector)
    yield built
    await built.inbox.close()
    await built.delivery.close()
