"""Writes the staff access log (bot/staff/models.AccessLog): logins, views of personal data, take-overs,
account changes. Append-only: there is no update or delete here."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.orm import Session

from bot.staff.models import AccessLog
from bot.staff.principal import StaffPrincipal


class AccessAction(StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    VIEW_TICKET = "view_ticket"  # the ticket page shows the reporter's name, phone and conversation
    VIEW_CONVERSATION = "view_conversation"
    VIEW_ATTACHMENT = "view_attachment"
    VIEW_NIK = "view_nik"  # the ticket page showed the NIK(s) of the complaint, decrypted
    EXPORT = "export"
    HANDOFF_TAKEN = "handoff_taken"
    HANDOFF_RETURNED = "handoff_returned"
    USER_CREATED = "user_created"
    USER_CHANGED = "user_changed"
    MODEL_REGISTERED = "model_registered"
    MODEL_DEPLOY = "model_deploy"
    MODEL_ROLLBACK = "model_rollback"


def log_access(
    session: Session,
    principal: StaffPrincipal | None,
    action: AccessAction,
    *,
    target_type: str | None = None,
    target_id: str | int | None = None,
    detail: str | None = None,
    ip: str | None = None,
    actor: str | None = None,
) -> AccessLog:
    entry = AccessLog(
        user_id=principal.id if principal else None,
        actor=(actor or (principal.actor if principal else "anonim"))[:120],
        action=action.value,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id)[:64],
        detail=detail,
        ip=ip[:64] if ip else None,
    )
    session.add(entry)
    return entry
