"""Every table of the service, imported in one place so Alembic and the tests see the whole schema.

Add one import line per module that defines tables on `bot.db.Base`.
"""

from __future__ import annotations

from bot.conversations import models as conversations
from bot.tickets import models as tickets

__all__ = ["conversations", "tickets"]
