"""Alembic migrations: `upgrade head` builds the schema the models describe, `downgrade base` removes it.

Run on an empty SQLite file and on a scratch PostgreSQL database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

import bot.models  # noqa: F401  the full metadata, as env.py sees it
from bot import migrations
from bot.db import Base
from bot.settings import PROJECT_ROOT

OWN_TABLES = {"conversations", "messages"}


def _own_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table in OWN_TABLES


def schema_differences(url: str) -> list[Any]:
    """Differences between the migrated database and the models, for the tables of revision 0001."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": _own_object}
            )
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def check_round_trip(url: str) -> None:
    migrations.upgrade(url)
    engine = create_engine(url, poolclass=NullPool)
    try:
        inspector = inspect(engine)
        assert set(inspector.get_table_names()) >= OWN_TABLES
        assert {c["name"] for c in inspector.get_unique_constraints("messages")} == {"uq_messages_channel"}
        assert {c["name"] for c in inspector.get_unique_constraints("conversations")} == {
            "uq_conversations_channel"
        }
        assert [fk["referred_table"] for fk in inspector.get_foreign_keys("messages")] in (
            ["conversations", "messages"],
            ["messages", "conversations"],
        )
    finally:
        engine.dispose()
    assert schema_differences(url) == []

    migrations.downgrade(url, "base")
    engine = create_engine(url, poolclass=NullPool)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_and_downgrade_on_an_empty_sqlite_file(tmp_path: Path) -> None:
    check_round_trip(f"sqlite:///{tmp_path / 'empty.db'}")


@pytest.mark.postgres
def test_upgrade_and_downgrade_on_postgresql(postgres_scratch: Callable[[], str]) -> None:
    check_round_trip(postgres_scratch())


def test_bot_db_upgrade_command_migrates_the_configured_database(tmp_path: Path) -> None:
    database = tmp_path / "var" / "cli.db"  # the directory does not exist yet
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "PYTHONPATH": str(PROJECT_ROOT)}

    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "upgrade"],
        cwd=tmp_path,  # not the project root: the command must find alembic.ini itself
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    engine = create_engine(f"sqlite:///{database}", poolclass=NullPool)
    try:
        assert set(inspect(engine).get_table_names()) >= OWN_TABLES
    finally:
        engine.dispose()
