"""What an officer does to a ticket from the dashboard: verify, dispose, change status or priority, assign,
note, merge a duplicate, answer the citizen. Framework-free; every change writes an audit row.

Each function takes the signed-in `StaffPrincipal`, re-checks that the ticket is within the principal's
units (routes already fetched it through `visible_ticket`; this keeps the rule true for any other caller),
only flushes, and raises `OperationError` (or the service's errors) with an Indonesian message that is safe
to show. The caller commits and, for status changes, sends the citizen's notice afterwards with the
returned audit row's id.

Officer answers in a conversation: the outbound `Message` row carries `officer_payload(...)` so the
conversation view can tell a person's answer from the bot's (see `is_officer_message`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db import utcnow
from bot.staff.access import NotVisible, ticket_scope
from bot.staff.models import StaffUnit, StaffUser
from bot.staff.principal import StaffPrincipal
from bot.tickets import service
from bot.tickets.audit import AuditAction, record
from bot.tickets.codes import normalize_code
from bot.tickets.models import Ticket, TicketAudit, TicketMessage
from bot.tickets.service import MAX_MESSAGE_CHARS, TicketConfig, TicketServiceError
from bot.tickets.status import STATUS_LABELS, TicketStatus, allowed_targets
from bot.tickets.vocab import AuthorKind, Priority

OFFICER_AUTHOR = "officer"
REPLY_PREFIX = "Balasan petugas untuk {code}:\n"
WALK_IN_CHANNEL = "loket"
_REPLY_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class OperationError(TicketServiceError):
    """An officer action that cannot be done as asked; the message is Indonesian and safe to show."""


# --- officer messages in conversations ----------------------------------------------------------------


def officer_payload(principal: StaffPrincipal, ticket_code: str) -> dict[str, Any]:
    """The marker stored in an outbound `Message.payload` written by an officer (not by the bot).

    Same `author` marker and officer keys as the handoff's live answers (bot/handoff/service.py), so one
    check (`is_officer_message`) recognises both.
    """
    return {
        "author": OFFICER_AUTHOR,
        "officer": principal.username,
        "officer_id": principal.id,
        "officer_name": principal.full_name,
        "ticket": ticket_code,
    }


def is_officer_message(payload: dict[str, Any] | None) -> bool:
    return isinstance(payload, dict) and payload.get("author") == OFFICER_AUTHOR


def has_conversation(ticket: Ticket) -> bool:
    """Walk-in (loket) tickets were filed at the counter: there is no chat to answer in."""
    return ticket.reporter_channel != WALK_IN_CHANNEL


def reply_key(ticket: Ticket, message: TicketMessage) -> str:
    """Idempotency key of the notification that carries an officer's answer to the citizen."""
    return f"reply:{ticket.id}:{message.id}"


def reply_text(ticket: Ticket, text: str) -> str:
    """What the citizen receives: the prefix says a person answered, and about which report."""
    return REPLY_PREFIX.format(code=ticket.code) + text


# --- helpers ------------------------------------------------------------------------------------------


def _check_visible(principal: StaffPrincipal, ticket: Ticket) -> None:
    if not principal.can_see_unit(ticket.unit):
        raise NotVisible(ticket.code)


def _clean(text: str | None, *, required: bool, max_chars: int = MAX_MESSAGE_CHARS) -> str | None:
    clean = (text or "").strip()
    if "\x00" in clean:
        raise OperationError("Teks mengandung karakter yang tidak diizinkan.")
    if not clean:
        if required:
            raise OperationError("Teks tidak boleh kosong.")
        return None
    if len(clean) > max_chars:
        raise OperationError(f"Teks terlalu panjang (paling banyak {max_chars} karakter).")
    return clean


def _latest_audit(session: Session, ticket: Ticket) -> TicketAudit:
    audit = session.scalars(
        select(TicketAudit).where(TicketAudit.ticket_id == ticket.id).order_by(TicketAudit.id.desc()).limit(1)
    ).first()
    assert audit is not None  # every operation below records one before calling this
    return audit


