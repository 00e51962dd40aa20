"""Migration 0002 builds exactly the schema of the models, with the audit guard, on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from ticket_helpers import TICKET_TABLES

import bot.models  # noqa: F401  every table, as Alembic sees them
from bot import migrations
from bot.db import Base, Database
from bot.tickets import service
from bot.tickets.service import NewTicket, ReporterInfo, TicketConfig
from bot.tickets.vocab import Category

TICKET_TABLE_NAMES = {table.name for table in TICKET_TABLES}


def _touches_ticket_tables(diff: Any) -> bool:
    for item in diff if isinstance(diff, list) else [diff]:
        for part in item:
            name = getattr(part, "name", None)
            table = getattr(part, "table", None)
            if name in TICKET_TABLE_NAMES or getattr(table, "name", None) in TICKET_TABLE_NAMES:
                return True
            if isinstance(part, str) and part in TICKET_TABLE_NAMES:
                return True
    return False


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    server = make_url(request.getfixturevalue("pg_server_url"))
    name = f"layanan_tickets_mig_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_matches_models_and_guards_audit(empty_url: str, ticket_config: TicketConfig) -> None:
    migrations.upgrade(empty_url)
    engine = create_engine(empty_url)
    try:
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) >= TICKET_TABLE_NAMES
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = [d for d in compare_metadata(context, Base.metadata) if _touches_ticket_tables(d)]
        assert diffs == []
    finally:
        engine.dispose()

    database = Database(empty_url)
    try:
        with database.session() as session:
            new = NewTicket(Category.SOSIAL, "Bantuan sosial belum cair.", ReporterInfo("web", "u1"))
            ticket, created = service.create_ticket(session, new, "migrated-0001", config=ticket_config)
            assert created and ticket.unit == "Dinas Sosial"
        with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
            conn.execute(text("DELETE FROM ticket_audit"))
    finally:
        database.dispose()

    migrations.downgrade(empty_url, "0001")
    engine = create_engine(empty_url)
    try:
        with engine.connect() as conn:
            assert not TICKET_TABLE_NAMES & set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    migrations.upgrade(empty_url)  # and back up again: the downgrade left nothing behind
