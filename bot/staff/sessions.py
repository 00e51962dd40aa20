"""Dashboard login sessions stored in the database; the cookie carries a random token, the table its hash.

A session ends on logout, after `idle` without a request, or `max_age` after login, whichever comes first.
Server-side sessions (rather than signed cookies) make logout and deactivation take effect at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from bot.db import utcnow
from bot.staff.models import StaffSession, StaffUser

# Writing last_seen_at on every request would turn each page view into a write; once a minute is enough
# for an idle timeout counted in minutes.
TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=30)
    max_age: timedelta = timedelta(hours=12)


@dataclass(frozen=True)
class ActiveSession:
    user: StaffUser
    csrf_token: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    session: Session,
    user: StaffUser,
    policy: SessionPolicy,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    now: datetime | None = None,
) -> str:
    """Create a session for `user`; returns the token for the cookie (shown nowhere else)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            token_hash=token_hash(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + policy.max_age,
            ip=ip[:64] if ip else None,
            user_agent=user_agent[:300] if user_agent else None,
        )
    )
    # Old rows of this user that ended long ago are of no use to anyone.
    session.execute(
        delete(StaffSession).where(
            StaffSession.user_id == user.id, StaffSession.expires_at < now - policy.max_age
        )
    )
    return token


def resume_session(
    session: Session, token: str | None, policy: SessionPolicy, now: datetime | None = None
) -> ActiveSession | None:
    """The live session of a cookie token, touched; None when absent, ended, or its user is deactivated."""
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    row = session.scalar(
        select(StaffSession)
        .where(StaffSession.token_hash == token_hash(token))
        .options(selectinload(StaffSession.user).selectinload(StaffUser.units))
    )
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if now - row.last_seen_at > policy.idle or not row.user.is_active:
        row.revoked_at = now
        return None
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        row.last_seen_at = now
    return ActiveSession(row.user, row.csrf_token)


def end_session(session: Session, token: str | None, now: datetime | None = None) -> StaffUser | None:
    if not token:
        return None
    row = session.get(StaffSession, token_hash(token))
    if row is None or row.revoked_at is not None:
        return None
    row.revoked_at = now or utcnow()
    return row.user


def end_all_sessions(
    session: Session, user_id: int, now: datetime | None = None, keep_token: str | None = None
) -> None:
    """Deactivation or a password change: every open session of the user ends at once (but the one of
    `keep_token`, the session that changed the password)."""
    now = now or utcnow()
    kept = token_hash(keep_token) if keep_token else None
    for row in session.scalars(
        select(StaffSession).where(StaffSession.user_id == user_id, StaffSession.revoked_at.is_(None))
    ):
        if row.token_hash != kept:
            row.revoked_at = now
