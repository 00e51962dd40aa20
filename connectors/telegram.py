"""Telegram connector (python-telegram-bot 22): updates in, Bot API calls out.

Inbound: a webhook body or a `getUpdates` item is parsed with `telegram.Update.de_json` and mapped to one
`InboundEvent` (see `TelegramConnector.events_of`). Identities: `sender_id` is the chat id;
`platform_message_id` is `<chat id>:<message id>` for a message, `<chat id>:<message id>:edit:<edit date>`
for an edit (linked to the original by `original_message_id`) and `cb:<callback query id>` for a button
press, so a redelivered update carries the same id and the inbox stores it once.

Outbound: `send` renders with `connectors/telegram_render.py`. A button's `callback_data` is the short id of
its payload (`connectors/callback_store.py`). A bot message asks for the location or the phone number
with a one-tap keyboard when its custom payload is `{"request": "location"}` or `{"request": "contact"}`.

The Bot API base URL is configurable (`TELEGRAM_API_BASE_URL`), so the tests talk to a fake Bot API on
loopback. The bot token is part of every Bot API URL: log records of the HTTP libraries are redacted
(`redact_token_in_logs`), and our own messages never carry a URL.

Only private chats are served: updates from groups and channels the bot was added to are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
import posixpath
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
from telegram import (
    Bot,
    BotCommand,
    CallbackQuery,
    Message,
    PhotoSize,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatType, MessageAttachmentType
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBUserWarning

from bot.db import Database
from bot.gateway.gateway import OutboundMessage
from bot.settings import Settings
from connectors.base import (
    Attachment,
    AttachmentKind,
    DownloadedFile,
    EventKind,
    InboundEvent,
    SendError,
    StatusEvent,
)
from connectors.callback_store import CallbackStore
from connectors.telegram_render import TelegramPart, render

logger = logging.getLogger(__name__)
# We call getUpdates through do_api_request on purpose (raw updates, parsed one by one: see get_updates).
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.getUpdates'", category=PTBUserWarning)

CHANNEL = "telegram"
DEFAULT_API_BASE_URL = "https://api.telegram.org"
# The only update types the bot handles; setWebhook and getUpdates ask Telegram for these alone.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
# Bot commands, shown in Telegram's command menu, and the payload each one sends to the bot.
COMMANDS: dict[str, tuple[str, str]] = {
    "start": ("/greet", "Mulai dan tampilkan menu utama"),
    "help": ("/greet", "Bantuan: apa saja yang bisa saya bantu"),
    "menu": ("/greet", "Menu utama"),
    "status": ("/check_status", "Cek status pengaduan"),
    "petugas": ("/request_human", "Bicara dengan petugas"),
    "batal": ("/cancel", "Batalkan pengaduan yang sedang diisi"),
}
PHOTO_MIME = "image/jpeg"  # Telegram re-encodes every photo as JPEG
REQUEST_TIMEOUT_SECONDS = 10.0
DOWNLOAD_TIMEOUT_SECONDS = 60.0
POLL_TIMEOUT_SECONDS = 30
POLL_ERROR_PAUSE_SECONDS = 5.0
MAX_PENDING_SPLITS = 1000
# What every message has; the rest is its content (see `_parse_leniently`).
_ENVELOPE_FIELDS = frozenset({"message_id", "date", "edit_date", "chat", "from", "text", "caption"})
# Kinds of content the bot cannot use; the citizen gets a polite note of what works.
_UNSUPPORTED_TYPES = tuple(
    kind.value
    for kind in MessageAttachmentType
    if kind.value not in {"contact", "location", "venue", "photo", "document", "successful_payment"}
)


# Loggers that write Bot API URLs, which contain the bot token (httpx logs every request at INFO).
_URL_LOGGERS = ("httpx", "telegram.Bot", "telegram.BaseRequest", "telegram.HTTPXRequest")


class _RedactToken(logging.Filter):
    """Replaces the bot token in log records by `<token>`, so logs never hand out the bot."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "<token>"), None
        return True


def redact_token_in_logs(token: str) -> None:
    """Installs the redaction once per token on every logger that writes Bot API URLs."""
    for name in _URL_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, _RedactToken) and f.token == token for f in target.filters):
            target.addFilter(_RedactToken(token))


