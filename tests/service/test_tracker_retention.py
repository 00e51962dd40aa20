"""Retention of Rasa's tracker store (bot/tracker_retention.py): events older than the retention are
deleted from a real `events` table with Rasa's schema, on SQLite and on PostgreSQL; newer ones, and other
conversations' newer ones, stay. The CLI command and the service's periodic task do the same."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from bot.cli import main
from bot.settings import Settings, get_settings
from bot.tracker_retention import TrackerPruner, prune_tracker_store, tracker_database_url
from tests.service.rasa_events import events, metadata, user_event

# Events are dated relative to the real clock, which is what the CLI prunes against.
NOW = datetime.now(timezone.utc)
DAY = 86400.0


def _seed(engine: Engine) -> None:
    metadata.create_all(engine)
    now = NOW.timestamp()
    rows = [
        user_event("web:lama", now - 200 * DAY, "NIK saya 3201********0001, KTP belum jadi"),
        user_event("web:lama", now - 91 * DAY, "halo"),
        user_event("web:aktif", now - 120 * DAY, "lapor jalan rusak"),
        user_event("web:aktif", now - 89 * DAY, "cek status"),
        user_event("web:aktif", now - 1 * DAY, "terima kasih"),
        {**user_event("web:tanpa-waktu", now, "x"), "timestamp": None},
    ]
    with engine.begin() as connection:
        connection.execute(events.insert(), rows)


def _remaining(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(events.c.sender_id, events.c.data).order_by(events.c.id))
        return [(sender, data.split('"text": "')[1].split('"')[0]) for sender, data in rows]


KEPT = [("web:aktif", "cek status"), ("web:aktif", "terima kasih"), ("web:tanpa-waktu", "x")]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def tracker_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """RASA_TRACKER_URL of a tracker store with Rasa's `events` table and old and new events."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'rasa_tracker.db'}"
    else:
        scratch: Callable[[], str] = request.getfixturevalue("postgres_scratch")
        # As an operator writes it for Rasa (scripts/run.py): plain postgresql://, no driver.
        url = make_url(scratch()).set(drivername="postgresql").render_as_string(hide_password=False)
    engine = sa.create_engine(tracker_database_url(url), poolclass=NullPool)
    _seed(engine)
    engine.dispose()
    yield url


def _engine(url: str) -> Engine:
    return sa.create_engine(tracker_database_url(url), poolclass=NullPool)


def test_events_older_than_the_retention_are_deleted_in_batches(tracker_url: str) -> None:
    deleted = prune_tracker_store(tracker_url, 90, now=NOW, batch_size=2)  # 3 old events: two batches

    assert deleted == 3
    engine = _engine(tracker_url)
    assert _remaining(engine) == KEPT
    engine.dispose()
    assert prune_tracker_store(tracker_url, 90, now=NOW) == 0  # nothing more to do


def test_zero_days_keeps_everything(tracker_url: str) -> None:
    assert prune_tracker_store(tracker_url, 0, now=NOW) == 0
    engine = _engine(tracker_url)
    assert len(_remaining(engine)) == 6
    engine.dispose()


def test_a_missing_tracker_database_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "belum-ada.db"
    assert prune_tracker_store(f"sqlite:///{path}", 90, now=NOW) == 0
    assert not path.exists()


def test_the_cli_prunes_with_the_configured_retention(
    tracker_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RASA_TRACKER_URL", tracker_url)
    monkeypatch.setenv("RASA_TRACKER_RETENTION_DAYS", "100")
    get_settings.cache_clear()
    try:
        assert main(["privacy", "prune-trackers"]) == 0
    finally:
        get_settings.cache_clear()

    engine = _engine(tracker_url)
    assert _remaining(engine) == [("web:lama", "halo"), *KEPT]  # 91 days old stays at 100 days
    engine.dispose()
    assert "2 event(s) older than 100 days deleted" in capsys.readouterr().out


async def test_the_service_task_prunes_with_its_settings(tracker_url: str) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        rasa_tracker_url=tracker_url,
        rasa_tracker_retention_days=90,
    )
    pruner = TrackerPruner(settings, clock=lambda: NOW)

    assert pruner.enabled
    assert await pruner.run_once() == 3
    engine = _engine(tracker_url)
    assert _remaining(engine) == KEPT
    engine.dispose()
