"""Staff accounts: create, change, authenticate with throttling (per username and per address)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from bot.db import utcnow
from bot.staff.models import LoginAttempt, Role, StaffUnit, StaffUser
from bot.staff.passwords import hash_password, needs_rehash, verify_password

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


class AccountError(ValueError):
    """A change refused with an Indonesian message that is safe to show."""


@dataclass(frozen=True)
class LoginPolicy:
    """Failed logins slow further attempts down rather than lock the account: after `max_failures`
    failures within `window` (per username since its last successful login, and per address) each further
    attempt waits `base_delay` after the latest failure, doubled per failure, at most `max_delay`. Guessing
    is slowed to one try per `max_delay`, and someone failing on purpose keeps the officer out for no
    longer than that."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    base_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(seconds=60)

    def delay_after(self, failures: int) -> timedelta:
        if failures < self.max_failures:
            return timedelta(0)
        doublings = min(failures - self.max_failures, 30)
        delay: timedelta = self.base_delay * (1 << doublings)
        return min(self.max_delay, delay)


class LoginThrottled(Exception):
    def __init__(self, retry_after: timedelta) -> None:
        super().__init__("login throttled")
        self.retry_after = retry_after


def normalize_username(raw: str) -> str:
    return raw.strip().lower()


def find_user(session: Session, username: str) -> StaffUser | None:
    return session.scalar(
        select(StaffUser)
        .where(StaffUser.username == normalize_username(username))
        .options(selectinload(StaffUser.units))
    )


def _clean_units(units: Iterable[str]) -> list[str]:
    return sorted({u.strip() for u in units if u and u.strip()})


def create_user(
    session: Session,
    username: str,
    full_name: str,
    password: str,
    role: Role,
    units: Iterable[str] = (),
) -> StaffUser:
    username = normalize_username(username)
    if not USERNAME_PATTERN.match(username):
        raise AccountError("Nama pengguna 3-64 karakter: huruf kecil, angka, titik, garis bawah atau strip.")
    if find_user(session, username) is not None:
        raise AccountError("Nama pengguna sudah dipakai.")
    full_name = full_name.strip()
    if not full_name or len(full_name) > 120:
        raise AccountError("Nama lengkap wajib diisi (maksimal 120 karakter).")
    unit_names = _clean_units(units)
    if role is not Role.ADMIN and not unit_names:
        raise AccountError("Petugas dan supervisor harus punya minimal satu unit.")
    user = StaffUser(
        username=username,
        full_name=full_name,
        password_hash=hash_password(password),
        role=role.value,
        is_active=True,
        units=[StaffUnit(unit=u) for u in unit_names],
    )
    session.add(user)
    session.flush()
    return user


def update_user(
    session: Session,
    user: StaffUser,
    *,
    full_name: str | None = None,
    role: Role | None = None,
    units: Iterable[str] | None = None,
    is_active: bool | None = None,
    password: str | None = None,
) -> None:
    if full_name is not None:
        if not full_name.strip():
            raise AccountError("Nama lengkap wajib diisi.")
        user.full_name = full_name.strip()[:120]
    if role is not None:
        user.role = role.value
    if units is not None:
        wanted = _clean_units(units)
        user.units = [u for u in user.units if u.unit in wanted]
        present = {u.unit for u in user.units}
        user.units.extend(StaffUnit(unit=u) for u in wanted if u not in present)
    if Role(user.role) is not Role.ADMIN and not user.units:
        raise AccountError("Petugas dan supervisor harus punya minimal satu unit.")
    if is_active is not None:
        user.is_active = is_active
    if password is not None:
        user.password_hash = hash_password(password)


def _recent_failures(
    session: Session, column: InstrumentedAttribute[str], value: str, since: datetime
) -> tuple[int, datetime | None]:
    row = session.execute(
        select(func.count(), func.max(LoginAttempt.created_at)).where(
            column == value,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.created_at >= since,
        )
    ).one()
    return int(row[0]), row[1]


def _last_success(session: Session, username: str) -> datetime | None:
    return session.scalar(
        select(func.max(LoginAttempt.created_at)).where(
            LoginAttempt.username == username, LoginAttempt.succeeded.is_(True)
        )
    )


def check_throttle(session: Session, username: str, ip: str, policy: LoginPolicy, now: datetime) -> None:
    """Refuse a login (LoginThrottled) while the username or the address is still in its delay."""
    username = normalize_username(username)
    window_start = now - policy.window
    succeeded_at = _last_success(session, username)
    username_since = max(window_start, succeeded_at) if succeeded_at else window_start
    for column, value, since in (
        (LoginAttempt.username, username, username_since),
        (LoginAttempt.ip, ip, window_start),
    ):
        count, latest = _recent_failures(session, column, value, since)
        if latest is None:
            continue
        wait = latest + policy.delay_after(count) - now
        if wait > timedelta(0):
            raise LoginThrottled(wait)


def authenticate(
    session: Session, username: str, password: str, ip: str, policy: LoginPolicy, now: datetime | None = None
) -> StaffUser | None:
    """The active user with these credentials, or None. Raises LoginThrottled before checking anything
    while the username or the address is in its delay (LoginPolicy); such a refusal is not recorded and
    does not lengthen the delay. Every other attempt is recorded."""
    now = now or utcnow()
    username = normalize_username(username)[:64]
    check_throttle(session, username, ip, policy, now)
    user = find_user(session, username)
    valid = verify_password(user.password_hash if user else None, password)
    succeeded = bool(user is not None and valid and user.is_active)
    session.add(LoginAttempt(username=username, ip=ip[:64], succeeded=succeeded, created_at=now))
    if not succeeded or user is None:
        return None
    user.last_login_at = now
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def list_users(session: Session) -> list[StaffUser]:
    return list(
        session.scalars(select(StaffUser).options(selectinload(StaffUser.units)).order_by(StaffUser.username))
    )
