"""Ticket use cases, free of any web framework: file, look up, converse, attach, change status.

Sessions: every function takes a SQLAlchemy Session and only flushes, except `create_ticket`, which
commits (its idempotency relies on the insert being final; see its docstring). Functions that may hit a
unique-constraint race (`create_ticket`, `add_citizen_message`) roll the session back on that race, so
call them first in their unit of work.

Actors in the audit trail: officers by their user name, "pelapor" for the reporter and "sistem" for
automatic changes. The reporter is never named in the audit (it is append-only and must survive the
reporter's identity being pseudonymised); the ticket row links to the reporter instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import nik_vault
from bot.db import utcnow
from bot.encryption import DataCipher, cipher_from_settings
from bot.media import linking
from bot.media.models import Media
from bot.settings import Settings, get_settings
from bot.tickets import attachments as files
from bot.tickets.attachments import AttachmentRejected
from bot.tickets.audit import AuditAction, record
from bot.tickets.codes import generate_code, normalize_code
from bot.tickets.models import Ticket, TicketAttachment, TicketConsent, TicketMessage
from bot.tickets.phone import InvalidPhone, normalize_phone
from bot.tickets.routing import RoutingTable, load_routing
from bot.tickets.sla import DEFAULT_TIER, SlaTier, WorkingCalendar, compute_deadlines, shift_for_pause
from bot.tickets.status import (
    ACTIVE_STATUSES,
    NOTE_REQUIRED_TARGETS,
    TicketStatus,
    TransitionError,
    check_transition,
)
from bot.tickets.vocab import AuthorKind, Category, Priority, TicketType

__all__ = [
    "AttachmentRejected",
    "ConsentInfo",
    "IdempotencyConflict",
    "NewTicket",
    "ReporterInfo",
    "TicketClosed",
    "TicketConfig",
    "TicketServiceError",
    "TicketValidationError",
    "TransitionError",
    "add_attachment",
    "add_citizen_message",
    "add_officer_message",
    "change_priority",
    "change_status",
    "change_unit",
    "create_ticket",
    "get_ticket_by_code",
    "get_ticket_for_reporter",
    "latest_officer_message",
    "list_reporter_tickets",
]

REPORTER_ACTOR = "pelapor"
SYSTEM_ACTOR = "sistem"
MAX_DESCRIPTION_CHARS = 4000
MAX_MESSAGE_CHARS = 4000
MAX_CODE_ATTEMPTS = 8


EARLIEST_INCIDENT_DATE = date(1945, 8, 17)


class TicketServiceError(Exception):
    """Base of the errors this module raises on purpose; `str(error)` is Indonesian and safe to show."""


class TicketValidationError(TicketServiceError):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


class IdempotencyConflict(TicketServiceError):
    """The idempotency key was already used by a different reporter."""


class TicketClosed(TicketServiceError):
    """The ticket no longer accepts messages or attachments."""


@dataclass(frozen=True)
class TicketConfig:
    routing: RoutingTable
    calendar: WorkingCalendar
    attachments_dir: Path
    attachment_max_bytes: int = 5 * 1024 * 1024
    attachment_max_per_ticket: int = 10
    timezone: str = "Asia/Jakarta"
    # Seals the NIKs of complaint descriptions (DATA_ENCRYPTION_KEY); None = they are kept masked only.
    cipher: DataCipher | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> TicketConfig:
        categories = [c.strip() for c in settings.sla_holiday_categories.split(",") if c.strip()]
        return cls(
            routing=load_routing(settings.tickets_routing_file),
            calendar=WorkingCalendar(tz=settings.timezone, holiday_categories=categories or ["public"]),
            attachments_dir=settings.attachments_dir,
            attachment_max_bytes=settings.attachment_max_bytes,
            attachment_max_per_ticket=settings.attachment_max_per_ticket,
            timezone=settings.timezone,
            cipher=cipher_from_settings(settings),
        )


@lru_cache(maxsize=1)
def _default_config() -> TicketConfig:
    return TicketConfig.from_settings(get_settings())


@dataclass(frozen=True)
class ReporterInfo:
    channel: str
    sender_id: str
    name: str | None = None
    phone: str | None = None
    anonymous: bool = False
    confidential: bool = True


@dataclass(frozen=True)
class ConsentInfo:
    text_version: str
    text_sha256: str
    given_at: datetime | None = None


@dataclass(frozen=True)
class NewTicket:
    category: Category
    description: str
    reporter: ReporterInfo
    type: TicketType = TicketType.PENGADUAN
    priority: Priority = Priority.SEDANG
    location_text: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    incident_date: date | None = None
    consent: ConsentInfo | None = None
    extra: dict[str, str] = field(default_factory=dict)
    # Media the reporter sent on a messaging channel (bot/media), linked as attachments.
    attachment_ids: tuple[int, ...] = ()


# --- validation -------------------------------------------------------------------------------------------


def _clean_text(value: str | None, field_name: str, max_chars: int, required: bool = False) -> str | None:
    text = (value or "").strip()
    if "\x00" in text:
        raise TicketValidationError(field_name, "Teks mengandung karakter yang tidak diizinkan.")
    if not text:
        if required:
            raise TicketValidationError(field_name, "Bagian ini wajib diisi.")
        return None
    if len(text) > max_chars:
        raise TicketValidationError(field_name, f"Teks terlalu panjang (paling banyak {max_chars} karakter).")
    return text


def _validate(new: NewTicket, now: datetime, config: TicketConfig) -> NewTicket:
    _clean_text(new.reporter.channel, "channel", 32, required=True)
    _clean_text(new.reporter.sender_id, "sender_id", 128, required=True)
    if (new.latitude is None) != (new.longitude is None):
        raise TicketValidationError("latitude", "Lintang dan bujur harus diisi bersamaan.")
    if new.latitude is not None and not -90 <= new.latitude <= 90:
        raise TicketValidationError("latitude", "Lintang harus di antara -90 dan 90.")
    if new.longitude is not None and not -180 <= new.longitude <= 180:
        raise TicketValidationError("longitude", "Bujur harus di antara -180 dan 180.")
    if new.incident_date is not None and new.incident_date > config.calendar.local_date(now):
        raise TicketValidationError("incident_date", "Tanggal kejadian tidak boleh di masa mendatang.")
    if new.incident_date is not None and new.incident_date < EARLIEST_INCIDENT_DATE:
        # A date this old is a misreading (the chat once turned "2026-11-30" into 1930), never a report.
        raise TicketValidationError("incident_date", "Tanggal kejadian terlalu lama; mohon periksa kembali.")
    if new.consent is not None and new.consent.given_at is not None and new.consent.given_at > now:
        raise TicketValidationError("consent", "Waktu persetujuan tidak boleh di masa mendatang.")
    phone = None
    if new.reporter.phone and new.reporter.phone.strip():
        try:
            phone = normalize_phone(new.reporter.phone)
        except InvalidPhone as exc:
            raise TicketValidationError("reporter_phone", str(exc)) from exc
    reporter = ReporterInfo(
        channel=new.reporter.channel.strip(),
        sender_id=new.reporter.sender_id.strip(),
        name=_clean_text(new.reporter.name, "reporter_name", 120),
        phone=phone,
        anonymous=new.reporter.anonymous,
        confidential=new.reporter.confidential,
    )
    return NewTicket(
        category=Category(new.category),
        description=_clean_text(new.description, "description", MAX_DESCRIPTION_CHARS, required=True) or "",
        reporter=reporter,
        type=TicketType(new.type),
        priority=Priority(new.priority),
        location_text=_clean_text(new.location_text, "location_text", 300),
        latitude=new.latitude,
        longitude=new.longitude,
        incident_date=new.incident_date,
        consent=new.consent,
        attachment_ids=tuple(new.attachment_ids),
    )


def _reporters_media(session: Session, new: NewTicket, config: TicketConfig) -> list[Media]:
    """The staged media to link, all the reporter's own (else a validation error naming the field)."""
    if len(set(new.attachment_ids)) > config.attachment_max_per_ticket:
        raise TicketValidationError(
            "attachment_ids", f"Paling banyak {config.attachment_max_per_ticket} lampiran untuk satu laporan."
        )
    try:
        return linking.media_of_sender(
            session, new.attachment_ids, new.reporter.channel.strip(), new.reporter.sender_id.strip()
        )
    except linking.MediaNotFound as exc:
        raise TicketValidationError(
            "attachment_ids",
            "Lampiran tidak ditemukan untuk akun Anda. Silakan kirim ulang foto atau dokumennya.",
        ) from exc


