"""API shapes of the ticket endpoints (pydantic v2), with explicit limits on everything a client sends."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from bot.ids import DbBigId
from bot.tickets.formatting import format_date_id, format_datetime_id
from bot.tickets.models import Ticket, TicketAttachment, TicketMessage
from bot.tickets.service import MAX_DESCRIPTION_CHARS, MAX_MESSAGE_CHARS, TicketConfig
from bot.tickets.status import STATUS_EXPLANATIONS, STATUS_LABELS, TicketStatus
from bot.tickets.vocab import (
    CATEGORY_LABELS,
    PRIORITY_LABELS,
    TYPE_LABELS,
    AuthorKind,
    Category,
    Priority,
    TicketType,
)

CHANNEL_PATTERN = r"^[a-z][a-z0-9_]{1,31}$"


class ConsentIn(BaseModel):
    text_version: str = Field(min_length=1, max_length=32, examples=["2026-01"])
    text_sha256: str = Field(
        pattern=r"^[0-9a-fA-F]{64}$", description="SHA-256 of the exact notice text shown."
    )
    given_at: AwareDatetime | None = Field(
        default=None, description="When the reporter agreed; now if omitted."
    )


class TicketCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    idempotency_key: str = Field(
        min_length=8,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:\-]+$",
        description="Same key, same ticket: retries and duplicates return the first ticket.",
    )
    channel: str = Field(pattern=CHANNEL_PATTERN, examples=["telegram", "whatsapp", "web"])
    sender_id: str = Field(min_length=1, max_length=128)
    type: TicketType = TicketType.PENGADUAN
    category: Category
    priority: Priority = Priority.SEDANG
    description: str = Field(min_length=1, max_length=MAX_DESCRIPTION_CHARS)
    location_text: str | None = Field(default=None, max_length=300)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    incident_date: date | None = None
    reporter_name: str | None = Field(default=None, max_length=120)
    reporter_phone: str | None = Field(default=None, max_length=32)
    is_anonymous: bool = False
    is_confidential: bool = True
    consent: ConsentIn | None = None
    attachment_ids: list[DbBigId] | None = Field(
        default=None,
        max_length=10,
        description="Ids of media the reporter sent on a messaging channel (metadata.attachments[].id).",
    )


class MessageCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    channel: str = Field(pattern=CHANNEL_PATTERN)
    sender_id: str = Field(min_length=1, max_length=128)
    text: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    external_id: str | None = Field(
        default=None, max_length=128, description="Platform message id, for dedup."
    )


class DeadlineOut(BaseModel):
    due_at: datetime
    due_date: date
    due_label: str
    met_at: datetime | None
    overdue: bool


class DeadlinesOut(BaseModel):
    paused: bool
    verification: DeadlineOut
    first_response: DeadlineOut
    resolution: DeadlineOut


class MessageOut(BaseModel):
    author_kind: AuthorKind
    text: str
    created_at: datetime
    created_label: str


class AttachmentOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    created_at: datetime


class TicketSummary(BaseModel):
    code: str
    type: TicketType
    type_label: str
    category: Category
    category_label: str
    unit: str
    status: TicketStatus
    status_label: str
    created_at: datetime
    created_label: str
    last_update: datetime
    last_update_label: str


class TicketOut(TicketSummary):
    status_explanation: str
    priority: Priority
    priority_label: str
    description: str
    location_text: str | None
    incident_date: date | None
    is_anonymous: bool
    is_confidential: bool
    deadlines: DeadlinesOut
    latest_officer_answer: MessageOut | None
    attachments_count: int


class TicketList(BaseModel):
    tickets: list[TicketSummary]


class PrivacyNotice(BaseModel):
    version: str
    sha256: str
    text: str


def _deadline(due_at: datetime, met_at: datetime | None, paused: bool, now: datetime, tz: str) -> DeadlineOut:
    due_date = due_at.astimezone(ZoneInfo(tz)).date()
    return DeadlineOut(
        due_at=due_at,
        due_date=due_date,
        due_label=format_date_id(due_date),
        met_at=met_at,
        overdue=met_at is None and not paused and now > due_at,
    )


def summary_of(ticket: Ticket, config: TicketConfig) -> TicketSummary:
    return TicketSummary(**_summary_fields(ticket, config))


def _summary_fields(ticket: Ticket, config: TicketConfig) -> dict[str, object]:
    status = TicketStatus(ticket.status)
    return {
        "code": ticket.code,
        "type": TicketType(ticket.type),
        "type_label": TYPE_LABELS[TicketType(ticket.type)],
        "category": Category(ticket.category),
        "category_label": CATEGORY_LABELS[Category(ticket.category)],
        "unit": ticket.unit,
        "status": status,
        "status_label": STATUS_LABELS[status],
        "created_at": ticket.created_at,
        "created_label": format_datetime_id(ticket.created_at, config.timezone),
        "last_update": ticket.updated_at,
        "last_update_label": format_datetime_id(ticket.updated_at, config.timezone),
    }


def message_out(message: TicketMessage, config: TicketConfig) -> MessageOut:
    return MessageOut(
        author_kind=AuthorKind(message.author_kind),
        text=message.text,
        created_at=message.created_at,
        created_label=format_datetime_id(message.created_at, config.timezone),
    )


def attachment_out(attachment: TicketAttachment) -> AttachmentOut:
    return AttachmentOut(
        id=attachment.id,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size_bytes=attachment.size_bytes,
        sha256=attachment.sha256,
        created_at=attachment.created_at,
    )


def ticket_out(
    ticket: Ticket,
    latest_answer: TicketMessage | None,
    attachments_count: int,
    config: TicketConfig,
    now: datetime,
) -> TicketOut:
    status = TicketStatus(ticket.status)
    paused = ticket.paused_at is not None
    tz = config.timezone
    return TicketOut(
        **_summary_fields(ticket, config),
        status_explanation=STATUS_EXPLANATIONS[status],
        priority=Priority(ticket.priority),
        priority_label=PRIORITY_LABELS[Priority(ticket.priority)],
        description=ticket.description,
        location_text=ticket.location_text,
        incident_date=ticket.incident_date,
        is_anonymous=ticket.is_anonymous,
        is_confidential=ticket.is_confidential,
        deadlines=DeadlinesOut(
            paused=paused,
            verification=_deadline(ticket.verification_due_at, ticket.verified_at, paused, now, tz),
            first_response=_deadline(ticket.first_response_due_at, ticket.first_response_at, paused, now, tz),
            resolution=_deadline(ticket.resolution_due_at, ticket.resolved_at, paused, now, tz),
        ),
        latest_officer_answer=message_out(latest_answer, config) if latest_answer else None,
        attachments_count=attachments_count,
    )
