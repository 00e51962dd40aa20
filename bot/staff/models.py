"""Tables of staff accounts: users, the units they serve, login sessions, login attempts, access log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db import Base, utcnow
from bot.tickets.models import UTCDateTime


class Role(StrEnum):
    PETUGAS = "petugas"  # works the tickets and conversations of their units
    SUPERVISOR = "supervisor"  # as petugas, plus assignment, reports and overrides for their units
    ADMIN = "admin"  # every unit, user management, retraining


ROLE_LABELS: dict[Role, str] = {
    Role.PETUGAS: "Petugas",
    Role.SUPERVISOR: "Supervisor",
    Role.ADMIN: "Admin",
}


class StaffUser(Base):
    __tablename__ = "staff_users"
    __table_args__ = (
        CheckConstraint(
            "role IN (" + ", ".join(f"'{r.value}'" for r in Role) + ")",
            name="role",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    # argon2id hash (bot/staff/passwords.py); never the password itself.
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    units: Mapped[list[StaffUnit]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="StaffUnit.unit"
    )

    @property
    def unit_names(self) -> list[str]:
        return [u.unit for u in self.units]


class StaffUnit(Base):
    """A unit (as named in routing.yml) whose tickets and conversations a user works."""

    __tablename__ = "staff_user_units"

    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True)
    unit: Mapped[str] = mapped_column(String(200), primary_key=True)

    user: Mapped[StaffUser] = relationship(back_populates="units")


class StaffSession(Base):
    """A login session. The cookie holds a random token; only its SHA-256 is stored here."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    # Synchroniser token for CSRF: every state-changing request carries it in a form field or header.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(300), default=None)

    user: Mapped[StaffUser] = relationship()


class LoginAttempt(Base):
    """Every login attempt, for throttling (per username and per address) and for the audit."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_created_at", "username", "created_at"),
        Index("ix_login_attempts_ip_created_at", "ip", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AccessLog(Base):
    """Append-only record of staff actions outside a ticket's own trail: logins, views of a reporter's
    personal data, conversation take-overs, account changes (UU 27/2022: who saw what, when)."""

    __tablename__ = "staff_access_log"
    __table_args__ = (Index("ix_staff_access_log_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), index=True, default=None
    )
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str | None] = mapped_column(String(40), default=None)
    target_id: Mapped[str | None] = mapped_column(String(64), default=None)
    detail: Mapped[str | None] = mapped_column(Text, default=None)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
