"""Security headers on every response (an ASGI middleware around the whole app).

- `Content-Security-Policy`: scripts, styles, images and requests from this origin only; no inline script
  or style (the dashboard's behaviour lives in static files), no plugins, forms post only here, and no
  framing (`frame-ancestors 'none'`). FastAPI's `/docs` page loads Swagger UI from its CDN with an
  inline start-up script, so it gets a policy that allows exactly that.
- `X-Frame-Options: DENY` for browsers without `frame-ancestors`, `X-Content-Type-Options: nosniff`,
  `Referrer-Policy: same-origin` (a ticket URL never leaks to another site).

A header a route sets itself is kept.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI (/docs) and ReDoc (/redoc) as FastAPI serves them: CDN assets and one inline script.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})


def headers_for(path: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": DOCS_CONTENT_SECURITY_POLICY
        if path in DOCS_PATHS
        else CONTENT_SECURITY_POLICY,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = headers_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in wanted.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