def _status_change(
    session: Session,
    ticket: Ticket,
    principal: StaffPrincipal,
    target: TicketStatus,
    note: str | None,
    config: TicketConfig,
    now: datetime,
) -> TicketAudit:
    service.change_status(session, ticket, target, principal.actor, note, config=config, now=now)
    return _latest_audit(session, ticket)


# --- status -------------------------------------------------------------------------------------------


def verify(
    session: Session,
    ticket: Ticket,
    principal: StaffPrincipal,
    *,
    config: TicketConfig,
    now: datetime | None = None,
) -> TicketAudit:
    """belum_diverifikasi -> terverifikasi."""
    _check_visible(principal, ticket)
    if ticket.status != TicketStatus.BELUM_DIVERIFIKASI.value:
        raise OperationError("Laporan ini sudah diverifikasi sebelumnya.")
    return _status_change(
        session, ticket, principal, TicketStatus.TERVERIFIKASI, None, config, now or utcnow()
    )


def status_targets(ticket: Ticket) -> list[TicketStatus]:
    """Statuses the generic status form offers (disposition has its own form, since it needs a unit)."""
    paused_from = TicketStatus(ticket.paused_from_status) if ticket.paused_from_status else None
    targets = allowed_targets(TicketStatus(ticket.status), paused_from)
    return [s for s in TicketStatus if s in targets and s is not TicketStatus.DIDISPOSISI]


def change_status(
    session: Session,
    ticket: Ticket,
    principal: StaffPrincipal,
    to: str,
    note: str | None,
    *,
    config: TicketConfig,
    now: datetime | None = None,
) -> TicketAudit:
    """One lifecycle step with the status rules of bot/tickets/status.py (note required where they say)."""
    _check_visible(principal, ticket)
    try:
        target = TicketStatus(to)
    except ValueError:
        raise OperationError("Status yang dipilih tidak dikenal.") from None
    if target is TicketStatus.DIDISPOSISI:
        raise OperationError("Gunakan formulir disposisi untuk meneruskan laporan ke unit lain.")
    if target.value == ticket.status:
        raise OperationError(f"Status laporan sudah '{STATUS_LABELS[target]}'.")
    clean_note = _clean(note, required=False)
    return _status_change(session, ticket, principal, target, clean_note, config, now or utcnow())


def dispose(
    session: Session,
    ticket: Ticket,
    principal: StaffPrincipal,
    unit: str,
    note: str | None,
    *,
    config: TicketConfig,
    now: datetime | None = None,
) -> TicketAudit | None:
    """Send the ticket to another unit (status didisposisi); returns the status-change audit row, or None
    when it was already didisposisi and only the unit changed.

    An unverified ticket is verified first (two audited steps): disposing is a verification decision.
    The assignee is released, since an officer of the old unit can no longer see the ticket.
    """
    _check_visible(principal, ticket)
    now = now or utcnow()
    units = config.routing.units()
    if unit not in units:
        raise OperationError("Unit tujuan tidak dikenal. Pilih unit dari daftar.")
    if unit == ticket.unit:
        raise OperationError("Laporan ini sudah berada di unit tersebut.")
    clean_note = _clean(note, required=False)
    status_audit: TicketAudit | None = None
    current = TicketStatus(ticket.status)
    if current is TicketStatus.BELUM_DIVERIFIKASI:
        _status_change(session, ticket, principal, TicketStatus.TERVERIFIKASI, None, config, now)
        current = TicketStatus.TERVERIFIKASI
    if current is not TicketStatus.DIDISPOSISI:
        if TicketStatus.DIDISPOSISI not in allowed_targets(current):
            raise OperationError(f"Laporan berstatus '{STATUS_LABELS[current]}' tidak dapat didisposisikan.")
        status_audit = _status_change(
            session, ticket, principal, TicketStatus.DIDISPOSISI, clean_note or f"ke {unit}", config, now
        )
    service.change_unit(session, ticket, unit, principal.actor, clean_note, now=now)
    if ticket.assigned_to_id is not None:
        ticket.assigned_to_id = None
        record(
            session,
            ticket,
            principal.actor,
            AuditAction.ASSIGNED,
            note="penugasan dilepas (disposisi)",
            at=now,
        )
    session.flush()
    return status_audit


