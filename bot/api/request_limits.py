"""Limits every request meets before a route runs (an ASGI middleware around the whole app).

- **Body size.** A body larger than the route's cap is refused with 413 in the common JSON shape: at once
  when `Content-Length` declares it, otherwise as soon as the bytes read so far pass the cap (a chunked
  upload is not read to its end). The cap is `REQUEST_MAX_BYTES` unless a route pattern allows more
  (uploads, the platforms' webhooks). The stream is counted where it is read, so FastAPI's own parsers,
  the form parser and the webhooks' raw reads all stop at the same point.
- **NUL in the URL.** A path or query string holding NUL (`%00`) is refused with 400: PostgreSQL cannot
  store or compare it, and no real client sends one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import unquote_to_bytes

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.api.errors import error_response

PAYLOAD_TOO_LARGE_DETAIL = "Isi permintaan terlalu besar."
NUL_DETAIL = "Alamat permintaan mengandung karakter yang tidak diizinkan."


class BodyTooLarge(HTTPException):
    """Raised by the counting `receive`. A FastAPI HTTPException, so FastAPI's body reading passes it on
    (any other exception there becomes a 400) and the app's handler renders the 413."""

    def __init__(self) -> None:
        super().__init__(413, PAYLOAD_TOO_LARGE_DETAIL)


def _has_nul(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    query: bytes = scope.get("query_string", b"")
    return "\x00" in path or b"\x00" in unquote_to_bytes(query)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class RequestLimits:
    """`app.add_middleware(RequestLimits, max_body_bytes=..., route_limits=[(path_regex, bytes), ...])`;
    the first pattern that matches the whole path sets that route's cap."""

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, route_limits: Sequence[tuple[str, int]] = ()
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.route_limits = [(re.compile(pattern), limit) for pattern, limit in route_limits]

    def limit_for(self, path: str) -> int:
        for pattern, limit in self.route_limits:
            if pattern.fullmatch(path):
                return limit
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _has_nul(scope):
            await error_response(400, "invalid_characters", NUL_DETAIL)(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await self._too_large(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            # Normally rendered by the app's error handler; this catches it where it escaped one.
            if started:
                raise
            await self._too_large(scope, receive, send)

    @staticmethod
    async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
        # Connection: close, so the server does not wait for (or read) the rest of the body.
        response = error_response(
            413, "payload_too_large", PAYLOAD_TOO_LARGE_DETAIL, headers={"Connection": "close"}
        )
        await response(scope, receive, send)