def _link_media(
    session: Session, ticket: Ticket, media: Sequence[Media], config: TicketConfig, now: datetime
) -> bool:
    """Attach the media the ticket does not have yet; True when something was added (idempotent)."""
    if not media:
        return False
    new = linking.attachments_to_add(session, ticket, media)
    if not new:
        return False
    if linking.attachment_count(session, ticket) + len(new) > config.attachment_max_per_ticket:
        raise TicketValidationError(
            "attachment_ids", f"Paling banyak {config.attachment_max_per_ticket} lampiran untuk satu laporan."
        )
    for attachment in linking.link(session, ticket, new, now):
        record(
            session,
            ticket,
            REPORTER_ACTOR,
            AuditAction.ATTACHMENT_ADDED,
            note=f"{attachment.content_type}, {attachment.size_bytes} byte",
            at=now,
        )
    return True


# --- create -----------------------------------------------------------------------------------------------


def _by_idempotency_key(session: Session, key: str) -> Ticket | None:
    return session.scalars(select(Ticket).where(Ticket.idempotency_key == key)).one_or_none()


def _same_reporter_or_raise(ticket: Ticket, reporter: ReporterInfo) -> Ticket:
    if (ticket.reporter_channel, ticket.reporter_sender_id) != (
        reporter.channel.strip(),
        reporter.sender_id.strip(),
    ):
        raise IdempotencyConflict("Kunci idempotensi sudah dipakai untuk laporan lain.")
    return ticket


