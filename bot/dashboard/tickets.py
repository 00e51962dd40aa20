"""The ticket page (`/dashboard/tiket/{code}`), its attachments, and the officer's actions on it.

Every route fetches the ticket through `visible_ticket` (404 outside the officer's units). Actions are
POST + CSRF, run the domain operation (bot/tickets/operations.py) in a worker thread, commit, then do the
asynchronous part (the citizen's notice or the reply's delivery) and redirect back with a flash. A refused
action re-renders the page with the reason and the officer's input kept.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bot import nik_vault
from bot.api.deps import SessionDep, get_settings_dep
from bot.conversations import repository
from bot.conversations.models import Conversation, Direction, Message, OutboundStatus
from bot.dashboard.deps import CsrfDep, DashboardError, StaffDep, client_ip
from bot.dashboard.queue import CHANNEL_LABELS
from bot.dashboard.templating import render, set_flash
from bot.db import Database, utcnow
from bot.encryption import DecryptionError
from bot.gateway.gateway import Gateway
from bot.ids import DbId
from bot.settings import Settings
from bot.staff.access import visible_ticket
from bot.staff.audit_log import AccessAction, log_access
from bot.staff.models import StaffUser
from bot.staff.principal import StaffPrincipal
from bot.tickets import operations
from bot.tickets.audit import AuditAction, trail
from bot.tickets.models import Ticket, TicketAttachment, TicketAudit
from bot.tickets.operations import OperationError
from bot.tickets.queue import SLA_STATE_LABELS, SlaState, sla_state, soon_threshold
from bot.tickets.service import MAX_MESSAGE_CHARS, TicketConfig, TicketServiceError, TransitionError
from bot.tickets.status import STATUS_LABELS, TicketStatus
from bot.tickets.vocab import PRIORITY_LABELS, TYPE_LABELS, AuthorKind, Priority, TicketType

logger = logging.getLogger(__name__)
router = APIRouter(tags=["dashboard"])

SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
INLINE_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
CONVERSATION_LIMIT = 300
ACTION_ERRORS = (OperationError, TicketServiceError, TransitionError)

DELIVERY_LABELS: dict[str, str] = {
    OutboundStatus.QUEUED: "Dalam antrean pengiriman",
    OutboundStatus.SENDING: "Sedang dikirim",
    OutboundStatus.SENT: "Terkirim",
    OutboundStatus.DELIVERED: "Diterima pelapor",
    OutboundStatus.READ: "Dibaca pelapor",
    OutboundStatus.FAILED: "Gagal terkirim",
    OutboundStatus.NEEDS_TEMPLATE: "Di luar jendela 24 jam WhatsApp: dikirim lewat templat",
}
WEB_QUEUED_LABEL = "Menunggu diambil oleh obrolan web pelapor"
AUDIT_LABELS: dict[str, str] = {
    AuditAction.CREATED: "Laporan dibuat",
    AuditAction.STATUS_CHANGED: "Status diubah",
    AuditAction.MESSAGE_ADDED: "Pesan ditambahkan",
    AuditAction.ATTACHMENT_ADDED: "Lampiran ditambahkan",
    AuditAction.PRIORITY_CHANGED: "Prioritas diubah",
    AuditAction.UNIT_CHANGED: "Unit diubah",
    AuditAction.SLA_RESUMED: "Tenggat dilanjutkan",
    AuditAction.PSEUDONYMISED: "Identitas pelapor disamarkan",
    AuditAction.ASSIGNED: "Penugasan",
    AuditAction.NOTE_ADDED: "Catatan internal",
    AuditAction.MERGED: "Duplikat digabungkan",
}


def _config(settings: Settings) -> TicketConfig:
    return TicketConfig.from_settings(settings)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes from plain DateTime columns; every stored time is UTC.
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


# --- page -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineView:
    label: str
    due_at: datetime
    met_at: datetime | None
    state: str
    state_label: str


@dataclass(frozen=True)
class ChatLine:
    kind: str  # citizen | bot | officer
    text: str
    at: datetime | None
    channel: str
    author: str | None = None
    delivery: str | None = None


@dataclass(frozen=True)
class ThreadItem:
    kind: str  # citizen | officer | note | system
    author: str | None
    text: str
    at: datetime
    delivery: str | None = None


def _deadline_views(ticket: Ticket, now: datetime, config: TicketConfig) -> list[DeadlineView]:
    soon_before = soon_threshold(now, config.calendar)
    closed = sla_state(ticket, now, soon_before) is SlaState.DONE
    paused = ticket.status == TicketStatus.MENUNGGU_PELAPOR.value
    views = []
    for label, due, met in (
        ("Verifikasi", ticket.verification_due_at, ticket.verified_at),
        ("Tanggapan pertama", ticket.first_response_due_at, ticket.first_response_at),
        ("Penyelesaian", ticket.resolution_due_at, ticket.resolved_at),
    ):
        if met is not None:
            state, text = "done", ("Terpenuhi" if met <= due else "Terpenuhi, terlambat")
        elif closed:
            state, text = "done", "Laporan sudah ditutup"
        elif paused:
            state, text = "paused", SLA_STATE_LABELS[SlaState.PAUSED]
        elif due < now:
            state, text = "overdue", SLA_STATE_LABELS[SlaState.OVERDUE]
        elif due < soon_before:
            state, text = "soon", SLA_STATE_LABELS[SlaState.SOON]
        else:
            state, text = "ok", SLA_STATE_LABELS[SlaState.OK]
        views.append(DeadlineView(label, due, met, state, text))
    return views


def _delivery_label(message: Message | None) -> str | None:
    if message is None:
        return None
    if message.status == OutboundStatus.QUEUED and message.channel == "web":
        return WEB_QUEUED_LABEL
    label = DELIVERY_LABELS.get(message.status, message.status)
    if message.status == OutboundStatus.FAILED and message.status_reason:
        label = f"{label} ({message.status_reason})"
    return label


def _conversation(session: Session, ticket: Ticket) -> tuple[list[ChatLine], bool]:
    """The reporter's whole conversation, oldest first; (lines, truncated)."""
    conversation = session.scalar(
        select(Conversation).where(
            Conversation.channel == ticket.reporter_channel,
            Conversation.sender_id == ticket.reporter_sender_id,
        )
    )
    if conversation is None:
        return [], False
    newest = session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation.id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(CONVERSATION_LIMIT + 1)
    ).all()
    truncated = len(newest) > CONVERSATION_LIMIT
    lines = []
    for message in reversed(newest[:CONVERSATION_LIMIT]):
        if message.direction == Direction.IN:
            lines.append(ChatLine("citizen", message.text, _aware(message.created_at), message.channel))
        elif operations.is_officer_message(message.payload):
            payload = message.payload or {}
            officer = payload.get("officer") or payload.get("officer_name")
            lines.append(
                ChatLine(
                    "officer",
                    message.text,
                    _aware(message.created_at),
                    message.channel,
                    author=officer if isinstance(officer, str) else None,
                    delivery=_delivery_label(message),
                )
            )
        elif message.text:
            lines.append(ChatLine("bot", message.text, _aware(message.created_at), message.channel))
    return lines, truncated