def set_priority(
    session: Session,
    ticket: Ticket,
    principal: StaffPrincipal,
    priority: str,
    *,
    now: datetime | None = None,
) -> None:
    _check_visible(principal, ticket)
    try:
        chosen = Priority(priority)
    except ValueError:
        raise OperationError("Prioritas yang dipilih tidak dikenal.") from None
    if chosen.value == ticket.priority:
        raise OperationError("Prioritas laporan sudah seperti itu.")
    service.change_priority(session, ticket, chosen, principal.actor, now=now)


# --- assignment ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Officer:
    id: int
    username: str
    full_name: str


def unit_officers(session: Session, unit: str) -> list[Officer]:
    """Active staff of a unit: who a ticket of that unit may be assigned to."""
    rows = session.execute(
        select(StaffUser.id, StaffUser.username, StaffUser.full_name)
        .join(StaffUnit, StaffUnit.user_id == StaffUser.id)
        .where(StaffUnit.unit == unit, StaffUser.is_active.is_(True))
        .order_by(StaffUser.full_name, StaffUser.id)
    ).all()
    return [Officer(*row) for row in rows]


def assign(
    session: Session,
    ticket: Ticket,
    principal: StaffPrincipal,
    officer_id: int | None,
    *,
    now: datetime | None = None,
) -> None:
    """Assign to an officer of the ticket's unit (None releases it).

    Supervisors and admins assign anyone of the unit; a petugas may only take the ticket themselves or
    release it when it is theirs.
    """
    _check_visible(principal, ticket)
    now = now or utcnow()
    if officer_id is None:
        if ticket.assigned_to_id is None:
            raise OperationError("Laporan ini belum ditugaskan kepada siapa pun.")
        if not principal.is_supervisor and ticket.assigned_to_id != principal.id:
            raise OperationError("Hanya supervisor yang dapat melepas penugasan petugas lain.")
        ticket.assigned_to_id = None
        note = "penugasan dilepas"
    else:
        if not principal.is_supervisor and officer_id != principal.id:
            raise OperationError("Petugas hanya dapat mengambil laporan untuk dirinya sendiri.")
        officer = next((o for o in unit_officers(session, ticket.unit) if o.id == officer_id), None)
        if officer is None and officer_id == principal.id and principal.is_admin:
            officer = Officer(principal.id, principal.username, principal.full_name)
        if officer is None:
            raise OperationError("Petugas yang dipilih bukan petugas aktif unit laporan ini.")
        if ticket.assigned_to_id == officer.id:
            raise OperationError(f"Laporan ini sudah ditugaskan kepada {officer.full_name}.")
        ticket.assigned_to_id = officer.id
        note = f"ditugaskan kepada {officer.username}"
    ticket.updated_at = now
    record(session, ticket, principal.actor, AuditAction.ASSIGNED, note=note, at=now)
    session.flush()


# --- notes, replies -----------------------------------------------------------------------------------


def add_internal_note(
    session: Session,
    ticket: Ticket,
    principal: StaffPrincipal,
    text: str,
    *,
    now: datetime | None = None,
) -> TicketMessage:
    """A note for colleagues only: never sent to the citizen and not a first response."""
    _check_visible(principal, ticket)
    now = now or utcnow()
    clean = _clean(text, required=True) or ""
    note = TicketMessage(
        ticket_id=ticket.id,
        author_kind=AuthorKind.OFFICER.value,
        author=principal.actor,
        text=clean,
        is_internal=True,
        created_at=now,
    )
    session.add(note)
    ticket.updated_at = now
    record(session, ticket, principal.actor, AuditAction.NOTE_ADDED, note="catatan internal", at=now)
    session.flush()
    return note


