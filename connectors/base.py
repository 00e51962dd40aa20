"""What every messaging platform connector provides to the gateway (one module per platform beside this).

A connector turns a platform's webhook body into `InboundEvent`s and `StatusEvent`s, and turns the bot's
`OutboundMessage`s into platform API calls. It knows nothing about Rasa, tickets or the database: the
gateway's inbox (bot/gateway/inbox.py) persists, deduplicates, schedules and retries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from bot.gateway.gateway import OutboundMessage


class EventKind(StrEnum):
    MESSAGE = "message"  # text, a button press, a photo, a location ... : one citizen turn
    EDITED = "edited"  # an edit of an earlier message: stored, never a new turn
    UNSUPPORTED = "unsupported"  # stickers, voice notes, reactions ...: a polite note of what works


class AttachmentKind(StrEnum):
    IMAGE = "image"
    DOCUMENT = "document"


@dataclass(frozen=True)
class Attachment:
    """Media the citizen sent, not downloaded yet; `platform_file_id` is what the platform API needs."""

    kind: AttachmentKind
    platform_file_id: str
    mime_type: str | None = None
    filename: str | None = None
    size_bytes: int | None = None
    sha256: str | None = None  # when the platform announces one (WhatsApp), checked after download


@dataclass(frozen=True)
class InboundEvent:
    """One thing a citizen did, in platform-neutral form."""

    channel: str
    sender_id: str  # the channel identity (Telegram chat id, WhatsApp phone number)
    platform_message_id: str  # unique within the channel: the deduplication key
    kind: EventKind
    text: str  # what goes to Rasa: typed text, or the payload behind a pressed button
    received_at: datetime | None = None
    attachments: tuple[Attachment, ...] = ()
    latitude: float | None = None
    longitude: float | None = None
    contact_phone: str | None = None
    contact_name: str | None = None
    callback_id: str | None = None  # Telegram callback query to answer so the spinner stops
    # EDITED only: the platform message id (as in `platform_message_id`) of the message that was edited, so
    # the edit is linked to it. The edit itself needs its own unique `platform_message_id`.
    original_message_id: str | None = None
    raw_type: str = ""  # the platform's own type name, for logs and the "not supported" note
    metadata: dict[str, Any] = field(default_factory=dict)


class DeliveryState(StrEnum):
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


@dataclass(frozen=True)
class StatusEvent:
    """The platform's report on one of our outbound messages (WhatsApp `statuses`)."""

    channel: str
    platform_message_id: str
    state: DeliveryState
    timestamp: datetime | None = None
    error_code: int | None = None
    error_title: str | None = None


class SendError(Exception):
    """A send the platform refused. `retry_after` (seconds) when it asked us to wait (flood control: for the
    whole bot or business number, unless `per_chat`: that chat only); `permanent` when retrying cannot help;
    `outside_window` for WhatsApp's 24-hour rule (needs a template)."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        retry_after: float | None = None,
        permanent: bool = False,
        outside_window: bool = False,
        per_chat: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after
        self.permanent = permanent
        self.outside_window = outside_window
        self.per_chat = per_chat


@dataclass(frozen=True)
class DownloadedFile:
    content: bytes
    mime_type: str | None
    filename: str | None


class Connector(Protocol):
    channel: str

    def parse_webhook(self, body: dict[str, Any]) -> Sequence[InboundEvent | StatusEvent]:
        """Every event in the body (loop over all entries); unknown keys ignored; never raises on shape."""
        ...

    async def send(self, recipient_id: str, message: OutboundMessage) -> list[str]:
        """Deliver one bot message (split/rendered to the platform's limits); the platform message ids."""
        ...

    async def download(self, attachment: Attachment, max_bytes: int) -> DownloadedFile:
        """Fetch a citizen's media (size-capped, checksum verified when the platform gives one)."""
        ...

    async def acknowledge(self, event: InboundEvent) -> None:
        """Platform-side acknowledgement of an event (Telegram: answerCallbackQuery). May do nothing."""
        ...
