"""Handoff use cases, free of any web framework: request, take over, reply, hand back, close, idle sweep.

Every state change is one conditional UPDATE guarded by the state it was read in, so of two officers (or
two replicas of the sweeper) exactly one wins. Functions take a SQLAlchemy Session and flush; only
`request_handoff` commits (a ticket filed outside office hours must see the committed request, and
`create_ticket` commits on its own). Messages to the citizen are returned as `Notice`s: the caller stores
them with `Gateway.notify` after committing, so the domain never touches a channel.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.conversations import repository
from bot.conversations.models import Conversation, Direction, Message
from bot.db import utcnow
from bot.handoff.models import OPEN_STATUSES, Handoff, HandoffEndReason, HandoffStatus
from bot.handoff.office_hours import OfficeHours, opening_label
from bot.settings import Settings
from bot.staff.access import NotVisible
from bot.staff.audit_log import AccessAction, log_access
from bot.staff.models import StaffUser
from bot.staff.principal import StaffPrincipal
from bot.tickets.models import Ticket
from bot.tickets.service import NewTicket, ReporterInfo, TicketConfig, create_ticket
from bot.tickets.status import CLOSED_STATUSES
from bot.tickets.vocab import Category, TicketType

MAX_REPLY_CHARS = 4000
RECENT_MESSAGES_IN_TICKET = 5
MAX_QUOTED_CHARS = 500
MAX_LISTED = 200
_NONCE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
FALLBACK_UNIT_LABEL = "Layanan Aduan"
MENU_BUTTONS = [{"title": "Menu utama", "payload": "/greet"}]

TAKEN_TEXT = "Anda sekarang terhubung dengan petugas {name} dari {unit}."
RETURNED_TEXT = (
    "Percakapan dikembalikan ke asisten otomatis. Ketik *menu* untuk melihat pilihan layanan, "
    "atau *petugas* bila ingin berbicara lagi dengan petugas."
)
IDLE_TEXT = (
    "Karena tidak ada pesan selama {minutes} menit, percakapan dengan petugas kami akhiri. "
    "Percakapan dikembalikan ke asisten otomatis. Ketik *menu* untuk melihat pilihan layanan, "
    "atau *petugas* bila masih memerlukan petugas."
)
CLOSED_TEXT = (
    "Permintaan Bapak/Ibu untuk berbicara dengan petugas sudah kami tutup. Jika masih memerlukan "
    "bantuan, ketik *petugas* kapan saja."
)


class HandoffError(Exception):
    """A refused change; `str(error)` is Indonesian and safe to show to the officer."""


class HandoffConflict(HandoffError):
    """The handoff is no longer in the state the officer saw (taken by someone else, already ended)."""


class InvalidReply(HandoffError):
    pass


@dataclass(frozen=True)
class HandoffConfig:
    office_hours: OfficeHours
    idle: timedelta
    default_unit: str
    tickets: TicketConfig

    @classmethod
    def from_settings(cls, settings: Settings) -> HandoffConfig:
        tickets = TicketConfig.from_settings(settings)
        default_unit = settings.handoff_default_unit.strip() or tickets.routing.route(Category.LAINNYA).unit
        return cls(
            office_hours=OfficeHours.parse(settings.office_hours, tickets.calendar),
            idle=timedelta(minutes=settings.handoff_idle_minutes),
            default_unit=default_unit,
            tickets=tickets,
        )

    @property
    def timezone(self) -> str:
        return self.tickets.timezone


@dataclass(frozen=True)
class Notice:
    """A message for the citizen, to store with `Gateway.notify` once the change is committed."""

    channel: str
    sender_id: str
    text: str
    key: str
    buttons: list[dict[str, str]] | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestOutcome:
    handoff: Handoff
    created: bool
    office_open: bool
    next_opening: datetime | None
    next_opening_label: str | None
    ticket_code: str | None


# --- request (citizen side, through the action server) ---------------------------------------------------


def request_handoff(
    session: Session,
    channel: str,
    sender_id: str,
    reason: str,
    config: HandoffConfig,
    *,
    now: datetime | None = None,
) -> RequestOutcome:
    """Queue a request for an officer, once: while one is open (waiting or active) it is returned as is.

    Outside office hours the request is also kept as a `permintaan_informasi` ticket (once per request:
    the ticket's idempotency key is the request's id), and it stays waiting for the next opening.
    """
    now = now or utcnow()
    conversation = _conversation(session, channel, sender_id)
    created = False
    handoff = open_handoff(session, conversation.id)
    if handoff is None:
        latest = _latest_open_ticket(session, channel, sender_id)
        handoff = Handoff(
            conversation_id=conversation.id,
            status=HandoffStatus.WAITING.value,
            reason=reason,
            unit=latest.unit if latest is not None else config.default_unit,
            requested_at=now,
        )
        session.add(handoff)
        try:
            session.flush()
            created = True
        except IntegrityError:  # a concurrent request of the same conversation won
            session.rollback()
            handoff = open_handoff(session, conversation.id)
            if handoff is None:
                raise
    session.commit()
    office_open = config.office_hours.is_open(now)
    ticket_code = None
    if not office_open and handoff.status == HandoffStatus.WAITING.value and handoff.ticket_id is None:
        ticket_code = _keep_as_ticket(session, handoff, conversation, config, now)
    elif handoff.ticket_id is not None:
        ticket_code = session.scalar(select(Ticket.code).where(Ticket.id == handoff.ticket_id))
    opening = config.office_hours.next_opening(now)
    return RequestOutcome(
        handoff=handoff,
        created=created,
        office_open=office_open,
        next_opening=opening,
        next_opening_label=None if opening is None else opening_label(opening, config.timezone),
        ticket_code=ticket_code,
    )


def _conversation(session: Session, channel: str, sender_id: str) -> Conversation:
    conversation = repository.find_conversation(session, channel, sender_id)
    if conversation is not None:
        return conversation
    try:
        conversation = repository.add_conversation(session, channel, sender_id)
        session.commit()
        return conversation
    except IntegrityError:
        session.rollback()
    found = repository.find_conversation(session, channel, sender_id)
    if found is None:
        raise RuntimeError("conversation insert conflicted but none exists")
    return found


def open_handoff(session: Session, conversation_id: int) -> Handoff | None:
    return session.scalars(
        select(Handoff).where(Handoff.conversation_id == conversation_id, Handoff.status.in_(OPEN_STATUSES))
    ).first()


def _latest_open_ticket(session: Session, channel: str, sender_id: str) -> Ticket | None:
    return session.scalars(
        select(Ticket)
        .where(
            Ticket.reporter_channel == channel,
            Ticket.reporter_sender_id == sender_id,
            Ticket.status.not_in([status.value for status in CLOSED_STATUSES]),
        )
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(1)
    ).first()


def _keep_as_ticket(
    session: Session, handoff: Handoff, conversation: Conversation, config: HandoffConfig, now: datetime
) -> str:
    latest = _latest_open_ticket(session, conversation.channel, conversation.sender_id)
    category = Category(latest.category) if latest is not None else Category.LAINNYA
    new = NewTicket(
        category=category,
        description=ticket_description(session, conversation.id, handoff),
        reporter=ReporterInfo(channel=conversation.channel, sender_id=conversation.sender_id),
        type=TicketType.PERMINTAAN_INFORMASI,
    )
    ticket, _ = create_ticket(session, new, f"handoff-{handoff.id}", config=config.tickets, now=now)
    session.execute(
        update(Handoff)
        .where(Handoff.id == handoff.id, Handoff.ticket_id.is_(None))
        .values(ticket_id=ticket.id)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    session.refresh(handoff)
    return ticket.code


def ticket_description(session: Session, conversation_id: int, handoff: Handoff) -> str:
    """What the officer needs to answer the next working day: the citizen's own recent words."""
    texts = session.scalars(
        select(Message.text)
        .where(Message.conversation_id == conversation_id, Message.direction == Direction.IN.value)
        .order_by(Message.id.desc())
        .limit(RECENT_MESSAGES_IN_TICKET * 3)
    ).all()
    # Button payloads ("/request_human") say nothing an officer can use.
    quoted = [t.strip()[:MAX_QUOTED_CHARS] for t in texts if t.strip() and not t.strip().startswith("/")]
    quoted = list(reversed(quoted[:RECENT_MESSAGES_IN_TICKET]))
    lines = [
        "Warga meminta berbicara dengan petugas di luar jam layanan "
        f"(permintaan percakapan #{handoff.id}). Mohon dibalas pada jam layanan berikutnya."
    ]
    if quoted:
        lines.append("Pesan terakhir warga:")
        lines.extend(f"- {text}" for text in quoted)
    return "\n".join(lines)