def _thread(session: Session, ticket: Ticket) -> list[ThreadItem]:
    items = []
    has_channel = operations.has_conversation(ticket)
    for message in ticket.messages:
        delivery = None
        if message.is_internal:
            kind = "note"
        elif message.author_kind == AuthorKind.OFFICER.value:
            kind = "officer"
            if has_channel:
                outbound = repository.find_notification(
                    session, ticket.reporter_channel, operations.reply_key(ticket, message)
                )
                delivery = _delivery_label(outbound) if outbound else None
        elif message.author_kind == AuthorKind.CITIZEN.value:
            kind = "citizen"
        else:
            kind = "system"
        items.append(ThreadItem(kind, message.author, message.text, message.created_at, delivery))
    return items


def _osm_url(ticket: Ticket) -> str | None:
    if ticket.latitude is None or ticket.longitude is None:
        return None
    lat, lon = f"{ticket.latitude:.6f}", f"{ticket.longitude:.6f}"
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"


def _label(mapping: dict[Any, str], enum: type, value: str) -> str:
    try:
        return mapping[enum(value)]
    except (KeyError, ValueError):
        return value


def _shown_niks(
    request: Request, session: Session, staff: StaffPrincipal, ticket: Ticket, config: TicketConfig
) -> list[str] | None:
    """The NIK(s) of the complaint, decrypted for this page (an access-log row says they were shown);
    None when they cannot be decrypted (DATA_ENCRYPTION_KEY missing or changed)."""
    try:
        niks = nik_vault.unseal(ticket.nik_sealed, config.cipher)
    except DecryptionError:
        logger.warning("ticket %s: NIK not decryptable with DATA_ENCRYPTION_KEY", ticket.code)
        return None
    if niks:
        log_access(
            session,
            staff,
            AccessAction.VIEW_NIK,
            target_type="ticket",
            target_id=ticket.code,
            detail=f"{len(niks)} NIK",
            ip=client_ip(request),
        )
    return niks


