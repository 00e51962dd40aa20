"""Gateway turn interceptor: while an officer holds a citizen's conversation, the bot stays silent.

The citizen's message is stored by the gateway as usual (the officer's page shows it), is not sent to
Rasa, and restarts the handoff's idle clock. A waiting request does not silence the bot: the citizen can
keep asking it things until an officer takes over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from bot.db import Database, utcnow
from bot.gateway.gateway import InboundTurn, Interception
from bot.handoff.service import touch_active

REASON = "handoff"


class HandoffInterceptor:
    def __init__(self, database: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.database = database
        self.clock = clock

    async def intercept(self, turn: InboundTurn) -> Interception | None:
        handoff_id = await asyncio.to_thread(self._touch, turn.channel, turn.sender_id)
        if handoff_id is None:
            return None
        return Interception(replies=[], reason=REASON)

    def _touch(self, channel: str, sender_id: str) -> int | None:
        with self.database.session() as session:
            return touch_active(session, channel, sender_id, self.clock())