# --- officer side ----------------------------------------------------------------------------------------


def handoff_scope(principal: StaffPrincipal) -> ColumnElement[bool]:
    if principal.is_admin:
        return true()
    return Handoff.unit.in_(sorted(principal.units))


def visible_handoff(session: Session, principal: StaffPrincipal, handoff_id: int) -> Handoff:
    """The handoff if the staff member's units cover it; NotVisible (rendered as 404) otherwise."""
    handoff = session.scalar(select(Handoff).where(Handoff.id == handoff_id, handoff_scope(principal)))
    if handoff is None:
        raise NotVisible(str(handoff_id))
    return handoff


def _changed(session: Session, handoff: Handoff, *conditions: ColumnElement[bool], **values: Any) -> bool:
    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff.id, *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(handoff)
    return int(getattr(result, "rowcount", 0) or 0) == 1


def _conversation_of(session: Session, handoff: Handoff) -> Conversation:
    return session.get_one(Conversation, handoff.conversation_id)


def first_name(full_name: str) -> str:
    parts = full_name.split()
    return parts[0] if parts else full_name


def take_over(
    session: Session,
    principal: StaffPrincipal,
    handoff_id: int,
    *,
    now: datetime | None = None,
    ip: str | None = None,
) -> Notice | None:
    """Take a waiting request; only one officer wins. None when this officer already holds it."""
    now = now or utcnow()
    handoff = visible_handoff(session, principal, handoff_id)
    won = _changed(
        session,
        handoff,
        Handoff.status == HandoffStatus.WAITING.value,
        status=HandoffStatus.ACTIVE.value,
        officer_id=principal.id,
        taken_at=now,
        last_activity_at=now,
    )
    if not won:
        if handoff.status == HandoffStatus.ACTIVE.value and handoff.officer_id == principal.id:
            return None  # a double click
        if handoff.status == HandoffStatus.ACTIVE.value:
            raise HandoffConflict("Percakapan ini sudah diambil alih oleh petugas lain.")
        raise HandoffConflict("Permintaan ini sudah selesai.")
    log_access(
        session, principal, AccessAction.HANDOFF_TAKEN, target_type="handoff", target_id=handoff.id, ip=ip
    )
    conversation = _conversation_of(session, handoff)
    text = TAKEN_TEXT.format(name=first_name(principal.full_name), unit=handoff.unit or FALLBACK_UNIT_LABEL)
    return Notice(
        conversation.channel,
        conversation.sender_id,
        text,
        key=f"handoff:{handoff.id}:taken",
        payload={"system": "handoff_taken", "handoff_id": handoff.id},
    )