def create_ticket(
    session: Session,
    new: NewTicket,
    idempotency_key: str,
    *,
    config: TicketConfig | None = None,
    now: datetime | None = None,
    code_factory: Callable[[], str] = generate_code,
    actor: str = REPORTER_ACTOR,
) -> tuple[Ticket, bool]:
    """File a ticket once per `idempotency_key`; returns (ticket, created).

    `actor` names who filed it in the audit trail: the reporter, or the officer who filed it for a
    walk-in visitor (dashboard loket).

    A repeat with the same key, sequential or concurrent and from any process, returns the first ticket
    with created=False: the unique index on the key decides the race, the loser rolls back and re-reads.
    A tracking-code collision (unique index on code) is retried with a fresh code. The session is
    committed here, because the insert must be final before anyone is told the code.

    `new.attachment_ids` (staged media of the same channel identity, else TicketValidationError before
    anything is stored) become attachments in the same transaction; a repeat links any still missing.
    """
    config = config or _default_config()
    now = now or utcnow()
    key = (idempotency_key or "").strip()
    if not 8 <= len(key) <= 128:
        raise TicketValidationError("idempotency_key", "Kunci idempotensi harus 8 sampai 128 karakter.")
    existing = _by_idempotency_key(session, key)
    if existing is not None:
        ticket = _same_reporter_or_raise(existing, new.reporter)
        if new.attachment_ids and _link_media(
            session, ticket, _reporters_media(session, new, config), config, now
        ):
            session.commit()
        return ticket, False
    new = _validate(new, now, config)
    media = _reporters_media(session, new, config)
    description = nik_vault.protect_description(
        session, new.description, new.reporter.channel, new.reporter.sender_id, config.cipher, now
    )
    route = config.routing.route(new.category)
    tier = config.routing.tier_for(new.category, new.type, new.priority)
    deadlines = compute_deadlines(now, tier, config.calendar)

    for _attempt in range(MAX_CODE_ATTEMPTS):
        code = code_factory()
        ticket = Ticket(
            code=code,
            idempotency_key=key,
            type=new.type.value,
            category=new.category.value,
            unit=route.unit,
            sla_tier=tier.name,
            priority=new.priority.value,
            status=TicketStatus.BELUM_DIVERIFIKASI.value,
            description=description.text,
            nik_sealed=description.sealed,
            location_text=new.location_text,
            latitude=new.latitude,
            longitude=new.longitude,
            incident_date=new.incident_date,
            reporter_channel=new.reporter.channel,
            reporter_sender_id=new.reporter.sender_id,
            reporter_name=None if new.reporter.anonymous else new.reporter.name,
            reporter_phone=new.reporter.phone,
            is_anonymous=new.reporter.anonymous,
            is_confidential=new.reporter.confidential,
            created_at=now,
            updated_at=now,
            verification_due_at=deadlines.verification,
            first_response_due_at=deadlines.first_response,
            resolution_due_at=deadlines.resolution,
            paused_seconds_total=0,
        )
        session.add(ticket)
        try:
            # The ticket row goes first and alone: a constraint error can only be about the key or code.
            session.flush()
        except IntegrityError:
            session.rollback()
            existing = _by_idempotency_key(session, key)
            if existing is not None:
                return _same_reporter_or_raise(existing, new.reporter), False
            if session.scalars(select(Ticket.id).where(Ticket.code == code)).first() is None:
                raise
            continue  # tracking-code collision: draw another code
        if new.consent is not None:
            session.add(
                TicketConsent(
                    ticket_id=ticket.id,
                    text_version=new.consent.text_version,
                    text_sha256=new.consent.text_sha256.lower(),
                    channel=new.reporter.channel,
                    given_at=new.consent.given_at or now,
                )
            )
        record(session, ticket, actor, AuditAction.CREATED, to_status=ticket.status, at=now)
        _link_media(session, ticket, media, config, now)
        session.commit()
        return ticket, True
    raise RuntimeError("could not draw a unique tracking code")  # 32**8 codes: effectively unreachable


