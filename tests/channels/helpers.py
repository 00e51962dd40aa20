"""Helpers of the channel-pipeline tests: an inbox + delivery worker wired as the app wires them, events."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bot.conversations.models import Direction, Message
from bot.db import Database
from bot.gateway.delivery import Delivery, DeliveryConfig
from bot.gateway.gateway import Gateway
from bot.gateway.inbox import Inbox, InboxConfig
from bot.gateway.rasa_client import RasaClient
from bot.workers.owner import Owner
from connectors.base import Attachment, AttachmentKind, EventKind, InboundEvent
from tests.channels.fake_connector import FakeConnector
from tests.service.fake_rasa import FakeRasa

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@dataclass
class Pipeline:
    database: Database
    gateway: Gateway
    delivery: Delivery
    inbox: Inbox
    connector: FakeConnector
    rasa: FakeRasa
    attachments_dir: Path

    async def settle(self, timeout: float = 15.0) -> None:
        """Wait until everything accepted has been processed and every reply handed to the connector."""
        deadline = time.monotonic() + timeout
        while self.inbox._tasks or self.delivery._tasks:
            if time.monotonic() > deadline:
                raise TimeoutError("pipeline still busy")
            await self.inbox.drain(timeout)
            await self.delivery.drain(timeout)
            await asyncio.sleep(0)

    def rows(self, direction: Direction | None = None, sender_id: str | None = None) -> list[Message]:
        with self.database.session() as session:
            query = select(Message).order_by(Message.id)
            if direction is not None:
                query = query.where(Message.direction == direction)
            if sender_id is not None:
                query = query.where(Message.sender_id == sender_id)
            return list(session.scalars(query).all())


def make_pipeline(
    database: Database,
    rasa_http: httpx.AsyncClient,
    fake_rasa: FakeRasa,
    attachments_dir: Path,
    connector: FakeConnector,
    inbox_config: InboxConfig | None = None,
    delivery_config: DeliveryConfig | None = None,
    owner: Owner | None = None,
) -> Pipeline:
    connectors = {connector.channel: connector}
    gateway = Gateway(database, RasaClient(fake_rasa.url, rasa_http, 5.0), duplicate_wait_seconds=5.0)
    delivery = Delivery(
        database,
        connectors,
        delivery_config
        or DeliveryConfig(
            min_interval_seconds=0.0, backoff_seconds=0.05, poll_seconds=0.05, give_up_seconds=0.3
        ),
    )
    inbox = Inbox(
        database,
        gateway,
        delivery,
        connectors,
        inbox_config or InboxConfig(attachments_dir=attachments_dir, rate_limit=20, rate_window_seconds=60),
        owner,
    )
    return Pipeline(database, gateway, delivery, inbox, connector, fake_rasa, attachments_dir)


def event(
    text: str = "halo",
    message_id: str = "5550001:1",
    sender_id: str = "5550001",
    channel: str = "telegram",
    kind: EventKind = EventKind.MESSAGE,
    **fields: Any,
) -> InboundEvent:
    return InboundEvent(
        channel=channel,
        sender_id=sender_id,
        platform_message_id=message_id,
        kind=kind,
        text=text,
        received_at=fields.pop("received_at", datetime.now(timezone.utc)),
        **fields,
    )


def photo_event(file_id: str = "photo-1", message_id: str = "5550001:9", caption: str = "") -> InboundEvent:
    attachment = Attachment(kind=AttachmentKind.IMAGE, platform_file_id=file_id, mime_type="image/jpeg")
    return event(caption, message_id=message_id, attachments=(attachment,), raw_type="photo")
