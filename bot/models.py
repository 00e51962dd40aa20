"""Every table of the service, imported in one place so Alembic and the tests see the whole schema.

Add one import line per module that defines tables on `bot.db.Base`.
"""

from __future__ import annotations

from bot.catalogue import models as catalogue
from bot.conversations import models as conversations
from bot.handoff import models as handoff
from bot.media import models as media
from bot.modelops import models as modelops
from bot.modelops import training_models as training
from bot.staff import models as staff
from bot.survey import models as survey
from bot.tickets import models as tickets
from bot.webchat import models as webchat
from connectors import callback_store

__all__ = [
    "callback_store",
    "catalogue",
    "conversations",
    "handoff",
    "media",
    "modelops",
    "staff",
    "survey",
    "tickets",
    "training",
    "webchat",
]