# --- look-ups ---------------------------------------------------------------------------------------------


def get_ticket_by_code(session: Session, code: str) -> Ticket | None:
    """Officer-side look-up (no reporter check). Never expose this to citizens."""
    canonical = normalize_code(code)
    if canonical is None:
        return None
    return session.scalars(select(Ticket).where(Ticket.code == canonical)).one_or_none()


def get_ticket_for_reporter(session: Session, code: str, channel: str, sender_id: str) -> Ticket | None:
    """The ticket if `code` is one of this reporter's; None otherwise, whether or not the code exists."""
    canonical = normalize_code(code)
    if canonical is None or not channel or not sender_id:
        return None
    return session.scalars(
        select(Ticket).where(
            Ticket.code == canonical,
            Ticket.reporter_channel == channel,
            Ticket.reporter_sender_id == sender_id,
        )
    ).one_or_none()


def list_reporter_tickets(
    session: Session, channel: str, sender_id: str, limit: int = 10
) -> Sequence[Ticket]:
    limit = max(1, min(limit, 100))
    return session.scalars(
        select(Ticket)
        .where(Ticket.reporter_channel == channel, Ticket.reporter_sender_id == sender_id)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
    ).all()


def latest_officer_message(session: Session, ticket_id: int) -> TicketMessage | None:
    return session.scalars(
        select(TicketMessage)
        .where(TicketMessage.ticket_id == ticket_id, TicketMessage.author_kind == AuthorKind.OFFICER.value)
        .order_by(TicketMessage.id.desc())
        .limit(1)
    ).first()


# --- status and SLA ---------------------------------------------------------------------------------------


def _tier_of(ticket: Ticket, config: TicketConfig) -> SlaTier:
    tier = config.routing.tiers.get(ticket.sla_tier)
    if tier is not None:
        return tier
    try:
        return config.routing.route(Category(ticket.category)).tier
    except (KeyError, ValueError):
        return DEFAULT_TIER


def _resume_clock(ticket: Ticket, now: datetime, config: TicketConfig) -> None:
    """Move the still-open deadlines by the paused time and clear the pause."""
    if ticket.paused_at is None:
        return
    paused_at, calendar, tier = ticket.paused_at, config.calendar, _tier_of(ticket, config)
    if ticket.verified_at is None:
        ticket.verification_due_at = shift_for_pause(
            ticket.verification_due_at, tier.verification.unit, paused_at, now, calendar
        )
    if ticket.first_response_at is None:
        ticket.first_response_due_at = shift_for_pause(
            ticket.first_response_due_at, tier.first_response.unit, paused_at, now, calendar
        )
    if ticket.resolved_at is None:
        ticket.resolution_due_at = shift_for_pause(
            ticket.resolution_due_at, tier.resolution.unit, paused_at, now, calendar
        )
    ticket.paused_seconds_total = (ticket.paused_seconds_total or 0) + max(
        int((now - paused_at).total_seconds()), 0
    )
    ticket.paused_at = None
    ticket.paused_from_status = None