def valid_reply_key(key: str | None) -> bool:
    return key is not None and _REPLY_KEY.match(key) is not None


def add_reply(
    session: Session,
    ticket: Ticket,
    principal: StaffPrincipal,
    text: str,
    form_key: str | None,
    *,
    now: datetime | None = None,
) -> tuple[TicketMessage, bool]:
    """Store an officer's answer to the citizen; (message, created). The same form key twice (a double
    submit) returns the first answer, so the caller's notification (keyed by message id) is sent once."""
    _check_visible(principal, ticket)
    if not has_conversation(ticket):
        raise OperationError(
            "Laporan ini diterima di loket dan tidak memiliki saluran percakapan. "
            "Hubungi pelapor melalui kontak yang tercatat."
        )
    if ticket.status == TicketStatus.DIARSIPKAN.value:
        raise OperationError("Laporan ini sudah diarsipkan; balasan tidak dapat dikirim.")
    if not valid_reply_key(form_key):
        raise OperationError("Formulir balasan tidak lengkap. Muat ulang halaman lalu coba lagi.")
    clean = _clean(text, required=True) or ""
    external_id = f"dashboard:{form_key}"
    existing = _reply_by_external_id(session, ticket.id, external_id)
    if existing is not None:
        return existing, False
    ticket_id = ticket.id
    try:
        message = service.add_officer_message(
            session, ticket, clean, principal.actor, external_id=external_id, now=now
        )
    except IntegrityError:
        # A concurrent submit of the same form won the insert: answer with its row.
        session.rollback()
        existing = _reply_by_external_id(session, ticket_id, external_id)
        if existing is None:
            raise
        return existing, False
    return message, True


def _reply_by_external_id(session: Session, ticket_id: int, external_id: str) -> TicketMessage | None:
    return session.scalars(
        select(TicketMessage).where(
            TicketMessage.ticket_id == ticket_id, TicketMessage.external_id == external_id
        )
    ).one_or_none()


# --- duplicates ---------------------------------------------------------------------------------------


def merge_into(
    session: Session,
    ticket: Ticket,
    principal: StaffPrincipal,
    target_code: str,
    *,
    config: TicketConfig,
    now: datetime | None = None,
) -> TicketAudit:
    """Archive `ticket` as a duplicate of the ticket `target_code` (both within the principal's units).

    Follows the lifecycle: only a status that may be archived can be merged. Returns the duplicate's
    status-change audit row (for the citizen's notice); the target gets a `merged` audit row.
    """
    _check_visible(principal, ticket)
    now = now or utcnow()
    if ticket.merged_into_id is not None:
        raise OperationError("Laporan ini sudah digabungkan ke laporan lain.")
    code = normalize_code(target_code or "")
    target = (
        session.scalar(select(Ticket).where(Ticket.code == code, ticket_scope(principal))) if code else None
    )
    if target is None:
        raise OperationError("Laporan tujuan tidak ditemukan atau di luar unit Anda. Periksa kodenya.")
    if target.id == ticket.id:
        raise OperationError("Laporan tidak dapat digabungkan ke dirinya sendiri.")
    if target.merged_into_id is not None:
        raise OperationError(
            "Laporan tujuan sendiri sudah digabungkan ke laporan lain. Pilih laporan induknya."
        )
    if TicketStatus.DIARSIPKAN not in allowed_targets(TicketStatus(ticket.status)):
        raise OperationError(
            f"Laporan berstatus '{STATUS_LABELS[TicketStatus(ticket.status)]}' tidak dapat diarsipkan, "
            "jadi belum dapat digabungkan."
        )
    audit = _status_change(
        session, ticket, principal, TicketStatus.DIARSIPKAN, f"digabung ke {target.code}", config, now
    )
    ticket.merged_into_id = target.id
    target.updated_at = now
    record(
        session,
        target,
        principal.actor,
        AuditAction.MERGED,
        note=f"duplikat {ticket.code} digabungkan ke laporan ini",
        at=now,
    )
    session.flush()
    return audit
