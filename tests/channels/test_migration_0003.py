"""Migration 0003 builds exactly the models' schema and is reversible, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

import bot.models  # noqa: F401  the full metadata, as Alembic sees it
from bot import migrations
from bot.db import Base

TABLES = {"conversations", "messages", "message_deliveries", "media"}
NEW_COLUMNS = {"attempts", "claimed_at", "next_attempt_at", "status_reason", "sent_at"}


def _own_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table in TABLES


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        scratch: Callable[[], str] = request.getfixturevalue("postgres_scratch")
        yield scratch()


def _execute(url: str, *statements: str) -> list[Any]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            return [connection.execute(text(statement)) for statement in statements]
    finally:
        engine.dispose()


def _scalar_rows(url: str, statement: str) -> list[Any]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(statement)).all())
    finally:
        engine.dispose()


INSERT_CONVERSATION = (
    "INSERT INTO conversations (id, channel, sender_id, created_at) VALUES (1, 'telegram', '555', "
    "CURRENT_TIMESTAMP)"
)


def _insert_message(message_id: int, direction: str, status: str) -> str:
    return (
        "INSERT INTO messages (id, conversation_id, direction, channel, sender_id, text, status, created_at) "
        f"VALUES ({message_id}, 1, '{direction}', 'telegram', '555', 'x', '{status}', CURRENT_TIMESTAMP)"
    )


def test_upgrade_matches_the_models_and_downgrade_restores_0002(empty_url: str) -> None:
    migrations.upgrade(empty_url)
    engine = create_engine(empty_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            assert set(inspector.get_table_names()) >= TABLES
            assert {c["name"] for c in inspector.get_columns("messages")} >= NEW_COLUMNS
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": _own_object}
            )
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()

    # The new states are allowed now, and only for their direction.
    _execute(
        empty_url,
        INSERT_CONVERSATION,
        _insert_message(1, "in", "skipped"),
        _insert_message(2, "in", "processing"),
        _insert_message(3, "out", "needs_template"),
        _insert_message(4, "out", "sending"),
    )
    with pytest.raises(IntegrityError):
        _execute(empty_url, _insert_message(5, "out", "skipped"))

    migrations.downgrade(empty_url, "0002")
    engine = create_engine(empty_url, poolclass=NullPool)
    try:
        inspector = inspect(engine)
        assert not {"message_deliveries", "media"} & set(inspector.get_table_names())
        assert not NEW_COLUMNS & {c["name"] for c in inspector.get_columns("messages")}
    finally:
        engine.dispose()
    # Rows in the new states were mapped to the nearest old ones, so the old check constraint holds.
    statuses = _scalar_rows(empty_url, "SELECT id, status FROM messages ORDER BY id")
    assert statuses == [(1, "processed"), (2, "received"), (3, "failed"), (4, "queued")]
    with pytest.raises(IntegrityError):
        _execute(empty_url, _insert_message(6, "in", "skipped"))

    migrations.upgrade(empty_url)  # and up again: the downgrade left nothing behind
    engine = create_engine(empty_url, poolclass=NullPool)
    try:
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()
