"""Numbered menus on WhatsApp: a reply that is just a number picks that option of the last menu shown.

A bot message with more buttons than a WhatsApp list holds (10) is sent as text ending in a numbered menu
(connectors/whatsapp_render.py). When the citizen answers "3", the connector gives the bot the payload of
option 3 instead of the text "3".

Where the menu is kept: nowhere extra. The bot message itself is a stored row of `messages` (with its
buttons in the payload), so the menu is read back from the bot's messages shown to the citizen (status
sent, delivered or read) since the citizen's previous message: the latest of them that has a numbered menu.
That survives restarts, works on every replica behind a load balancer, and needs no table of its own.
A later message of the same turn does not hide the menu (the complaint form sends the menu, then asks its
question again below it); once the citizen has written anything else, "3" is just the text "3".
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bot.conversations import repository
from bot.conversations.models import Direction, Message, OutboundStatus
from bot.db import Database
from bot.gateway.gateway import outbound_message
from connectors.whatsapp_render import MAX_LIST_ROWS, menu_payloads

# Statuses of a message the citizen has (or may have) on their screen.
SHOWN = (OutboundStatus.SENT, OutboundStatus.DELIVERED, OutboundStatus.READ)
# The bot's messages since the citizen's previous one that are searched for a menu.
MAX_MESSAGES_PER_TURN = 20
_NUMBER = re.compile(r"^\s*(\d{1,3})\s*[.)]?\s*$")


def chosen_number(text: str) -> int | None:
    """The number a reply consists of ("3", " 3. ", "12)"), or None for any other text."""
    match = _NUMBER.match(text)
    return int(match.group(1)) if match else None


class NumberedMenus:
    """Reads the option behind a number from the stored messages. Blocking: call it from a worker thread."""

    def __init__(self, database: Database, channel: str = "whatsapp") -> None:
        self.database = database
        self.channel = channel

    def option(self, sender_id: str, number: int) -> str | None:
        """The payload of option `number` of the numbered menu the citizen is answering, or None."""
        with self.database.session() as session:
            conversation = repository.find_conversation(session, self.channel, sender_id)
            if conversation is None:
                return None
            # The citizen's previous message (the one being parsed is not stored yet).
            previous = session.scalar(
                select(func.max(Message.id)).where(
                    Message.conversation_id == conversation.id, Message.direction == Direction.IN
                )
            )
            shown_since = session.scalars(
                select(Message)
                .where(
                    Message.conversation_id == conversation.id,
                    Message.direction == Direction.OUT,
                    Message.status.in_([status.value for status in SHOWN]),
                    Message.id > (previous or 0),
                )
                .order_by(Message.id.desc())
                .limit(MAX_MESSAGES_PER_TURN)
            ).all()
            menus = (menu_payloads(outbound_message(message)) for message in shown_since)
            payloads = next((menu for menu in menus if len(menu) > MAX_LIST_ROWS), None)
        if payloads is None or not 1 <= number <= len(payloads):
            return None
        return payloads[number - 1]
