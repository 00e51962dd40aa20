"""WhatsApp Business Cloud API connector: webhook bodies in, Graph API calls out.

Inbound: `parse_webhook` walks every entry, change, message and status of a webhook body (Meta batches
them) and never raises on an odd shape: what it cannot read is logged and skipped, unknown keys are ignored.
Identities: `sender_id` is the citizen's phone number (`from`, the wa_id); `platform_message_id` is the
wamid, so a redelivered webhook carries the same id and the inbox stores it once. Changes for another
phone number of the same business account are ignored.

What each message type becomes (`InboundEvent.text` is what Rasa gets):
- text: the text; a bare number answering a numbered menu becomes that option's payload
  (connectors/whatsapp_menus.py);
- interactive button_reply / list_reply: the payload behind the reply id (see "Button ids" below);
- button (a template's quick reply): its payload, else its text;
- location: latitude/longitude, text "[lokasi]" (a chosen place's name and address go into metadata);
- image, document: an `Attachment` (media id, MIME type, announced SHA-256), text = caption, else
  "[foto]" / "[dokumen]" (a document with an image MIME type counts as a photo);
- contacts: the first contact's first phone number and name, text "[kontak]";
- anything else (reaction, sticker, audio, video, order, unsupported, system, types added later):
  `EventKind.UNSUPPORTED` with `raw_type` = the type.
Statuses become `StatusEvent`s (sent, delivered, read, failed with the error code; "played" counts as read).

Outbound: `send` renders with connectors/whatsapp_render.py and posts each part to
`/{phone-number-id}/messages`; it returns the wamids. Button ids: a reply id is the payload itself when it
fits the id limits (200 characters: the stricter one, of list rows) - the bot's payloads ("/greet",
"lewati", "infrastruktur", '/faq{"faq_topic":"sim"}') always do - else a short id whose payload is kept
in the `callback_payloads` table (connectors/callback_store.py, shared with Telegram). A literal payload
in a reply is no more than the citizen could have typed, so nothing is trusted because of it.
`send_template` sends a message as an approved template instead, for the delivery worker when the 24-hour
window is closed (connectors/whatsapp_templates.py).

Errors map to `SendError` for the delivery worker: 131047 (24-hour window closed) -> `outside_window`;
130429, 131056 and other rate limits -> `retry_after`; other 4xx -> `permanent`; 5xx, Meta's transient
codes and network failures -> retried.

The access token goes only in the Authorization header, never in a URL or a log line.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import httpx

from bot.db import Database
from bot.gateway.gateway import OutboundMessage
from bot.settings import Settings
from connectors.base import (
    Attachment,
    AttachmentKind,
    DeliveryState,
    DownloadedFile,
    EventKind,
    InboundEvent,
    SendError,
    StatusEvent,
)
from connectors.callback_store import CallbackStore, is_short_id
from connectors.whatsapp_menus import NumberedMenus, chosen_number
from connectors.whatsapp_render import MAX_LITERAL_ID, render
from connectors.whatsapp_templates import Template, template_part

logger = logging.getLogger(__name__)

CHANNEL = "whatsapp"
DEFAULT_API_BASE_URL = "https://graph.facebook.com/v21.0"
REQUEST_TIMEOUT_SECONDS = 15.0
DOWNLOAD_TIMEOUT_SECONDS = 60.0
MAX_PENDING_SPLITS = 1000
# Column sizes of `messages` (bot/conversations/models.py): a longer id could not be stored.
MAX_SENDER_ID = 128
MAX_MESSAGE_ID = 255

# Cloud API error codes (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes).
OUTSIDE_WINDOW_CODE = 131047  # more than 24 hours since the citizen's last message: a template is needed
PAIR_RATE_LIMIT_CODE = 131056  # the limit of one business number -> one citizen: only that chat waits
# Rate limits and how long to wait when the response has no Retry-After header, seconds.
RATE_LIMIT_WAITS: dict[int, float] = {
    130429: 5.0,  # Cloud API throughput reached
    PAIR_RATE_LIMIT_CODE: 6.0,  # too many messages to this one number ("pair rate limit")
    80007: 60.0,  # the business account's rate limit
    4: 60.0,  # the app's API call limit
    613: 60.0,  # calls to this API exceed the rate limit
}
DEFAULT_RATE_LIMIT_WAIT = 5.0
# Meta's own transient failures, sometimes answered with HTTP 400: worth retrying.
TRANSIENT_CODES = frozenset({1, 2, 131000, 131016, 133004})

STATUS_STATES: dict[str, DeliveryState] = {
    "sent": DeliveryState.SENT,
    "delivered": DeliveryState.DELIVERED,
    "read": DeliveryState.READ,
    "played": DeliveryState.READ,  # a voice message was played: it was read
    "failed": DeliveryState.FAILED,
}
PLACEHOLDERS = {AttachmentKind.IMAGE: "[foto]", AttachmentKind.DOCUMENT: "[dokumen]"}
LOCATION_TEXT = "[lokasi]"
CONTACT_TEXT = "[kontak]"


class WhatsAppConnector:
    """The `connectors.base.Connector` for the WhatsApp Business Cloud API."""

    channel = CHANNEL

    def __init__(
        self,
        access_token: str,
        phone_number_id: str,
        callbacks: CallbackStore | None = None,
        menus: NumberedMenus | None = None,
        api_base_url: str = DEFAULT_API_BASE_URL,
        timeout_seconds: float = REQUEST_TIMEOUT_SECONDS,
    ) -> None:
        self.phone_number_id = phone_number_id
        self.callbacks = callbacks
        self.menus = menus
        self.api_base_url = api_base_url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._http: httpx.AsyncClient | None = None
        # Parts of a split message already sent, so a retry after a failure halfway does not repeat them.
        self._sent_parts: dict[tuple[str, int], list[str]] = {}

    async def start(self) -> None:
        """Opens the connection pool (again after `aclose`: the app's lifespan may run twice in tests)."""
        self._client()

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None or self._http.is_closed:
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout_seconds, connect=5.0), headers=self._headers
            )
        return self._http

    # --- inbound ---

    def parse_webhook(self, body: dict[str, Any]) -> Sequence[InboundEvent | StatusEvent]:
        """Every message and status of a webhook body, in order; [] for anything unreadable.

        May look up button payloads and numbered menus in the database: call it from a worker thread.
        """
        events: list[InboundEvent | StatusEvent] = []
        if not isinstance(body, dict):
            return events
        for entry in _list(body.get("entry")):
            for change in _list(_dict(entry).get("changes")):
                change = _dict(change)
                if change.get("field", "messages") != "messages":
                    continue  # account, template and quality updates: nothing a citizen said
                value = _dict(change.get("value"))
                phone_number_id = _dict(value.get("metadata")).get("phone_number_id")
                if self.phone_number_id and phone_number_id and str(phone_number_id) != self.phone_number_id:
                    logger.warning("whatsapp: change for another phone number id ignored")
                    continue
                for raw in _list(value.get("messages")):
                    event = self._guarded(self._message_event, raw)
                    if event is not None:
                        events.append(event)
                for raw in _list(value.get("statuses")):
                    status = self._guarded(status_event, raw)
                    if status is not None:
                        events.append(status)
        return events

    def _guarded(self, parse: Any, raw: Any) -> Any:
        # A shape nobody foresaw must cost one item, never the whole body (Meta would redeliver it forever).
        try:
            return parse(_dict(raw))
        except Exception:
            logger.exception("whatsapp: unreadable webhook item skipped")
            return None

    def _message_event(self, raw: dict[str, Any]) -> InboundEvent | None:
        wamid, sender = raw.get("id"), raw.get("from")
        if not (isinstance(wamid, str) and wamid and isinstance(sender, str) and sender):
            return None
        if len(wamid) > MAX_MESSAGE_ID or len(sender) > MAX_SENDER_ID:
            logger.warning("whatsapp: message with an oversized id skipped")
            return None
        kind = str(raw.get("type") or "unknown")
        content = _dict(raw.get(kind))
        common: dict[str, Any] = {
            "channel": CHANNEL,
            "sender_id": sender,
            "platform_message_id": wamid,
            "received_at": _timestamp(raw.get("timestamp")),
            "metadata": _message_metadata(raw),
            "raw_type": kind,
        }
        if kind == "text":
            return self._text_event(common, _str(content.get("body")))
        if kind == "interactive":
            return self._interactive_event(common, content)
        if kind == "button":  # quick reply of a template message
            text = _str(content.get("payload")) or _str(content.get("text"))
            return InboundEvent(
                **common, kind=EventKind.MESSAGE if text else EventKind.UNSUPPORTED, text=text
            )
        if kind == "location":
            return _location_event(common, content)
        if kind in ("image", "document"):
            return _media_event(common, kind, content)
        if kind == "contacts":
            return _contact_event(common, raw.get("contacts"))
        caption = _str(content.get("caption")).strip()
        return InboundEvent(**common, kind=EventKind.UNSUPPORTED, text=caption or f"[{kind}]")

    def _text_event(self, common: dict[str, Any], text: str) -> InboundEvent:
        number = chosen_number(text)
        if number is not None and self.menus is not None:
            payload = self.menus.option(common["sender_id"], number)
            if payload is not None:
                metadata = common["metadata"] | {"typed_text": text, "menu_option": number}
                return InboundEvent(**common | {"metadata": metadata}, kind=EventKind.MESSAGE, text=payload)
        return InboundEvent(**common, kind=EventKind.MESSAGE, text=text)

    def _interactive_event(self, common: dict[str, Any], content: dict[str, Any]) -> InboundEvent:
        reply_type = _str(content.get("type"))
        if reply_type not in ("button_reply", "list_reply"):
            # Flows (nfm_reply) and shapes without a reply: not something the bot asked for.
            raw_type = f"interactive.{reply_type}" if reply_type else "interactive"
            return InboundEvent(**common | {"raw_type": raw_type}, kind=EventKind.UNSUPPORTED, text="")
        reply = _dict(content.get(reply_type))
        reply_id = _str(reply.get("id"))
        payload = self._payload_of(reply_id) if reply_id else None
        common = common | {"raw_type": reply_type}
        if payload is None:  # an id no payload is stored for (database wiped, or made up)
            return InboundEvent(**common, kind=EventKind.UNSUPPORTED, text="")
        metadata = common["metadata"] | {"reply_title": _str(reply.get("title"))}
        return InboundEvent(**common | {"metadata": metadata}, kind=EventKind.MESSAGE, text=payload)

    def _payload_of(self, reply_id: str) -> str | None:
        if self.callbacks is None:
            return None if is_short_id(reply_id) else reply_id
        return self.callbacks.resolve(reply_id)

    # --- outbound ---

    async def send(self, recipient_id: str, message: OutboundMessage) -> list[str]:
        """Sends one bot message (several Cloud API messages when long); returns their wamids.

        Raises `SendError` (see the module docstring). A retry of a message that failed halfway sends only
        the parts not sent yet.
        """
        ids = await self._button_ids([button.payload for button in message.buttons])
        parts = render(message, ids)
        key = (recipient_id, message.id)
        sent = self._sent_parts.setdefault(key, [])
        if len(self._sent_parts) > MAX_PENDING_SPLITS:  # messages whose retries were given up
            self._sent_parts.pop(next(iter(self._sent_parts)))
        try:
            for part in parts[len(sent) :]:
                sent.append(await self._post_message(recipient_id, part))
        except SendError as error:
            if error.permanent or error.outside_window:
                self._sent_parts.pop(key, None)
            raise
        self._sent_parts.pop(key, None)
        return sent

    async def send_template(
        self, recipient_id: str, message: OutboundMessage, template: Template
    ) -> list[str]:
        """Sends one bot message as the approved `template` (outside the 24-hour window); its wamid.

        One Cloud API message whatever the text's length (see connectors/whatsapp_templates.py)."""
        if message.buttons:
            logger.info(
                "whatsapp: message #%d goes as template %s without its buttons", message.id, template.name
            )
        return [await self._post_message(recipient_id, template_part(template, message.text))]

    async def _button_ids(self, payloads: list[str]) -> list[str]:
        long = [p for p in payloads if len(p) > MAX_LITERAL_ID or is_short_id(p)]
        if not long:
            return payloads
        if self.callbacks is None:
            raise SendError("whatsapp: a button payload is too long for a reply id", permanent=True)
        short = dict(zip(long, await asyncio.to_thread(self.callbacks.register, long), strict=True))
        return [short.get(payload, payload) for payload in payloads]

    async def _post_message(self, recipient_id: str, part: dict[str, Any]) -> str:
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": recipient_id, **part}
        answer = await self._request("POST", f"{self.api_base_url}/{self.phone_number_id}/messages", body)
        messages = _list(answer.get("messages"))
        wamid = _dict(messages[0]).get("id") if messages else None
        if not isinstance(wamid, str) or not wamid:
            # The message may have gone out; without its id a retry could repeat it, but losing it is worse.
            raise SendError("whatsapp: send answered without a message id")
        return wamid

    async def _request(self, method: str, url: str, json: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = await self._client().request(method, url, json=json)
        except httpx.HTTPError as error:
            raise SendError(f"whatsapp: {type(error).__name__} calling the Graph API") from None
        if response.status_code >= 400:
            raise send_error(response)
        try:
            answer = response.json()
        except ValueError:
            raise SendError("whatsapp: Graph API answered with something that is not JSON") from None
        return answer if isinstance(answer, dict) else {}

    async def download(self, attachment: Attachment, max_bytes: int) -> DownloadedFile:
        """The media's URL from `GET /{media-id}`, then the file itself (with the token), size-capped.

        The content's SHA-256 must equal the one announced in the webhook (else in the media's info); a
        mismatch raises a permanent `SendError` (base.py has no download error). Too large: permanent, code
        413. Errors of the Graph API as in `send`; a failed file download is retryable (its URL expires
        after a few minutes, a new `GET /{media-id}` gives a fresh one).
        """
        if attachment.size_bytes is not None and attachment.size_bytes > max_bytes:
            raise too_large(attachment.size_bytes, max_bytes)
        info = await self._request("GET", f"{self.api_base_url}/{attachment.platform_file_id}")
        url = info.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise SendError("whatsapp: media info has no URL", permanent=True)
        announced_size = _int(info.get("file_size"))
        if announced_size is not None and announced_size > max_bytes:
            raise too_large(announced_size, max_bytes)
        content = await self._fetch_capped(url, max_bytes)
        expected = attachment.sha256 or _str(info.get("sha256")) or None
        if expected is not None and not sha256_matches(content, expected):
            raise SendError("whatsapp: downloaded media does not match its announced SHA-256", permanent=True)
        mime = attachment.mime_type or _str(info.get("mime_type")) or None
        return DownloadedFile(content=content, mime_type=mime, filename=attachment.filename)

    async def _fetch_capped(self, url: str, max_bytes: int) -> bytes:
        chunks: list[bytes] = []
        total = 0
        try:
            # httpx drops the Authorization header if a redirect leaves the media host.
            async with self._client().stream(
                "GET", url, timeout=DOWNLOAD_TIMEOUT_SECONDS, follow_redirects=True
            ) as response:
                if response.status_code != 200:
                    raise SendError(
                        f"whatsapp: media download answered {response.status_code}", code=response.status_code
                    )
                async for chunk in response.aiter_bytes():
                    total += len(chunk)
                    if total > max_bytes:
                        raise too_large(total, max_bytes)
                    chunks.append(chunk)
        except httpx.HTTPError as error:
            raise SendError(f"whatsapp: media download failed: {type(error).__name__}") from None
        return b"".join(chunks)

    async def acknowledge(self, event: InboundEvent) -> None:
        """Marks the citizen's message as read (blue ticks): it is stored and will be answered.

        Best effort: the turn does not depend on it.
        """
        try:
            await self._request(
                "POST",
                f"{self.api_base_url}/{self.phone_number_id}/messages",
                {"messaging_product": "whatsapp", "status": "read", "message_id": event.platform_message_id},
            )
        except SendError as error:
            logger.info("whatsapp: marking a message read failed: %s", error)


def whatsapp_connector(settings: Settings, database: Database) -> WhatsAppConnector:
    """The connector the service registers when WHATSAPP_ACCESS_TOKEN and WHATSAPP_PHONE_NUMBER_ID are set."""
    return WhatsAppConnector(
        settings.whatsapp_access_token,
        settings.whatsapp_phone_number_id,
        callbacks=CallbackStore(database),
        menus=NumberedMenus(database, CHANNEL),
        api_base_url=settings.whatsapp_api_base_url,
    )


# --- webhook signature ---

SIGNATURE_PREFIX = "sha256="


def signature(app_secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` Meta sends with a body: "sha256=" + HMAC-SHA256 of the raw bytes, hex."""
    return SIGNATURE_PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(app_secret: str, body: bytes, header: str) -> bool:
    """Whether `header` signs exactly these bytes with the app secret (constant-time comparison)."""
    given = header.strip()
    if given[: len(SIGNATURE_PREFIX)].lower() == SIGNATURE_PREFIX:
        given = SIGNATURE_PREFIX + given[len(SIGNATURE_PREFIX) :].lower()
    return hmac.compare_digest(given.encode(), signature(app_secret, body).encode())


# --- errors ---


def send_error(response: httpx.Response) -> SendError:
    """Classifies a Graph API error response for the delivery retries."""
    try:
        error = _dict(_dict(response.json()).get("error"))
    except ValueError:
        error = {}
    code = _int(error.get("code"))
    title = _str(error.get("error_user_title")) or _str(error.get("message")) or response.reason_phrase
    details = _str(_dict(error.get("error_data")).get("details"))
    message = f"whatsapp: HTTP {response.status_code}, error {code}: {title}" + (
        f" ({details})" if details else ""
    )
    if code == OUTSIDE_WINDOW_CODE:
        return SendError(message, code=code, outside_window=True)
    if code in RATE_LIMIT_WAITS or response.status_code == 429:
        wait = _retry_after(response) or RATE_LIMIT_WAITS.get(code or 0, DEFAULT_RATE_LIMIT_WAIT)
        return SendError(message, code=code or 429, retry_after=wait, per_chat=code == PAIR_RATE_LIMIT_CODE)
    if code in TRANSIENT_CODES or response.status_code >= 500:
        return SendError(message, code=code or response.status_code)
    return SendError(message, code=code or response.status_code, permanent=True)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def too_large(size: int, max_bytes: int) -> SendError:
    return SendError(f"whatsapp: file of {size} bytes exceeds {max_bytes}", code=413, permanent=True)


def sha256_matches(content: bytes, announced: str) -> bool:
    """Whether `announced` (base64 as in webhooks, or hex) is the SHA-256 of `content`.

    An announced value that is neither cannot vouch for the file: it counts as a mismatch.
    """
    digest = hashlib.sha256(content).digest()
    text = announced.strip()
    if len(text) == 64:
        try:
            return hmac.compare_digest(bytes.fromhex(text), digest)
        except ValueError:
            pass
    try:
        decoded = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        try:
            decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            return False
    return hmac.compare_digest(decoded, digest)


# --- parsing helpers (lenient: a wrong type reads as missing) ---


def status_event(raw: dict[str, Any]) -> StatusEvent | None:
    wamid = raw.get("id")
    state = STATUS_STATES.get(_str(raw.get("status")))
    if not isinstance(wamid, str) or not wamid or len(wamid) > MAX_MESSAGE_ID or state is None:
        return None  # "deleted", "warning", statuses added later: nothing the delivery tracks
    errors = _list(raw.get("errors"))
    first = _dict(errors[0]) if errors else {}
    title = _str(first.get("title")) or _str(first.get("message"))
    return StatusEvent(
        channel=CHANNEL,
        platform_message_id=wamid,
        state=state,
        timestamp=_timestamp(raw.get("timestamp")),
        error_code=_int(first.get("code")),
        error_title=title or None,
    )


def _location_event(common: dict[str, Any], content: dict[str, Any]) -> InboundEvent:
    latitude, longitude = _float(content.get("latitude")), _float(content.get("longitude"))
    if latitude is None or longitude is None or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return InboundEvent(**common, kind=EventKind.UNSUPPORTED, text=LOCATION_TEXT)
    place = {
        f"location_{key}": _str(content.get(key)) for key in ("name", "address") if _str(content.get(key))
    }
    return InboundEvent(
        **common | {"metadata": common["metadata"] | place},
        kind=EventKind.MESSAGE,
        text=LOCATION_TEXT,
        latitude=latitude,
        longitude=longitude,
    )


def _media_event(common: dict[str, Any], kind: str, content: dict[str, Any]) -> InboundEvent:
    media_id = _str(content.get("id"))
    caption = _str(content.get("caption")).strip()
    mime = _str(content.get("mime_type")) or None
    if not media_id:
        return InboundEvent(**common, kind=EventKind.UNSUPPORTED, text=caption or f"[{kind}]")
    # A photo sent "as a document" (full quality) is still a photo of the problem.
    is_image = kind == "image" or (mime is not None and mime.startswith("image/"))
    attachment = Attachment(
        kind=AttachmentKind.IMAGE if is_image else AttachmentKind.DOCUMENT,
        platform_file_id=media_id,
        mime_type=mime,
        filename=_str(content.get("filename")) or None,
        sha256=_str(content.get("sha256")) or None,
    )
    return InboundEvent(
        **common,
        kind=EventKind.MESSAGE,
        text=caption or PLACEHOLDERS[attachment.kind],
        attachments=(attachment,),
    )


def _contact_event(common: dict[str, Any], contacts: Any) -> InboundEvent:
    items = _list(contacts)
    if not items:
        return InboundEvent(**common, kind=EventKind.UNSUPPORTED, text=CONTACT_TEXT)
    first = _dict(items[0])
    phones = [_dict(phone) for phone in _list(first.get("phones"))]
    phone = next((_str(p.get("phone")) or _str(p.get("wa_id")) for p in phones if p), "") or None
    name_parts = _dict(first.get("name"))
    name = _str(name_parts.get("formatted_name")) or " ".join(
        part for part in (_str(name_parts.get("first_name")), _str(name_parts.get("last_name"))) if part
    )
    return InboundEvent(
        **common, kind=EventKind.MESSAGE, text=CONTACT_TEXT, contact_phone=phone, contact_name=name or None
    )


def _message_metadata(raw: dict[str, Any]) -> dict[str, Any]:
    context = _dict(raw.get("context"))
    metadata: dict[str, Any] = {}
    if _str(context.get("id")):
        metadata["reply_to"] = _str(context.get("id"))  # the wamid of the message being answered
    if context.get("forwarded") is True or context.get("frequently_forwarded") is True:
        metadata["forwarded"] = True
    return metadata


def _timestamp(value: Any) -> datetime | None:
    seconds = _int(value)
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None
