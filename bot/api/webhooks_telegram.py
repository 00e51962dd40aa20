"""`POST /webhooks/telegram`: Telegram's webhook, verified, then persisted through the inbox.

Telegram sends the `secret_token` given to setWebhook in `X-Telegram-Bot-Api-Secret-Token` on every call.
Order of checks, so an unauthenticated request costs nothing and stores nothing: the channel is configured
for webhooks (else 404), the header is present (401) and equal to TELEGRAM_WEBHOOK_SECRET in constant time
(403); only then is the body read: too large (413), not a JSON object or nested too deeply (400). The
update is parsed and stored by the inbox (a redelivered update is recognised by its id and ignored), and
the route answers 200 at once: the turn and the replies run in the background. An error while storing
answers 500, so Telegram delivers the update again later.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.api.errors import ApiError
from bot.api.json_body import parse_json_object
from bot.conversations.models import Channel

router = APIRouter(tags=["webhooks"])

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram updates are a few kilobytes; anything far larger is not from Telegram.
MAX_BODY_BYTES = 1024 * 1024


@router.post("/webhooks/telegram", include_in_schema=False)
async def telegram_webhook(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    connector = request.app.state.connectors.get(Channel.TELEGRAM)
    secret: str = settings.telegram_webhook_secret
    if connector is None or not secret or settings.telegram_mode != "webhook":
        raise ApiError(404, "not_found", "Alamat yang diminta tidak ditemukan.")
    given = request.headers.get(SECRET_HEADER)
    if given is None:
        raise ApiError(401, "unauthorized", "Autentikasi diperlukan.")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise ApiError(403, "forbidden", "Anda tidak memiliki akses.")
    body = await _json_object(request)
    # Parsing looks button payloads up in the database: keep it off the event loop.
    events = await asyncio.to_thread(connector.parse_webhook, body)
    await request.app.state.inbox.accept_events(events)
    return JSONResponse({"ok": True})


async def _json_object(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, "payload_too_large", "Isi permintaan terlalu besar.")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(413, "payload_too_large", "Isi permintaan terlalu besar.")
    return parse_json_object(bytes(raw))