def _held_by(session: Session, principal: StaffPrincipal, handoff_id: int) -> Handoff:
    handoff = visible_handoff(session, principal, handoff_id)
    if handoff.status != HandoffStatus.ACTIVE.value:
        raise HandoffConflict("Percakapan ini tidak sedang ditangani petugas.")
    if handoff.officer_id != principal.id:
        raise HandoffConflict("Percakapan ini sedang ditangani petugas lain.")
    return handoff


def clean_reply(text: str) -> str:
    clean = (text or "").strip()
    if not clean:
        raise InvalidReply("Balasan tidak boleh kosong.")
    if "\x00" in clean:
        raise InvalidReply("Balasan mengandung karakter yang tidak diizinkan.")
    if len(clean) > MAX_REPLY_CHARS:
        raise InvalidReply(f"Balasan terlalu panjang (paling banyak {MAX_REPLY_CHARS} karakter).")
    return clean


def officer_reply(
    session: Session,
    principal: StaffPrincipal,
    handoff_id: int,
    text: str,
    nonce: str,
    *,
    now: datetime | None = None,
) -> Notice:
    """The officer's message to the citizen. `nonce` (one per rendered form) makes a resubmitted form
    store the message once: it is part of the notification's idempotency key."""
    now = now or utcnow()
    clean = clean_reply(text)
    if not _NONCE.match(nonce or ""):
        raise InvalidReply("Formulir balasan tidak valid. Muat ulang halaman lalu coba lagi.")
    handoff = _held_by(session, principal, handoff_id)
    if not _changed(
        session,
        handoff,
        Handoff.status == HandoffStatus.ACTIVE.value,
        Handoff.officer_id == principal.id,
        last_activity_at=now,
    ):
        raise HandoffConflict("Percakapan ini sudah dikembalikan ke asisten otomatis.")
    conversation = _conversation_of(session, handoff)
    return Notice(
        conversation.channel,
        conversation.sender_id,
        clean,
        key=f"handoff:{handoff.id}:{nonce}",
        payload={
            "author": "officer",
            "handoff_id": handoff.id,
            "officer_id": principal.id,
            "officer_name": first_name(principal.full_name),
        },
    )