def change_status(
    session: Session,
    ticket: Ticket,
    to: TicketStatus | str,
    actor: str,
    note: str | None = None,
    *,
    config: TicketConfig | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Apply one lifecycle step with its SLA effects and an audit row.

    The note of a step the citizen must be told about (selesai, ditolak, menunggu_pelapor) is also posted to
    the ticket as the officer's message to the citizen; other notes stay internal (audit only).
    """
    config = config or _default_config()
    now = now or utcnow()
    target = TicketStatus(to)
    current = TicketStatus(ticket.status)
    paused_from = TicketStatus(ticket.paused_from_status) if ticket.paused_from_status else None
    note = _clean_text(note, "note", MAX_MESSAGE_CHARS)
    check_transition(current, target, note, paused_from)

    if current is TicketStatus.MENUNGGU_PELAPOR:
        _resume_clock(ticket, now, config)
    if target is TicketStatus.MENUNGGU_PELAPOR:
        ticket.paused_at = now
        ticket.paused_from_status = current.value
    if current is TicketStatus.BELUM_DIVERIFIKASI and target is not TicketStatus.MENUNGGU_PELAPOR:
        ticket.verified_at = ticket.verified_at or now  # verification decided (accepted or not)
    if target is TicketStatus.SELESAI:
        ticket.resolved_at = now
    if target in (TicketStatus.SELESAI, TicketStatus.DITOLAK, TicketStatus.DIARSIPKAN):
        ticket.closed_at = ticket.closed_at or now
    if current is TicketStatus.SELESAI and target is TicketStatus.DIPROSES:  # reopened
        ticket.resolved_at = None
        ticket.closed_at = None

    ticket.status = target.value
    ticket.updated_at = now
    if target in NOTE_REQUIRED_TARGETS and note:
        _add_message(session, ticket, AuthorKind.OFFICER, note, author=actor, now=now)
    record(
        session,
        ticket,
        actor,
        AuditAction.STATUS_CHANGED,
        from_status=current.value,
        to_status=target.value,
        note=note,
        at=now,
    )
    session.flush()
    return ticket


def change_priority(
    session: Session,
    ticket: Ticket,
    priority: Priority | str,
    actor: str,
    note: str | None = None,
    *,
    now: datetime | None = None,
) -> Ticket:
    """Priority orders the officers' queue; deadlines set at filing are kept (they are promises made)."""
    now = now or utcnow()
    new_priority = Priority(priority)
    previous = ticket.priority
    ticket.priority = new_priority.value
    ticket.updated_at = now
    record(
        session,
        ticket,
        actor,
        AuditAction.PRIORITY_CHANGED,
        note=f"{previous} -> {new_priority.value}" + (f": {note}" if note else ""),
        at=now,
    )
    session.flush()
    return ticket


def change_unit(
    session: Session,
    ticket: Ticket,
    unit: str,
    actor: str,
    note: str | None = None,
    *,
    now: datetime | None = None,
) -> Ticket:
    """Re-route to another responsible unit (disposition), e.g. when the first unit is not competent."""
    now = now or utcnow()
    clean = _clean_text(unit, "unit", 200, required=True) or ""
    previous = ticket.unit
    ticket.unit = clean
    ticket.updated_at = now
    record(
        session,
        ticket,
        actor,
        AuditAction.UNIT_CHANGED,
        note=f"{previous} -> {clean}" + (f": {note}" if note else ""),
        at=now,
    )
    session.flush()
    return ticket


# --- messages and attachments -----------------------------------------------------------------------------


def _add_message(
    session: Session,
    ticket: Ticket,
    kind: AuthorKind,
    text: str,
    *,
    author: str | None = None,
    external_id: str | None = None,
    now: datetime,
) -> TicketMessage:
    message = TicketMessage(
        ticket_id=ticket.id,
        author_kind=kind.value,
        author=author,
        text=text,
        external_id=external_id,
        created_at=now,
    )
    session.add(message)
    if kind is AuthorKind.OFFICER and ticket.first_response_at is None:
        ticket.first_response_at = now
    return message


def _accepting_input(ticket: Ticket) -> None:
    if ticket.status == TicketStatus.DIARSIPKAN.value:
        raise TicketClosed("Laporan ini sudah diarsipkan. Silakan buat laporan baru bila masih diperlukan.")


def _citizen_answered(session: Session, ticket: Ticket, now: datetime, config: TicketConfig) -> None:
    """A citizen's reply ends a wait for the citizen: resume the clock without waiting for an officer."""
    if ticket.status == TicketStatus.MENUNGGU_PELAPOR.value:
        resume_to = TicketStatus(ticket.paused_from_status or TicketStatus.BELUM_DIVERIFIKASI.value)
        if resume_to not in ACTIVE_STATUSES:
            resume_to = TicketStatus.BELUM_DIVERIFIKASI
        change_status(
            session,
            ticket,
            resume_to,
            SYSTEM_ACTOR,
            "Pelapor telah memberikan tanggapan.",
            config=config,
            now=now,
        )


def add_citizen_message(
    session: Session,
    ticket: Ticket,
    text: str,
    *,
    external_id: str | None = None,
    config: TicketConfig | None = None,
    now: datetime | None = None,
) -> tuple[TicketMessage, bool]:
    """Append the reporter's message; returns (message, created). A repeated `external_id` is a no-op."""
    config = config or _default_config()
    now = now or utcnow()
    clean = _clean_text(text, "text", MAX_MESSAGE_CHARS, required=True) or ""
    external_id = _clean_text(external_id, "external_id", 128)
    _accepting_input(ticket)
    if external_id is not None:
        existing = _message_by_external_id(session, ticket.id, external_id)
        if existing is not None:
            return existing, False
    message = _add_message(session, ticket, AuthorKind.CITIZEN, clean, external_id=external_id, now=now)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        existing = _message_by_external_id(session, ticket.id, external_id or "")
        if existing is None:
            raise
        return existing, False
    ticket.updated_at = now
    record(session, ticket, REPORTER_ACTOR, AuditAction.MESSAGE_ADDED, at=now)
    _citizen_answered(session, ticket, now, config)
    session.flush()
    return message, True


def _message_by_external_id(session: Session, ticket_id: int, external_id: str) -> TicketMessage | None:
    return session.scalars(
        select(TicketMessage).where(
            TicketMessage.ticket_id == ticket_id, TicketMessage.external_id == external_id
        )
    ).one_or_none()


def add_officer_message(
    session: Session,
    ticket: Ticket,
    text: str,
    officer: str,
    *,
    external_id: str | None = None,
    now: datetime | None = None,
) -> TicketMessage:
    """An officer's answer to the citizen; the first one meets the first-response deadline.

    `external_id` (e.g. the dashboard form's idempotency key) makes a repeated submission fail the
    (ticket_id, external_id) unique constraint instead of storing the answer twice.
    """
    now = now or utcnow()
    clean = _clean_text(text, "text", MAX_MESSAGE_CHARS, required=True) or ""
    message = _add_message(
        session, ticket, AuthorKind.OFFICER, clean, author=officer, external_id=external_id, now=now
    )
    ticket.updated_at = now
    record(session, ticket, officer, AuditAction.MESSAGE_ADDED, note="jawaban petugas", at=now)
    session.flush()
    return message


def add_attachment(
    session: Session,
    ticket: Ticket,
    data: bytes,
    filename: str | None,
    *,
    uploaded_by: AuthorKind = AuthorKind.CITIZEN,
    actor: str = REPORTER_ACTOR,
    config: TicketConfig | None = None,
    now: datetime | None = None,
) -> tuple[TicketAttachment, bool]:
    """Check, store and register one file; returns (attachment, created). The same file twice is one row."""
    config = config or _default_config()
    now = now or utcnow()
    _accepting_input(ticket)
    content_type, extension = files.check_content(data, config.attachment_max_bytes)
    digest = hashlib.sha256(data).hexdigest()
    existing = session.scalars(
        select(TicketAttachment).where(
            TicketAttachment.ticket_id == ticket.id, TicketAttachment.sha256 == digest
        )
    ).one_or_none()
    if existing is not None:
        return existing, False
    count = (
        session.scalar(select(func.count(TicketAttachment.id)).where(TicketAttachment.ticket_id == ticket.id))
        or 0
    )
    if count >= config.attachment_max_per_ticket:
        raise AttachmentRejected(
            f"Laporan ini sudah memiliki {config.attachment_max_per_ticket} lampiran, "
            "jumlah terbanyak yang diizinkan.",
            "too_many",
        )
    stored = files.store(data, config.attachments_dir, ticket.code, config.attachment_max_bytes)
    try:
        attachment = TicketAttachment(
            ticket_id=ticket.id,
            filename=files.safe_filename(filename, extension),
            content_type=content_type,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            storage_path=stored.storage_path,
            uploaded_by=uploaded_by.value,
            created_at=now,
        )
        session.add(attachment)
        ticket.updated_at = now
        record(
            session,
            ticket,
            actor,
            AuditAction.ATTACHMENT_ADDED,
            note=f"{content_type}, {stored.size_bytes} byte",
            at=now,
        )
        if uploaded_by is AuthorKind.CITIZEN:
            _citizen_answered(session, ticket, now, config)
        session.flush()
    except BaseException:
        files.remove(config.attachments_dir, stored.storage_path)  # no orphan file without its row
        raise
    return attachment, True
