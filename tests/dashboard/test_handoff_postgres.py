"""The handoff's races on PostgreSQL (production's database): concurrent requests of one citizen create
one handoff, concurrent take-overs have one winner."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.db import Database
from bot.handoff.models import Handoff
from bot.handoff.service import HandoffConfig, HandoffConflict, request_handoff, take_over
from bot.settings import Settings
from bot.staff.accounts import create_user
from bot.staff.models import Role
from bot.staff.principal import StaffPrincipal
from tests.service.conftest import postgres_migrated, postgres_scratch, postgres_url

__all__ = ["postgres_migrated", "postgres_scratch", "postgres_url"]

pytestmark = pytest.mark.postgres
MONDAY_10_WIB = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    yield database
    database.dispose()


@pytest.fixture
def config() -> HandoffConfig:
    return HandoffConfig.from_settings(Settings())


def in_parallel(count: int, work: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as error:  # kept to assert on
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_requests_create_one_handoff(pg: Database, config: HandoffConfig) -> None:
    sender = f"pg-{uuid.uuid4().hex[:8]}"

    def ask(_: int) -> tuple[int, bool]:
        with pg.session() as session:
            outcome = request_handoff(session, "web", sender, "request_human", config, now=MONDAY_10_WIB)
            return outcome.handoff.id, outcome.created

    results = in_parallel(4, ask)
    assert all(isinstance(result, tuple) for result in results), results
    assert len({handoff_id for handoff_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with pg.session() as session:
        assert session.scalar(select(func.count(Handoff.id))) == 1


def test_concurrent_take_overs_have_one_winner(pg: Database, config: HandoffConfig) -> None:
    suffix = uuid.uuid4().hex[:6]
    with pg.session() as session:
        handoff_id = request_handoff(
            session, "web", f"pg-{suffix}", "request_human", config, now=MONDAY_10_WIB
        ).handoff.id
        officers = [
            StaffPrincipal.of(
                create_user(
                    session,
                    f"pg.{n}.{suffix}",
                    f"Petugas {n}",
                    "kata-sandi-uji-123",
                    Role.PETUGAS,
                    [config.default_unit],
                )
            )
            for n in range(3)
        ]

    def take(index: int) -> str:
        with pg.session() as session:
            take_over(session, officers[index], handoff_id, now=MONDAY_10_WIB)
            return officers[index].username

    results = in_parallel(3, take)
    winners = [r for r in results if isinstance(r, str)]
    assert len(winners) == 1
    assert all(isinstance(r, HandoffConflict) for r in results if not isinstance(r, str))
    with pg.session() as session:
        row = session.get_one(Handoff, handoff_id)
        assert row.status == "aktif" and row.officer_id == next(
            o.id for o in officers if o.username == winners[0]
        )
