"""Issue, resolve and revoke web-chat sessions (framework-free; the caller commits).

- `issue_session` mints a token (256 random bits) and a random sender id, at most `max_per_client` per
  client key inside `window` (counted in the database, so the limit holds across processes and replicas);
  otherwise `TooManySessions` with the time until the oldest of them leaves the window.
- `resolve_session` maps a token to its sender id while the session is neither expired nor revoked; each
  use slides the expiry to `ttl` from now (written at most once per `TOUCH_INTERVAL`).
- `revoke_session` ends a session at once ("Mulai percakapan baru").
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, select
from sqlalchemy.orm import Session

from bot.db import utcnow
from bot.webchat.models import WebChatSession

# Tokens longer than this are not looked up at all (ours are 43 characters).
MAX_TOKEN_LENGTH = 200
SENDER_PREFIX = "ws-"
# Renewing the expiry on every message would turn each turn into an extra write; once a minute is enough
# for an expiry counted in hours.
TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionPolicy:
    ttl: timedelta
    max_per_client: int
    window: timedelta


@dataclass(frozen=True)
class IssuedSession:
    token: str
    sender_id: str
    expires_at: datetime


class TooManySessions(Exception):
    def __init__(self, retry_after: timedelta) -> None:
        super().__init__("too many web-chat sessions from this client")
        self.retry_after = retry_after


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def client_key(address: str, secret: str) -> str:
    """A keyed hash of a client address: the same address gives the same key, but the stored key does not
    reveal the address (a plain hash of an IPv4 address is reversed by trying all 2**32)."""
    digest = hmac.new(secret.encode(), f"webchat-client:{address}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def _check_client_limit(session: Session, key: str, policy: SessionPolicy, now: datetime) -> None:
    since = now - policy.window
    count, oldest = session.execute(
        select(func.count(), func.min(WebChatSession.created_at)).where(
            WebChatSession.client_key == key, WebChatSession.created_at > since
        )
    ).one()
    if count >= policy.max_per_client:
        wait = oldest + policy.window - now if oldest is not None else policy.window
        raise TooManySessions(max(wait, timedelta(seconds=1)))


def _forget_old_sessions(session: Session, policy: SessionPolicy, now: datetime) -> None:
    # A row that expired (or was revoked: that expires it too) more than a window ago can no longer
    # authenticate nor count for the limit (it was created before its expiry): of no use to anyone.
    session.execute(delete(WebChatSession).where(WebChatSession.expires_at <= now - policy.window))


def issue_session(
    session: Session, key: str, policy: SessionPolicy, now: datetime | None = None
) -> IssuedSession:
    """A new session for a client; raises TooManySessions over the per-client limit."""
    now = now or utcnow()
    _check_client_limit(session, key, policy, now)
    _forget_old_sessions(session, policy, now)
    token = secrets.token_urlsafe(32)
    sender_id = SENDER_PREFIX + secrets.token_hex(16)
    expires_at = now + policy.ttl
    session.add(
        WebChatSession(
            token_hash=token_hash(token),
            sender_id=sender_id,
            client_key=key,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )
    return IssuedSession(token, sender_id, expires_at)


def _live_row(session: Session, token: str | None, now: datetime) -> WebChatSession | None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return session.scalar(
        select(WebChatSession).where(
            and_(
                WebChatSession.token_hash == token_hash(token),
                WebChatSession.revoked_at.is_(None),
                WebChatSession.expires_at > now,
            )
        )
    )


def resolve_session(
    session: Session, token: str | None, policy: SessionPolicy, now: datetime | None = None
) -> str | None:
    """The sender id of a live session (its expiry renewed), or None for a missing, unknown, expired or
    revoked token."""
    now = now or utcnow()
    row = _live_row(session, token, now)
    if row is None:
        return None
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        row.last_seen_at = now
        row.expires_at = max(row.expires_at, now + policy.ttl)
    return row.sender_id


def revoke_session(session: Session, token: str | None, now: datetime | None = None) -> bool:
    """End a live session; False when there was none for this token."""
    now = now or utcnow()
    row = _live_row(session, token, now)
    if row is None:
        return False
    row.revoked_at = now
    row.expires_at = now
    return True
