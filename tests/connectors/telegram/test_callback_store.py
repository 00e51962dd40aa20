"""Short callback ids: under 64 bytes, stable, shared by replicas, safe under concurrency; migration 0004."""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, func, inspect, select
from sqlalchemy.pool import NullPool

import bot.models  # noqa: F401  the full metadata
from bot import migrations
from bot.db import Base, Database
from connectors.callback_store import ID_LENGTH, CallbackPayload, CallbackStore, is_short_id, short_id


def test_ids_are_short_stable_and_distinct() -> None:
    long_payload = "/inform" + '{"detail":"' + "x" * 500 + '"}'
    assert ID_LENGTH == 18 and len(short_id(long_payload).encode()) == 18
    assert short_id("/affirm") == short_id("/affirm") != short_id("/deny")
    assert is_short_id(short_id("/affirm"))
    assert not is_short_id("/affirm") and not is_short_id("p:short")


def test_register_and_resolve_across_replicas(database: Database) -> None:
    marker = secrets.token_hex(4)
    payloads = [f'/inform{{"category":"infrastruktur","run":"{marker}"}}', f"lewati-{marker}", "é" * 40]
    ids = CallbackStore(database).register(payloads)
    assert all(len(i.encode()) <= 64 for i in ids)
    replica = CallbackStore(database)  # another process: nothing cached
    assert [replica.resolve(i) for i in ids] == payloads
    assert replica.resolve(short_id(f"never-{marker}")) is None
    assert replica.resolve("/affirm") == "/affirm"  # literal data from older buttons


def test_concurrent_registration_of_the_same_payloads(database: Database) -> None:
    marker = secrets.token_hex(4)
    payloads = [f"/payload-{marker}-{n}" for n in range(5)]

    def register(_: int) -> list[str]:
        return CallbackStore(database).register(payloads)

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(register, range(6)))
    assert all(result == results[0] for result in results)
    with database.session() as session:
        stored = session.scalar(
            select(func.count()).select_from(CallbackPayload).where(CallbackPayload.id.in_(results[0]))
        )
    assert stored == 5


def test_migration_0004_matches_the_model_and_downgrades(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrations.upgrade(url)
    engine = create_engine(url, poolclass=NullPool)
    try:
        assert "callback_payloads" in inspect(engine).get_table_names()
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "include_object": lambda obj, name, type_, *_: (
                        (name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None))
                        == "callback_payloads"
                    ),
                },
            )
            assert compare_metadata(context, Base.metadata) == []
        migrations.downgrade(url, "0003")
        assert "callback_payloads" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
