"""Owned, heart-beaten claims: when a worker may take over a row another one claimed.

A worker claims a row (one guarded UPDATE) with its owner (bot/workers/owner.py) and the time; while it
works, its component's heartbeat renews that time every `heartbeat_seconds`. Another worker takes the row
over when its owner is known to be gone (same host, process dead: at once, e.g. at a restart after a crash),
or silent for `stale_seconds` (another host, a hung process). A row claimed under our own owner that a
worker of ours finds is one we left behind (a hand-back that could not be written): ours to take again,
because one key is worked by one worker per process.

Transient database errors (the server restarting, a dropped connection) are told apart from the rest: work
that meets one is handed back and retried, never marked failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from bot.workers.owner import Owner, current_owner


@dataclass(frozen=True)
class ClaimPolicy:
    owner: Owner = field(default_factory=current_owner)
    heartbeat_seconds: float = 5.0
    stale_seconds: float = 20.0

    @property
    def name(self) -> str:
        return str(self.owner)

    def may_take_over(self, claimed_by: str | None, renewed_at: datetime | None, now: datetime) -> bool:
        """Whether a claim by `claimed_by`, last renewed at `renewed_at`, may be taken by our worker."""
        if claimed_by == self.name:
            return True
        holder = Owner.parse(claimed_by)
        if holder is not None and holder.is_gone(self.owner):
            return True
        return renewed_at is None or now - renewed_at >= timedelta(seconds=self.stale_seconds)


def is_transient(error: BaseException) -> bool:
    """A database error that may pass: the server is down or restarting, the connection was lost."""
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)
