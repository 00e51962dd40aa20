"""The endpoints.yml that `make run` writes builds a working SQL tracker store through Rasa's own factory.

Rasa falls back to an in-memory store when it cannot build the configured one, so the tests check the class
and the database the store really talks to, and store and read back a conversation.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADMIN_DSNS = ("host=127.0.0.1 port=5432 user=postgres dbname=test", "host=127.0.0.1 port=5432 dbname=test")


def _tracker_store_yaml(url: str) -> str:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from run import tracker_store_yaml
    finally:
        sys.path.pop(0)
    return tracker_store_yaml(url)


def _admin_connection():  # type: ignore[no-untyped-def]
    psycopg2 = pytest.importorskip("psycopg2")
    for dsn in ADMIN_DSNS:
        try:
            connection = psycopg2.connect(dsn, connect_timeout=3)
        except psycopg2.OperationalError:
            continue
        connection.autocommit = True
        return connection
    pytest.skip("no PostgreSQL on 127.0.0.1:5432")


@pytest.fixture
def postgres_database() -> Iterator[tuple[str, str]]:
    """A scratch database: (its name, the admin user)."""
    connection = _admin_connection()
    name = f"rasa_tracker_{secrets.token_hex(4)}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        user = cursor.fetchone()[0]
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name, user
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.close()


def _store_from_endpoints(path: Path):  # type: ignore[no-untyped-def]
    from rasa.core.tracker_store import TrackerStore
    from rasa.utils.endpoints import read_endpoint_config

    return TrackerStore.create(read_endpoint_config(str(path), "tracker_store"))


def _round_trip(store) -> list[str]:  # type: ignore[no-untyped-def]
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker = DialogueStateTracker.from_events(
        "warga-1", [ActionExecuted("action_listen"), UserUttered("syarat ktp el apa saja")]
    )

    async def run() -> list[str]:
        await store.save(tracker)
        loaded = await store.retrieve("warga-1")
        return [event.text for event in loaded.events if isinstance(event, UserUttered)]

    return asyncio.run(run())


def test_postgresql_tracker_store_is_built_by_rasa(
    tmp_path: Path, postgres_database: tuple[str, str]
) -> None:
    from rasa.core.tracker_store import SQLTrackerStore

    name, user = postgres_database
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(_tracker_store_yaml(f"postgresql://{user}@127.0.0.1:5432/{name}"))

    store = _store_from_endpoints(endpoints)

    assert isinstance(store, SQLTrackerStore)  # not Rasa's in-memory fallback
    url = store.engine.url
    assert (url.drivername, url.host, url.port, url.database) == ("postgresql", "127.0.0.1", 5432, name)
    assert _round_trip(store) == ["syarat ktp el apa saja"]


def test_sqlite_tracker_store_is_built_by_rasa(tmp_path: Path) -> None:
    from rasa.core.tracker_store import SQLTrackerStore

    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(_tracker_store_yaml(f"sqlite:///{tmp_path / 'tracker.db'}"))

    store = _store_from_endpoints(endpoints)

    assert isinstance(store, SQLTrackerStore)
    assert store.engine.url.database == str(tmp_path / "tracker.db")
    assert _round_trip(store) == ["syarat ktp el apa saja"]
