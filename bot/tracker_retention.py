"""Retention of Rasa's tracker store: events older than RASA_TRACKER_RETENTION_DAYS are deleted.

Rasa keeps every conversation event (each message text, slot and action) forever in its SQL tracker store,
table `events` (columns id, sender_id, type_name, timestamp as Unix seconds, intent_name, action_name,
data), on SQLite (var/rasa_tracker.db, the default of scripts/run.py) or PostgreSQL (RASA_TRACKER_URL).
`prune_events` deletes the old ones in small batches so that a running Rasa is never locked out for long;
the service runs it every RASA_TRACKER_PRUNE_INTERVAL_HOURS (`TrackerPruner`), and
`bot privacy prune-trackers` runs it once. A conversation still going on keeps its recent events; Rasa
rebuilds its tracker from whatever events remain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from bot.db import utcnow
from bot.settings import PROJECT_ROOT, Settings

logger = logging.getLogger(__name__)

DEFAULT_TRACKER_DB = PROJECT_ROOT / "var" / "rasa_tracker.db"
BATCH_SIZE = 5000
_EVENTS = sa.table("events", sa.column("id", sa.Integer), sa.column("timestamp", sa.Float))


def tracker_database_url(url: str, default_sqlite: Path = DEFAULT_TRACKER_DB) -> str:
    """SQLAlchemy URL of the tracker store from RASA_TRACKER_URL (empty = the default SQLite file);
    `postgresql://` gets the service's psycopg 3 driver."""
    if not url:
        return f"sqlite:///{default_sqlite}"
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_missing(url: str) -> bool:
    parsed = make_url(url)
    database = parsed.database or ""
    return (
        parsed.get_backend_name() == "sqlite"
        and database not in ("", ":memory:")
        and not Path(database).exists()
    )


def prune_events(engine: Engine, older_than: datetime, batch_size: int = BATCH_SIZE) -> int:
    """Delete the events whose timestamp is before `older_than`; how many were deleted. A store without an
    `events` table (Rasa never ran) has nothing to delete."""
    if not sa.inspect(engine).has_table("events"):
        return 0
    cutoff = older_than.timestamp()
    oldest = (
        sa.select(_EVENTS.c.id)
        .where(_EVENTS.c.timestamp < cutoff)
        .order_by(_EVENTS.c.id)
        .limit(batch_size)
        .scalar_subquery()
    )
    deleted = 0
    while True:
        with engine.begin() as connection:  # one short transaction per batch
            count = connection.execute(sa.delete(_EVENTS).where(_EVENTS.c.id.in_(oldest))).rowcount
        deleted += count
        if count < batch_size:
            return deleted


def prune_tracker_store(
    url: str, retention_days: int, now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> int:
    """Prune the tracker store at `url` (RASA_TRACKER_URL form) to `retention_days`; 0 days = keep all."""
    if retention_days <= 0:
        return 0
    database_url = tracker_database_url(url)
    if _sqlite_missing(database_url):
        return 0  # never create an empty tracker database
    engine = sa.create_engine(database_url, poolclass=NullPool)
    try:
        return prune_events(engine, (now or utcnow()) - timedelta(days=retention_days), batch_size)
    finally:
        engine.dispose()


class TrackerPruner:
    """Background task of the service: prunes the tracker store now and then every `interval_hours`."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utcnow) -> None:
        self.url = settings.rasa_tracker_url
        self.retention_days = settings.rasa_tracker_retention_days
        self.interval_seconds = settings.rasa_tracker_prune_interval_hours * 3600
        self.clock = clock
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self.retention_days > 0 and self.interval_seconds > 0

    async def run_once(self) -> int:
        try:
            deleted = await asyncio.to_thread(
                prune_tracker_store, self.url, self.retention_days, self.clock()
            )
        except SQLAlchemyError as error:
            logger.warning("tracker store not pruned: %s", type(error).__name__)
            return 0
        if deleted:
            logger.info("tracker store: %d event(s) older than %d days deleted", deleted, self.retention_days)
        return deleted

    async def _loop(self) -> None:
        while True:
            await self.run_once()
            await asyncio.sleep(self.interval_seconds)

    async def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._loop())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