def hand_back(
    session: Session,
    principal: StaffPrincipal,
    handoff_id: int,
    *,
    now: datetime | None = None,
    ip: str | None = None,
) -> Notice:
    now = now or utcnow()
    handoff = _held_by(session, principal, handoff_id)
    if not _changed(
        session,
        handoff,
        Handoff.status == HandoffStatus.ACTIVE.value,
        Handoff.officer_id == principal.id,
        status=HandoffStatus.ENDED.value,
        ended_at=now,
        end_reason=HandoffEndReason.RETURNED.value,
    ):
        raise HandoffConflict("Percakapan ini sudah dikembalikan ke asisten otomatis.")
    log_access(
        session, principal, AccessAction.HANDOFF_RETURNED, target_type="handoff", target_id=handoff.id, ip=ip
    )
    conversation = _conversation_of(session, handoff)
    return Notice(
        conversation.channel,
        conversation.sender_id,
        RETURNED_TEXT,
        key=f"handoff:{handoff.id}:end",
        buttons=MENU_BUTTONS,
        payload={"system": "handoff_returned", "handoff_id": handoff.id},
    )


def close_request(
    session: Session, principal: StaffPrincipal, handoff_id: int, *, now: datetime | None = None
) -> Notice:
    """An officer closes a waiting request nobody needs any more (the citizen was helped otherwise)."""
    now = now or utcnow()
    handoff = visible_handoff(session, principal, handoff_id)
    if not _changed(
        session,
        handoff,
        Handoff.status == HandoffStatus.WAITING.value,
        status=HandoffStatus.ENDED.value,
        ended_at=now,
        end_reason=HandoffEndReason.WITHDRAWN.value,
    ):
        raise HandoffConflict("Permintaan ini sudah diambil alih atau sudah selesai.")
    conversation = _conversation_of(session, handoff)
    return Notice(
        conversation.channel,
        conversation.sender_id,
        CLOSED_TEXT,
        key=f"handoff:{handoff.id}:end",
        buttons=MENU_BUTTONS,
        payload={"system": "handoff_closed", "handoff_id": handoff.id},
    )


# --- gateway and sweeper ---------------------------------------------------------------------------------


