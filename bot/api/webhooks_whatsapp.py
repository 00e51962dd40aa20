"""`/webhooks/whatsapp`: the WhatsApp Cloud API webhook, verified, then persisted through the inbox.

GET is Meta's verification handshake when the webhook is set up: `hub.mode=subscribe` and `hub.verify_token`
equal (constant time) to WHATSAPP_VERIFY_TOKEN answer `hub.challenge` as plain text; anything else is 403.

POST carries messages and delivery statuses. Meta signs each body: `X-Hub-Signature-256` is "sha256=" +
HMAC-SHA256 of the raw body bytes with the app secret. Order of checks, so an unauthenticated request costs
little and stores nothing: the channel is configured (else 404), the body is not too large (413), the
header is present (401) and signs these exact bytes (403, constant-time comparison); only then is the body
parsed as JSON (400 if it is not a JSON object or is nested too deeply). Every message and status in it
goes to the inbox, which stores each message once (a redelivery, also a concurrent one, is recognised by its
wamid), and the route answers 200 at once: the turn and the replies run in the background. An error while
storing answers 500, so Meta delivers the body again later.
"""

from __future__ import annotations

import asyncio
import hmac

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from bot.api.errors import ApiError
from bot.api.json_body import parse_json_object
from bot.conversations.models import Channel
from connectors.whatsapp import signature_valid

router = APIRouter(tags=["webhooks"])

SIGNATURE_HEADER = "X-Hub-Signature-256"
# Meta batches up to a few hundred changes per body; anything far larger is not from Meta.
MAX_BODY_BYTES = 3 * 1024 * 1024


@router.get("/webhooks/whatsapp", include_in_schema=False)
async def whatsapp_verification(
    request: Request,
    mode: str = Query(default="", alias="hub.mode"),
    token: str = Query(default="", alias="hub.verify_token"),
    challenge: str = Query(default="", alias="hub.challenge"),
) -> PlainTextResponse:
    expected: str = request.app.state.settings.whatsapp_verify_token
    if not expected or mode != "subscribe" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise ApiError(403, "forbidden", "Anda tidak memiliki akses.")
    return PlainTextResponse(challenge)


@router.post("/webhooks/whatsapp", include_in_schema=False)
async def whatsapp_webhook(request: Request) -> JSONResponse:
    app_secret: str = request.app.state.settings.whatsapp_app_secret
    connector = request.app.state.connectors.get(Channel.WHATSAPP)
    if connector is None or not app_secret:
        raise ApiError(404, "not_found", "Alamat yang diminta tidak ditemukan.")
    raw = await _raw_body(request)
    given = request.headers.get(SIGNATURE_HEADER)
    if given is None:
        raise ApiError(401, "unauthorized", "Autentikasi diperlukan.")
    if not signature_valid(app_secret, raw, given):
        raise ApiError(403, "forbidden", "Anda tidak memiliki akses.")
    body = parse_json_object(raw)
    # Parsing may look button payloads and numbered menus up in the database: keep it off the event loop.
    events = await asyncio.to_thread(connector.parse_webhook, body)
    await request.app.state.inbox.accept_events(events)
    return JSONResponse({"ok": True})


async def _raw_body(request: Request) -> bytes:
    """The exact bytes Meta signed, refused past MAX_BODY_BYTES without reading further."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, "payload_too_large", "Isi permintaan terlalu besar.")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(413, "payload_too_large", "Isi permintaan terlalu besar.")
    return bytes(raw)