class TelegramConnector:
    """The `connectors.base.Connector` for Telegram."""

    channel = CHANNEL

    def __init__(
        self,
        token: str,
        callbacks: CallbackStore,
        api_base_url: str = DEFAULT_API_BASE_URL,
        timeout_seconds: float = REQUEST_TIMEOUT_SECONDS,
    ) -> None:
        redact_token_in_logs(token)
        base = api_base_url.rstrip("/")

        # Our own request objects, so `aclose` can close their connection pools.
        def request(pool_size: int) -> HTTPXRequest:
            return HTTPXRequest(
                connection_pool_size=pool_size,
                read_timeout=timeout_seconds,
                write_timeout=timeout_seconds,
                connect_timeout=5.0,
                pool_timeout=timeout_seconds,
            )

        self._requests = (request(1), request(8))  # getUpdates; everything else
        self.bot = Bot(
            token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            get_updates_request=self._requests[0],
            request=self._requests[1],
        )
        self.callbacks = callbacks
        # Chats shown a request keyboard that no later message has closed yet (lost on restart: harmless,
        # Telegram hides a one-time keyboard after use anyway).
        self._open_reply_keyboards: set[str] = set()
        # Pieces of a split message already sent, so a retry after a failure halfway does not repeat them.
        self._sent_parts: dict[tuple[str, int], list[str]] = {}

    async def start(self) -> None:
        """Opens the connection pools (again after `aclose`: the app's lifespan may run twice in tests)."""
        await asyncio.gather(*(request.initialize() for request in self._requests))

    async def aclose(self) -> None:
        await asyncio.gather(*(request.shutdown() for request in self._requests))

    # --- inbound ---

    def parse_webhook(self, body: dict[str, Any]) -> Sequence[InboundEvent | StatusEvent]:
        """The event of one update (Telegram sends one update per webhook call); [] for what we ignore.

        Looks button payloads up in the database: call it from a worker thread.
        """
        try:
            update = Update.de_json(body, self.bot)
        except Exception:  # a shape this PTB version cannot read (newer or older Bot API, or garbage)
            return self._parse_leniently(body)
        event = self.events_of(update)
        return [event] if event is not None else []

    def _parse_leniently(self, body: dict[str, Any]) -> list[InboundEvent]:
        """Reads a message PTB refused with only its envelope, so the citizen is not ignored.

        PTB follows one Bot API version and rejects content whose required fields changed (a poll
        without `persistent_id` in 22.8): the content becomes "unsupported" instead of the update being lost.
        """
        for key in ("message", "edited_message"):
            message = body.get(key) if isinstance(body, dict) else None
            if not isinstance(message, dict):
                continue
            if "text" in message:
                content, text = "text", message["text"]
            else:
                content = next((k for k in message if k not in _ENVELOPE_FIELDS), "other")
                caption = message.get("caption")
                text = caption.strip() if isinstance(caption, str) and caption.strip() else f"[{content}]"
            reduced = {k: v for k, v in message.items() if k in _ENVELOPE_FIELDS} | {"text": text}
            try:
                update = Update.de_json({"update_id": body.get("update_id"), key: reduced}, self.bot)
            except Exception:
                break
            event = self.events_of(update)
            if event is None or event.kind is EventKind.EDITED or content == "text":
                return [event] if event is not None else []
            return [replace(event, kind=EventKind.UNSUPPORTED, raw_type=content)]
        update_id = body.get("update_id") if isinstance(body, dict) else None
        logger.warning("telegram: unreadable update %r ignored", update_id)
        return []

    def events_of(self, update: Update) -> InboundEvent | None:
        metadata = {"update_id": update.update_id}
        if update.callback_query is not None:
            return self._callback_event(update.callback_query, metadata)
        if update.message is not None:
            return self._message_event(update.message, metadata, edited=False)
        if update.edited_message is not None:
            return self._message_event(update.edited_message, metadata, edited=True)
        return None  # channel posts, membership changes, ...: not a citizen's turn

    def _message_event(self, message: Message, metadata: dict[str, Any], edited: bool) -> InboundEvent | None:
        if message.chat.type != ChatType.PRIVATE:
            # A group the bot was added to: complaints and status answers are private matters.
            return None
        chat_id = str(message.chat.id)
        message_key = f"{chat_id}:{message.message_id}"
        common: dict[str, Any] = {
            "channel": CHANNEL,
            "sender_id": chat_id,
            "platform_message_id": message_key,
            "received_at": message.date,
            "metadata": metadata,
        }
        if edited:
            edit_date = message.edit_date or message.date
            return InboundEvent(
                **common | {"platform_message_id": f"{message_key}:edit:{int(edit_date.timestamp())}"},
                kind=EventKind.EDITED,
                text=message.text or message.caption or "",
                original_message_id=message_key,
                raw_type="edited_message",
            )
        caption = (message.caption or "").strip()
        if message.contact is not None:
            contact = message.contact
            name = " ".join(part for part in (contact.first_name, contact.last_name) if part)
            own = (
                contact.user_id is not None
                and message.from_user is not None
                and (contact.user_id == message.from_user.id)
            )
            return InboundEvent(
                **common | {"metadata": metadata | {"own_contact": own}},
                kind=EventKind.MESSAGE,
                text="[kontak]",
                contact_phone=contact.phone_number,
                contact_name=name or None,
                raw_type="contact",
            )
        if message.location is not None:
            return InboundEvent(
                **common,
                kind=EventKind.MESSAGE,
                text="[lokasi]",
                latitude=message.location.latitude,
                longitude=message.location.longitude,
                raw_type="venue" if message.venue is not None else "location",
            )
        if message.photo:
            largest = max(message.photo, key=_photo_rank)
            photo = Attachment(
                kind=AttachmentKind.IMAGE,
                platform_file_id=largest.file_id,
                mime_type=PHOTO_MIME,
                size_bytes=largest.file_size,
            )
            return InboundEvent(
                **common,
                kind=EventKind.MESSAGE,
                text=caption or "[foto]",
                attachments=(photo,),
                raw_type="photo",
            )
        unsupported = next((kind for kind in _UNSUPPORTED_TYPES if getattr(message, kind, None)), None)
        if unsupported is not None:  # before document: an animation (GIF) also carries a document
            return InboundEvent(
                **common, kind=EventKind.UNSUPPORTED, text=caption or f"[{unsupported}]", raw_type=unsupported
            )
        if message.document is not None:
            document = message.document
            mime = document.mime_type
            attachment = Attachment(
                # A photo sent "as a file" (full quality) is still a photo of the problem.
                kind=AttachmentKind.IMAGE if mime and mime.startswith("image/") else AttachmentKind.DOCUMENT,
                platform_file_id=document.file_id,
                mime_type=mime,
                filename=document.file_name,
                size_bytes=document.file_size,
            )
            return InboundEvent(
                **common,
                kind=EventKind.MESSAGE,
                text=caption or "[dokumen]",
                attachments=(attachment,),
                raw_type="document",
            )
        if message.text:
            return InboundEvent(
                **common, kind=EventKind.MESSAGE, text=command_payload(message.text), raw_type="text"
            )
        # Content newer than this PTB version lands in api_kwargs: still something the citizen sent.
        unknown = next(iter(message.api_kwargs), None) if message.api_kwargs else None
        if unknown is not None or caption:
            raw_type = str(unknown or "other")
            return InboundEvent(
                **common, kind=EventKind.UNSUPPORTED, text=caption or f"[{raw_type}]", raw_type=raw_type
            )
        return None  # a service message (pinned message, auto-delete timer, ...): nothing the citizen said

    def _callback_event(self, query: CallbackQuery, metadata: dict[str, Any]) -> InboundEvent | None:
        if query.message is not None and query.message.chat.type != ChatType.PRIVATE:
            return None
        chat_id = str(query.message.chat.id) if query.message is not None else str(query.from_user.id)
        common: dict[str, Any] = {
            "channel": CHANNEL,
            "sender_id": chat_id,
            "platform_message_id": f"cb:{query.id}",
            "received_at": None,
            "callback_id": query.id,
        }
        if query.message is not None:
            metadata = metadata | {"callback_message_id": f"{chat_id}:{query.message.message_id}"}
        payload = self.callbacks.resolve(query.data) if query.data else None
        if payload is None:  # a game button, or an id no payload is stored for
            return InboundEvent(
                **common, kind=EventKind.UNSUPPORTED, text="", raw_type="callback_query", metadata=metadata
            )
        return InboundEvent(
            **common, kind=EventKind.MESSAGE, text=payload, raw_type="callback_query", metadata=metadata
        )

    # --- outbound ---

    async def send(self, recipient_id: str, message: OutboundMessage) -> list[str]:
        """Sends one bot message (several pieces when long); returns `<chat id>:<message id>` of each.

        Raises `SendError`: `retry_after` on flood control (429), `permanent` when the citizen blocked the
        bot or Telegram rejects the request itself; otherwise retrying may help. A retry of a message that
        failed halfway sends only the pieces not sent yet.
        """
        payloads = [button.payload for button in message.buttons]
        callback_data = await asyncio.to_thread(self.callbacks.register, payloads) if payloads else []
        parts = render(
            message, callback_data, close_reply_keyboard=recipient_id in self._open_reply_keyboards
        )
        key = (recipient_id, message.id)
        sent = self._sent_parts.setdefault(key, [])
        if len(self._sent_parts) > MAX_PENDING_SPLITS:  # messages whose retries were given up
            self._sent_parts.pop(next(iter(self._sent_parts)))
        try:
            if message.image and not sent:
                photo = await self._call(self.bot.send_photo(chat_id=recipient_id, photo=message.image))
                sent.append(f"{recipient_id}:{photo.message_id}")
            already = len(sent) - (1 if message.image else 0)
            for part in parts[already:]:
                sent.append(await self._send_part(recipient_id, part))
        except SendError as error:
            if error.permanent:
                self._sent_parts.pop(key, None)
            raise
        del self._sent_parts[key]
        return sent

    async def _send_part(self, recipient_id: str, part: TelegramPart) -> str:
        result = await self._call(
            self.bot.send_message(chat_id=recipient_id, text=part.text, reply_markup=part.reply_markup)
        )
        if isinstance(part.reply_markup, ReplyKeyboardMarkup):
            self._open_reply_keyboards.add(recipient_id)
        elif isinstance(part.reply_markup, ReplyKeyboardRemove):
            self._open_reply_keyboards.discard(recipient_id)
        return f"{recipient_id}:{result.message_id}"

    async def _call(self, request: Awaitable[Any]) -> Any:
        try:
            return await request
        except TelegramError as error:
            raise send_error(error) from error

    async def download(self, attachment: Attachment, max_bytes: int) -> DownloadedFile:
        """getFile, then the file itself, streamed and cut off past `max_bytes`.

        Raises `SendError` (base.py has no download error): `permanent=True, code=413` when the file is
        larger than `max_bytes`; a Bot API error as `send` does; `retry_after` unset and not permanent on a
        network failure.
        """
        if attachment.size_bytes is not None and attachment.size_bytes > max_bytes:
            raise too_large(attachment.size_bytes, max_bytes)
        file = await self._call(self.bot.get_file(attachment.platform_file_id))
        if file.file_size is not None and file.file_size > max_bytes:
            raise too_large(file.file_size, max_bytes)
        if not file.file_path:
            raise SendError("telegram: getFile gave no file_path", permanent=True)
        content = await _fetch_capped(file.file_path, max_bytes)
        name = posixpath.basename(httpx.URL(file.file_path).path)
        filename = attachment.filename or name or None
        mime = attachment.mime_type or (mimetypes.guess_type(name)[0] if name else None)
        return DownloadedFile(content=content, mime_type=mime, filename=filename)

    async def acknowledge(self, event: InboundEvent) -> None:
        """Answers a button press so the citizen's spinner stops; nothing for other events.

        Best effort: Telegram forgets a query after a while, and the turn itself does not depend on it.
        """
        if event.callback_id is None:
            return
        try:
            await self.bot.answer_callback_query(event.callback_id)
        except TelegramError as error:
            logger.warning("telegram: answerCallbackQuery failed: %s", error)

    # --- setup ---

    async def set_webhook(self, url: str, secret_token: str) -> None:
        await self._call(
            self.bot.set_webhook(url=url, secret_token=secret_token, allowed_updates=list(ALLOWED_UPDATES))
        )
        await self.set_commands()

    async def set_commands(self) -> None:
        commands = [BotCommand(name, description) for name, (_, description) in COMMANDS.items()]
        await self._call(self.bot.set_my_commands(commands))

    async def get_updates(self, offset: int | None, timeout: int) -> list[dict[str, Any]]:
        """One long poll; the raw updates (parsed one by one, so one odd update cannot block the rest)."""
        kwargs: dict[str, Any] = {"timeout": timeout, "allowed_updates": list(ALLOWED_UPDATES)}
        if offset is not None:
            kwargs["offset"] = offset
        result = await self._call(
            self.bot.do_api_request("getUpdates", api_kwargs=kwargs, read_timeout=timeout + 10)
        )
        return [item for item in result if isinstance(item, dict)] if isinstance(result, list) else []