def touch_active(session: Session, channel: str, sender_id: str, now: datetime) -> int | None:
    """If an officer holds this citizen's conversation, restart its idle clock and return its id."""
    handoff_id = session.scalar(
        select(Handoff.id)
        .join(Conversation, Conversation.id == Handoff.conversation_id)
        .where(
            Conversation.channel == channel,
            Conversation.sender_id == sender_id,
            Handoff.status == HandoffStatus.ACTIVE.value,
        )
    )
    if handoff_id is None:
        return None
    session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == HandoffStatus.ACTIVE.value)
        .values(last_activity_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(handoff_id)


def end_idle(session: Session, config: HandoffConfig, *, now: datetime | None = None) -> list[Notice]:
    """End the active handoffs without a message for `config.idle`; one notice per handoff ended here."""
    now = now or utcnow()
    cutoff = now - config.idle
    idle = or_(
        Handoff.last_activity_at < cutoff,
        and_(Handoff.last_activity_at.is_(None), Handoff.taken_at < cutoff),
    )
    candidates = session.scalars(
        select(Handoff).where(Handoff.status == HandoffStatus.ACTIVE.value, idle).limit(MAX_LISTED)
    ).all()
    notices: list[Notice] = []
    minutes = int(config.idle.total_seconds() // 60)
    for handoff in candidates:
        if not _changed(
            session,
            handoff,
            Handoff.status == HandoffStatus.ACTIVE.value,
            idle,
            status=HandoffStatus.ENDED.value,
            ended_at=now,
            end_reason=HandoffEndReason.IDLE_TIMEOUT.value,
        ):
            continue  # a message arrived meanwhile, or another replica ended it
        conversation = _conversation_of(session, handoff)
        notices.append(
            Notice(
                conversation.channel,
                conversation.sender_id,
                IDLE_TEXT.format(minutes=minutes),
                key=f"handoff:{handoff.id}:end",
                buttons=MENU_BUTTONS,
                payload={"system": "handoff_idle", "handoff_id": handoff.id},
            )
        )
    return notices


# --- lists and transcript for the dashboard --------------------------------------------------------------


@dataclass(frozen=True)
class HandoffRow:
    handoff: Handoff
    channel: str
    sender_id: str
    last_message: str | None
    last_message_at: datetime | None
    officer_name: str | None


def _rows(session: Session, handoffs: Sequence[Handoff]) -> list[HandoffRow]:
    rows = []
    for handoff in handoffs:
        conversation = _conversation_of(session, handoff)
        last = session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation.id, Message.direction == Direction.IN.value)
            .order_by(Message.id.desc())
            .limit(1)
        ).first()
        officer = session.get(StaffUser, handoff.officer_id) if handoff.officer_id else None
        rows.append(
            HandoffRow(
                handoff=handoff,
                channel=conversation.channel,
                sender_id=conversation.sender_id,
                last_message=last.text if last is not None else None,
                last_message_at=last.created_at if last is not None else None,
                officer_name=officer.full_name if officer is not None else None,
            )
        )
    return rows


def waiting_list(session: Session, principal: StaffPrincipal) -> list[HandoffRow]:
    """The requests of the staff member's units waiting for an officer, oldest first."""
    handoffs = session.scalars(
        select(Handoff)
        .where(Handoff.status == HandoffStatus.WAITING.value, handoff_scope(principal))
        .order_by(Handoff.requested_at, Handoff.id)
        .limit(MAX_LISTED)
    ).all()
    return _rows(session, handoffs)


def my_active_list(session: Session, principal: StaffPrincipal) -> list[HandoffRow]:
    handoffs = session.scalars(
        select(Handoff)
        .where(Handoff.status == HandoffStatus.ACTIVE.value, Handoff.officer_id == principal.id)
        .order_by(Handoff.taken_at, Handoff.id)
        .limit(MAX_LISTED)
    ).all()
    return _rows(session, handoffs)


def row_of(session: Session, handoff: Handoff) -> HandoffRow:
    return _rows(session, [handoff])[0]


def transcript(session: Session, handoff: Handoff, after_id: int = 0, limit: int = 100) -> list[Message]:
    """Messages of the handoff's conversation, oldest first: the latest `limit` for the page, then (with
    `after_id`, live updates) the next `limit` after the last one shown, so none is skipped."""
    query = select(Message).where(Message.conversation_id == handoff.conversation_id)
    if after_id > 0:
        return list(session.scalars(query.where(Message.id > after_id).order_by(Message.id).limit(limit)))
    newest = session.scalars(query.order_by(Message.id.desc()).limit(limit)).all()
    return list(reversed(newest))
