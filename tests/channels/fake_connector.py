"""A messaging connector for the tests: records what it is asked to do, fails on demand.

It implements `connectors.base.Connector` without a platform behind it; the real connectors are tested
against fake platform APIs in their own suites.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.gateway.gateway import OutboundMessage
from connectors.base import Attachment, Connector, DownloadedFile, InboundEvent, StatusEvent


@dataclass(frozen=True)
class Sent:
    recipient_id: str
    message: OutboundMessage
    platform_ids: list[str]
    at: float  # time.monotonic() of the call


@dataclass
class FakeConnector:
    channel: str = "telegram"
    sent: list[Sent] = field(default_factory=list)
    # Raised, in order, by the next send() calls (each one is used once).
    failures: list[BaseException] = field(default_factory=list)
    send_calls: int = 0
    files: dict[str, bytes] = field(default_factory=dict)  # platform_file_id -> content
    downloads: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    parts_per_message: int = 1  # >1: each message is "split" into several platform messages
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def parse_webhook(self, body: dict[str, Any]) -> Sequence[InboundEvent | StatusEvent]:
        return list(body.get("events", []))

    async def send(self, recipient_id: str, message: OutboundMessage) -> list[str]:
        self.send_calls += 1
        if self.failures:
            raise self.failures.pop(0)
        ids = [f"{self.channel}-out-{next(self._ids)}" for _ in range(self.parts_per_message)]
        self.sent.append(Sent(recipient_id, message, ids, time.monotonic()))
        return ids

    async def download(self, attachment: Attachment, max_bytes: int) -> DownloadedFile:
        self.downloads.append(attachment.platform_file_id)
        content = self.files[attachment.platform_file_id]
        if len(content) > max_bytes:
            raise ValueError("file larger than allowed")
        return DownloadedFile(content=content, mime_type=attachment.mime_type, filename=attachment.filename)

    async def acknowledge(self, event: InboundEvent) -> None:
        self.acknowledged.append(event.platform_message_id)

    def texts(self, recipient_id: str | None = None) -> list[str]:
        return [s.message.text for s in self.sent if recipient_id is None or s.recipient_id == recipient_id]


def _conforms(connector: FakeConnector) -> Connector:
    return connector  # mypy/pyright: FakeConnector satisfies the Protocol