def telegram_connector(settings: Settings, database: Database) -> TelegramConnector:
    """The connector the service registers when TELEGRAM_BOT_TOKEN is set."""
    return TelegramConnector(
        settings.telegram_bot_token, CallbackStore(database), api_base_url=settings.telegram_api_base_url
    )


def command_payload(text: str) -> str:
    """What a typed text sends to the bot: a known command becomes its payload (`/start` → `/greet`).

    `/start@NamaBot parameter` counts as `/start`. Any other text is passed on as typed.
    """
    stripped = text.strip()
    if stripped.startswith("/"):
        command = stripped[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(stripped) > 1 else ""
        if command in COMMANDS:
            return COMMANDS[command][0]
    return text


def _photo_rank(photo: PhotoSize) -> tuple[int, int]:
    return photo.width * photo.height, photo.file_size or 0


def send_error(error: TelegramError) -> SendError:
    """Classifies a Bot API failure for the delivery retries."""
    message = f"telegram: {error.__class__.__name__}: {error.message}"
    if isinstance(error, RetryAfter):
        with warnings.catch_warnings():  # PTB warns that the int form of retry_after is deprecated
            warnings.simplefilter("ignore")
            wait = error.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        return SendError(message, code=429, retry_after=seconds)
    if isinstance(error, Forbidden):  # the citizen blocked the bot or deleted the account
        return SendError(message, code=403, permanent=True)
    if isinstance(error, InvalidToken):  # configuration: retrying with the same token cannot help
        return SendError(message, code=401, permanent=True)
    if isinstance(error, BadRequest):
        return SendError(message, code=400, permanent=True)
    if isinstance(error, ChatMigrated):
        return SendError(f"{message} (new chat id {error.new_chat_id})", code=400, permanent=True)
    if isinstance(error, NetworkError):  # includes TimedOut
        return SendError(message)
    return SendError(message)  # Conflict, server errors: maybe better later


def too_large(size: int, max_bytes: int) -> SendError:
    return SendError(f"telegram: file of {size} bytes exceeds {max_bytes}", code=413, permanent=True)


async def _fetch_capped(url: str, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    try:
        async with (
            httpx.AsyncClient(timeout=DOWNLOAD_TIMEOUT_SECONDS) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                # 4xx: the file link expired or never existed; a new getFile may help, so not permanent.
                raise SendError(
                    f"telegram: file download answered {response.status_code}", code=response.status_code
                )
            async for chunk in response.aiter_bytes():
                total += len(chunk)
                if total > max_bytes:
                    raise too_large(total, max_bytes)
                chunks.append(chunk)
    except httpx.HTTPError as error:
        raise SendError(f"telegram: file download failed: {error.__class__.__name__}") from None
    return b"".join(chunks)


Accept = Callable[[InboundEvent], Awaitable[Any]]


class TelegramPoller:
    """Long polling (`getUpdates`) for an office without a public HTTPS address.

    Each update goes through `accept` (the inbox, as for the webhook) before the offset moves past it, so
    an update whose storing failed is fetched again. The webhook is deleted first: Telegram refuses
    getUpdates while one is set.
    """

    def __init__(
        self, connector: TelegramConnector, accept: Accept, timeout_seconds: int = POLL_TIMEOUT_SECONDS
    ) -> None:
        self.connector = connector
        self.accept = accept
        self.timeout_seconds = timeout_seconds
        self.offset: int | None = None

    async def run(self, stop: asyncio.Event) -> None:
        await self.connector._call(self.connector.bot.delete_webhook(drop_pending_updates=False))
        while not stop.is_set():
            poll = asyncio.ensure_future(self.poll_once())
            stopped = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({poll, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if poll not in done:
                poll.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poll
                break
            stopped.cancel()
            try:
                poll.result()
            except SendError as error:
                pause = error.retry_after or POLL_ERROR_PAUSE_SECONDS
                logger.warning("telegram: getUpdates failed (%s); next poll in %.0f s", error, pause)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=pause)
            except Exception:
                # Storing failed (database down): the offset did not move, the same updates come again.
                logger.exception("telegram: update not stored; retrying in %.0f s", POLL_ERROR_PAUSE_SECONDS)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=POLL_ERROR_PAUSE_SECONDS)

    async def poll_once(self, timeout: int | None = None) -> int:
        """Fetches and accepts one batch; the number of updates handled."""
        updates = await self.connector.get_updates(
            self.offset, self.timeout_seconds if timeout is None else timeout
        )
        for raw in updates:
            update_id = raw.get("update_id")
            events = await asyncio.to_thread(self.connector.parse_webhook, raw)
            for event in events:
                if isinstance(event, InboundEvent):
                    await self.accept(event)
            if isinstance(update_id, int):
                self.offset = update_id + 1
        return len(updates)