def ticket_page(
    request: Request,
    session: Session,
    staff: StaffPrincipal,
    settings: Settings,
    code: str,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    ticket = visible_ticket(session, staff, code)
    config = _config(settings)
    log_access(
        session,
        staff,
        AccessAction.VIEW_TICKET,
        target_type="ticket",
        target_id=ticket.code,
        ip=client_ip(request),
    )
    niks = _shown_niks(request, session, staff, ticket, config)
    now = utcnow()
    has_channel = operations.has_conversation(ticket)
    conversation, truncated = _conversation(session, ticket) if has_channel else ([], False)
    assignee = session.get(StaffUser, ticket.assigned_to_id) if ticket.assigned_to_id else None
    merged_into = session.get(Ticket, ticket.merged_into_id) if ticket.merged_into_id else None
    duplicates = session.scalars(
        select(Ticket.code).where(Ticket.merged_into_id == ticket.id).order_by(Ticket.id)
    ).all()
    officers = operations.unit_officers(session, ticket.unit)
    if not staff.is_supervisor:
        officers = [o for o in officers if o.id == staff.id]
    context = {
        "nav_active": "antrean",
        "ticket": ticket,
        "niks": niks,
        "type_label": _label(TYPE_LABELS, TicketType, ticket.type),
        "channel_label": CHANNEL_LABELS.get(ticket.reporter_channel, ticket.reporter_channel),
        "osm_url": _osm_url(ticket),
        "deadlines": _deadline_views(ticket, now, config),
        "attachments": ticket.attachments,
        "inline_types": INLINE_IMAGE_TYPES,
        "has_channel": has_channel,
        "conversation": conversation,
        "conversation_truncated": truncated,
        "thread": _thread(session, ticket),
        "audit": trail(session, ticket.id),
        "audit_labels": AUDIT_LABELS,
        "assignee": assignee,
        "merged_into": merged_into,
        "duplicates": duplicates,
        "officers": officers,
        "units": [u for u in config.routing.units() if u != ticket.unit],
        "status_targets": [(s.value, STATUS_LABELS[s]) for s in operations.status_targets(ticket)],
        "priorities": [(p.value, PRIORITY_LABELS[p]) for p in Priority],
        "can_verify": ticket.status == TicketStatus.BELUM_DIVERIFIKASI.value,
        "reply_key": secrets.token_urlsafe(24),
        "max_chars": MAX_MESSAGE_CHARS,
        "channel_labels": CHANNEL_LABELS,
        "error": error,
        "form": form or {},
    }
    return render(request, "ticket/page.html", context, status_code)


@router.get("/dashboard/tiket/{code}", response_class=HTMLResponse)
def show_ticket(
    request: Request, code: str, staff: StaffDep, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    return ticket_page(request, session, staff, settings, code)


@router.get("/dashboard/tiket/{code}/lampiran/{attachment_id}")
def attachment_file(
    request: Request,
    code: str,
    attachment_id: DbId,
    staff: StaffDep,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    ticket = visible_ticket(session, staff, code)
    attachment = session.get(TicketAttachment, attachment_id)
    if attachment is None or attachment.ticket_id != ticket.id:
        raise DashboardError(404, "Lampiran tidak ditemukan.")
    root = Path(settings.attachments_dir).resolve()
    path = (root / attachment.storage_path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise DashboardError(404, "Berkas lampiran tidak ditemukan di penyimpanan.")
    log_access(
        session,
        staff,
        AccessAction.VIEW_ATTACHMENT,
        target_type="attachment",
        target_id=attachment.id,
        detail=ticket.code,
        ip=client_ip(request),
    )
    inline = attachment.content_type in INLINE_IMAGE_TYPES
    return FileResponse(
        path,
        media_type=attachment.content_type if inline else "application/octet-stream",
        filename=attachment.filename,
        content_disposition_type="inline" if inline else "attachment",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "private, no-store",
        },
    )


# --- actions ----------------------------------------------------------------------------------------------

Operation = Callable[[Ticket, TicketConfig], TicketAudit | None]


@dataclass(frozen=True)
class Outcome:
    ticket_id: int
    code: str
    audit_id: int | None = None
    error: str | None = None


def _run(
    session: Session, staff: StaffPrincipal, settings: Settings, code: str, operation: Operation
) -> Outcome:
    ticket = visible_ticket(session, staff, code)
    try:
        audit = operation(ticket, _config(settings))
        audit_id = audit.id if audit is not None else None
        session.commit()
    except ACTION_ERRORS as error:
        session.rollback()
        return Outcome(ticket.id, ticket.code, error=str(error))
    return Outcome(ticket.id, ticket.code, audit_id)


async def send_status_notice(gateway: Gateway, database: Database, ticket_id: int, audit_id: int) -> None:
    """Tell the citizen about the status change; never let a failed notice fail the officer's action."""
    try:
        from bot.tickets.notices import notify_status_change

        await notify_status_change(gateway, database, ticket_id, audit_id)
    except Exception:
        logger.exception("status notice for ticket %d (audit %d) could not be queued", ticket_id, audit_id)


async def _act(
    request: Request,
    session: Session,
    staff: StaffPrincipal,
    settings: Settings,
    code: str,
    operation: Operation,
    success: str,
    form: dict[str, str] | None = None,
) -> Response:
    outcome = await run_in_threadpool(_run, session, staff, settings, code, operation)
    if outcome.error is not None:
        return await run_in_threadpool(
            lambda: ticket_page(
                request,
                session,
                staff,
                settings,
                outcome.code,
                error=outcome.error,
                form=form,
                status_code=400,
            )
        )
    if outcome.audit_id is not None:
        await send_status_notice(
            request.app.state.gateway, request.app.state.database, outcome.ticket_id, outcome.audit_id
        )
    return _back(outcome.code, success)


def _back(code: str, message: str) -> Response:
    response = RedirectResponse(f"/dashboard/tiket/{code}", status_code=303)
    set_flash(response, message)
    return response


@router.post("/dashboard/tiket/{code}/verifikasi", dependencies=[CsrfDep])
async def verify_ticket(
    request: Request, code: str, staff: StaffDep, session: SessionDep, settings: SettingsDep
) -> Response:
    return await _act(
        request,
        session,
        staff,
        settings,
        code,
        lambda ticket, config: operations.verify(session, ticket, staff, config=config),
        "Laporan telah diverifikasi.",
    )


@router.post("/dashboard/tiket/{code}/disposisi", dependencies=[CsrfDep])
async def dispose_ticket(
    request: Request,
    code: str,
    staff: StaffDep,
    session: SessionDep,
    settings: SettingsDep,
    unit: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    return await _act(
        request,
        session,
        staff,
        settings,
        code,
        lambda ticket, config: operations.dispose(session, ticket, staff, unit, note, config=config),
        f"Laporan telah didisposisikan ke {unit}.",
        {"dispose_note": note},
    )


@router.post("/dashboard/tiket/{code}/status", dependencies=[CsrfDep])
async def change_ticket_status(
    request: Request,
    code: str,
    staff: StaffDep,
    session: SessionDep,
    settings: SettingsDep,
    status: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    label = _label(STATUS_LABELS, TicketStatus, status)
    return await _act(
        request,
        session,
        staff,
        settings,
        code,
        lambda ticket, config: operations.change_status(session, ticket, staff, status, note, config=config),
        f"Status laporan diubah menjadi '{label}'.",
        {"status": status, "status_note": note},
    )


def _no_audit(action: Callable[[Ticket], object]) -> Operation:
    def run(ticket: Ticket, _config: TicketConfig) -> None:
        action(ticket)

    return run


@router.post("/dashboard/tiket/{code}/prioritas", dependencies=[CsrfDep])
async def set_ticket_priority(
    request: Request,
    code: str,
    staff: StaffDep,
    session: SessionDep,
    settings: SettingsDep,
    priority: Annotated[str, Form()] = "",
) -> Response:
    return await _act(
        request,
        session,
        staff,
        settings,
        code,
        _no_audit(lambda ticket: operations.set_priority(session, ticket, staff, priority)),
        "Prioritas laporan telah diubah.",
    )


@router.post("/dashboard/tiket/{code}/tugaskan", dependencies=[CsrfDep])
async def assign_ticket(
    request: Request,
    code: str,
    staff: StaffDep,
    session: SessionDep,
    settings: SettingsDep,
    officer_id: Annotated[str, Form()] = "",
) -> Response:
    chosen: int | None
    try:
        chosen = int(officer_id) if officer_id.strip() else None
    except ValueError:
        chosen = -1  # no such officer: the operation refuses it politely
    return await _act(
        request,
        session,
        staff,
        settings,
        code,
        _no_audit(lambda ticket: operations.assign(session, ticket, staff, chosen)),
        "Penugasan laporan telah diperbarui.",
    )


@router.post("/dashboard/tiket/{code}/catatan", dependencies=[CsrfDep])
async def add_note(
    request: Request,
    code: str,
    staff: StaffDep,
    session: SessionDep,
    settings: SettingsDep,
    text: Annotated[str, Form()] = "",
) -> Response:
    return await _act(
        request,
        session,
        staff,
        settings,
        code,
        _no_audit(lambda ticket: operations.add_internal_note(session, ticket, staff, text)),
        "Catatan internal telah disimpan.",
        {"note_text": text},
    )


@router.post("/dashboard/tiket/{code}/gabung", dependencies=[CsrfDep])
async def merge_ticket(
    request: Request,
    code: str,
    staff: StaffDep,
    session: SessionDep,
    settings: SettingsDep,
    target: Annotated[str, Form()] = "",
) -> Response:
    return await _act(
        request,
        session,
        staff,
        settings,
        code,
        lambda ticket, config: operations.merge_into(session, ticket, staff, target, config=config),
        "Laporan telah digabungkan sebagai duplikat.",
        {"merge_target": target},
    )


# --- reply to the citizen ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredReply:
    ticket_id: int
    code: str
    channel: str
    sender_id: str
    text: str
    key: str
    created: bool


def _store_reply(
    session: Session, staff: StaffPrincipal, code: str, text: str, form_key: str
) -> StoredReply | str:
    ticket = visible_ticket(session, staff, code)
    try:
        message, created = operations.add_reply(session, ticket, staff, text, form_key)
        session.commit()
    except ACTION_ERRORS as error:
        session.rollback()
        return str(error)
    return StoredReply(
        ticket.id,
        ticket.code,
        ticket.reporter_channel,
        ticket.reporter_sender_id,
        operations.reply_text(ticket, message.text),
        operations.reply_key(ticket, message),
        created,
    )


@router.post("/dashboard/tiket/{code}/balas", dependencies=[CsrfDep])
async def reply_to_citizen(
    request: Request,
    code: str,
    staff: StaffDep,
    session: SessionDep,
    settings: SettingsDep,
    text: Annotated[str, Form()] = "",
    reply_key: Annotated[str, Form()] = "",
) -> Response:
    stored = await run_in_threadpool(_store_reply, session, staff, code, text, reply_key)
    if isinstance(stored, str):
        return await run_in_threadpool(
            lambda: ticket_page(
                request,
                session,
                staff,
                settings,
                code,
                error=stored,
                form={"reply_text": text},
                status_code=400,
            )
        )
    gateway: Gateway = request.app.state.gateway
    try:
        await gateway.notify(
            stored.channel,
            stored.sender_id,
            stored.text,
            key=stored.key,
            payload=operations.officer_payload(staff, stored.code),
        )
    except Exception:
        logger.exception("reply %s of ticket %d could not be queued", stored.key, stored.ticket_id)
        return _back(
            stored.code,
            "Balasan tersimpan pada laporan, tetapi belum dapat dikirim ke pelapor. Coba lagi beberapa saat.",
        )
    if not stored.created:
        return _back(stored.code, "Balasan ini sudah dikirim sebelumnya; tidak dikirim dua kali.")
    return _back(stored.code, "Balasan telah dikirim ke pelapor.")
