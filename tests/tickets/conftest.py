"""Fixtures of the ticket tests: SQLite files and a scratch PostgreSQL database per session."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from ticket_helpers import create_ticket_tables, truncate_pg

from bot.db import Database
from bot.tickets.routing import load_routing
from bot.tickets.service import TicketConfig
from bot.tickets.sla import WorkingCalendar

# Admin URL of a PostgreSQL server with trust auth; a scratch database is created next to `test`.
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def ticket_config(tmp_path: Path) -> TicketConfig:
    return TicketConfig(
        routing=load_routing(),
        calendar=WorkingCalendar(),
        attachments_dir=tmp_path / "attachments",
        attachment_max_bytes=64 * 1024,
        attachment_max_per_ticket=3,
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tickets.db'}"


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of a scratch database `layanan_tickets_<random>`, dropped at the end of the session."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect means "no server here"
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {make_url(PG_ADMIN_URL).render_as_string()}: {exc}")
    name = f"layanan_tickets_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_tables(pg_server_url: str) -> str:
    database = Database(pg_server_url)
    create_ticket_tables(database)
    database.dispose()
    return pg_server_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[Database]:
    """A Database with the ticket tables, on SQLite (file) and on PostgreSQL."""
    if request.param == "sqlite":
        url = sqlite_url
    else:
        url = request.getfixturevalue("pg_tables")
        truncate_pg(url)
    db = Database(url)
    if request.param == "sqlite":
        create_ticket_tables(db)
    yield db
    db.dispose()
