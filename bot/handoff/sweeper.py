"""Background task of the bot service: returns idle handoffs to the bot and tells the citizen.

Every `interval` seconds it ends the active handoffs without a message for `handoff_idle_minutes`. Each
end is a guarded UPDATE, so several replicas may sweep at once; the notice's key makes its message unique.
It runs as a `Periodic` job (bot/workers/pool.py): a failed round (a database outage) is logged and the next
one comes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from bot.db import Database, utcnow
from bot.gateway.gateway import Gateway
from bot.handoff.service import HandoffConfig, Notice, end_idle
from bot.workers.pool import Periodic

logger = logging.getLogger(__name__)
SWEEP_INTERVAL_SECONDS = 30.0


async def send_notices(gateway: Gateway, notices: list[Notice]) -> None:
    """Store the citizen's messages of committed changes (idempotent on each notice's key)."""
    for notice in notices:
        await gateway.notify(
            notice.channel,
            notice.sender_id,
            notice.text,
            notice.key,
            buttons=notice.buttons,
            payload=notice.payload or None,
        )


class HandoffSweeper:
    def __init__(
        self,
        database: Database,
        gateway: Gateway,
        config: HandoffConfig,
        *,
        interval: float = SWEEP_INTERVAL_SECONDS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.gateway = gateway
        self.config = config
        self.interval = interval
        self.clock = clock
        self._periodic = Periodic("handoff-sweeper", self._round, interval, first_delay=0.0)

    async def run_once(self) -> int:
        """One sweep; how many handoffs it ended."""
        notices = await asyncio.to_thread(self._end_idle)
        await send_notices(self.gateway, notices)
        return len(notices)

    def _end_idle(self) -> list[Notice]:
        with self.database.session() as session:
            return end_idle(session, self.config, now=self.clock())

    @property
    def running(self) -> bool:
        return self._periodic.running

    async def start(self) -> None:
        self._periodic.start()

    async def close(self) -> None:
        await self._periodic.close()

    async def _round(self) -> None:
        ended = await self.run_once()
        if ended:
            logger.info("handoff sweeper: %d idle conversation(s) returned to the bot", ended)
