"""Web-chat sessions: the server issues each citizen's identity; the client only carries a token.

`POST /api/v1/chat/sessions` returns a random token (kept in the database only as its hash) bound to a random
sender id; every later web-chat call sends it as `Authorization: Bearer <token>` (or in the HttpOnly cookie
`layanan_chat`, set here too, for the service's own chat page). `DELETE /api/v1/chat/sessions/current` ends it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel

from bot.api.deps import SessionDep, SettingsDep, client_ip, get_database
from bot.db import Database
from bot.settings import Settings
from bot.webchat.sessions import (
    SessionPolicy,
    TooManySessions,
    client_key,
    issue_session,
    resolve_session,
    revoke_session,
)

router = APIRouter(prefix="/api/v1", tags=["chat"])

CHAT_COOKIE = "layanan_chat"
CHAT_COOKIE_PATH = "/api/v1/chat"
SESSION_REQUIRED_DETAIL = "Sesi percakapan diperlukan. Silakan mulai percakapan baru."
SESSION_INVALID_DETAIL = "Sesi percakapan tidak berlaku atau sudah berakhir. Silakan mulai percakapan baru."


def session_policy(settings: Settings) -> SessionPolicy:
    return SessionPolicy(
        ttl=timedelta(hours=settings.webchat_session_ttl_hours),
        max_per_client=settings.webchat_sessions_per_address,
        window=timedelta(minutes=settings.webchat_sessions_window_minutes),
    )


def request_client_key(request: Request, settings: Settings) -> str:
    """The caller's address as a keyed hash (the service token is the key): what limits count on."""
    return client_key(client_ip(request), settings.service_token)


def _token_of(request: Request) -> str | None:
    """The bearer token, else the cookie's; an Authorization header that is not a bearer token counts as a
    wrong token (never silently replaced by the cookie)."""
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""
    return request.cookies.get(CHAT_COOKIE)


def _unauthorized(code: str, detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail={"error": code, "detail": detail},
        headers={"WWW-Authenticate": "Bearer"},
    )


@dataclass(frozen=True)
class WebCaller:
    """The web-chat citizen of a request: the sender id of their session and their client key."""

    token: str
    sender_id: str
    client_key: str


def current_web_caller(
    request: Request, database: Annotated[Database, Depends(get_database)], settings: SettingsDep
) -> WebCaller:
    """The caller's live session, or 401. Its own short database session: a chat turn can last as long as
    a Rasa turn, and must not hold a connection all that time."""
    token = _token_of(request)
    if token is None:
        raise _unauthorized("session_required", SESSION_REQUIRED_DETAIL)
    with database.session() as session:
        sender_id = resolve_session(session, token, session_policy(settings))
    if sender_id is None:
        raise _unauthorized("invalid_session", SESSION_INVALID_DETAIL)
    return WebCaller(token, sender_id, request_client_key(request, settings))


WebCallerDep = Annotated[WebCaller, Depends(current_web_caller)]


class SessionCreated(BaseModel):
    token: str
    expires_at: str


def _cookie_secure(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


@router.post(
    "/chat/sessions",
    response_model=SessionCreated,
    status_code=status.HTTP_201_CREATED,
    responses={status.HTTP_429_TOO_MANY_REQUESTS: {"description": "Too many sessions from this address."}},
)
def create_session(
    request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> SessionCreated:
    """A new web-chat identity. Keep the token: it is shown only here."""
    policy = session_policy(settings)
    try:
        issued = issue_session(session, request_client_key(request, settings), policy)
    except TooManySessions as limited:
        seconds = math.ceil(limited.retry_after.total_seconds())
        raise HTTPException(
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            detail="Terlalu banyak percakapan baru dari alamat Anda. "
            f"Silakan coba lagi dalam {max(1, math.ceil(seconds / 60))} menit.",
            headers={"Retry-After": str(seconds)},
        ) from None
    session.commit()
    response.set_cookie(
        CHAT_COOKIE,
        issued.token,
        max_age=int(policy.ttl.total_seconds()),
        path=CHAT_COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=_cookie_secure(request),
    )
    return SessionCreated(token=issued.token, expires_at=issued.expires_at.isoformat())


@router.delete("/chat/sessions/current", status_code=status.HTTP_204_NO_CONTENT)
def end_session(caller: WebCallerDep, session: SessionDep) -> Response:
    """End the caller's session ("Mulai percakapan baru"); its token is refused from now on."""
    revoke_session(session, caller.token)
    session.commit()
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(CHAT_COOKIE, path=CHAT_COOKIE_PATH)
    return response
