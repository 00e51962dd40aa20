"""Ticket API for the action server and the web chat (service token required on every route).

Citizens never reach these routes directly: the action server calls them on behalf of a (channel, sender_id)
identity that the gateway verified. Status details go only to that identity; for anyone else a ticket
"does not exist", with the same 404 whether the code is unknown or belongs to someone else.
"""

from __future__ import annotations

import math
from typing import Annotated, NoReturn

from fastapi import APIRouter, File, Form, HTTPException, Path, Query, Request, Response, UploadFile, status
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.api.deps import ServiceAuth, SessionDep, SettingsDep
from bot.api.errors import ApiError
from bot.db import utcnow
from bot.settings import Settings
from bot.tickets import attachments, consent, service
from bot.tickets.models import Ticket, TicketAttachment
from bot.tickets.ratelimit import LOOKUP_BLOCKED_MESSAGE, MissLimiter
from bot.tickets.schemas import (
    CHANNEL_PATTERN,
    AttachmentOut,
    MessageCreate,
    MessageOut,
    PrivacyNotice,
    TicketCreate,
    TicketList,
    TicketOut,
    attachment_out,
    message_out,
    summary_of,
    ticket_out,
)
from bot.tickets.service import (
    AttachmentRejected,
    ConsentInfo,
    IdempotencyConflict,
    NewTicket,
    ReporterInfo,
    TicketClosed,
    TicketConfig,
    TicketValidationError,
)

router = APIRouter(prefix="/api/v1", tags=["tickets"], dependencies=[ServiceAuth])

NOT_FOUND_MESSAGE = "Laporan tidak ditemukan untuk akun Anda."
ChannelQuery = Annotated[str, Query(pattern=CHANNEL_PATTERN)]
SenderQuery = Annotated[str, Query(min_length=1, max_length=128)]
# The web chat's client key (from the turn's metadata): wrong codes are also counted per client address.
ClientKeyQuery = Annotated[str | None, Query(min_length=1, max_length=64)]
_REJECTION_STATUS = {
    "empty": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    "unsupported_type": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    "too_many": status.HTTP_409_CONFLICT,
}


def _config(request: Request, settings: Settings) -> TicketConfig:
    # Built once per application from its own settings (tests run several apps side by side).
    config: TicketConfig | None = getattr(request.app.state, "ticket_config", None)
    if config is None:
        config = TicketConfig.from_settings(settings)
        request.app.state.ticket_config = config
    return config


def _limiter(request: Request, settings: Settings) -> MissLimiter:
    limiter: MissLimiter | None = getattr(request.app.state, "ticket_lookup_limiter", None)
    if limiter is None:
        limiter = MissLimiter(settings.ticket_lookup_max_misses, settings.ticket_lookup_window_seconds)
        request.app.state.ticket_lookup_limiter = limiter
    return limiter


def _client_limiter(request: Request, settings: Settings) -> MissLimiter:
    """Misses per web-chat client address (its client key), whatever session they come from."""
    limiter: MissLimiter | None = getattr(request.app.state, "ticket_lookup_client_limiter", None)
    if limiter is None:
        limiter = MissLimiter(
            settings.ticket_lookup_max_misses_per_address, settings.ticket_lookup_window_seconds
        )
        request.app.state.ticket_lookup_client_limiter = limiter
    return limiter


def _lookup_limits(
    request: Request, settings: Settings, channel: str, sender_id: str, client_key: str | None
) -> list[tuple[MissLimiter, tuple[str, str]]]:
    limits = [(_limiter(request, settings), (channel, sender_id))]
    if client_key:
        limits.append((_client_limiter(request, settings), ("client", client_key)))
    return limits


def _unprocessable(error: TicketValidationError) -> NoReturn:
    raise ApiError(
        status.HTTP_422_UNPROCESSABLE_ENTITY, "invalid_value", str(error), [error.field]
    ) from error


def _reporters_ticket(
    request: Request,
    settings: Settings,
    session: Session,
    code: str,
    channel: str,
    sender_id: str,
    client_key: str | None = None,
) -> Ticket:
    """The reporter's ticket, or 404; too many misses by one sender (or, with `client_key`, from one web-chat
    client address) turn into 429 before any look-up."""
    limits = _lookup_limits(request, settings, channel, sender_id, client_key)
    wait = max(limiter.blocked_for(key) for limiter, key in limits)
    if wait > 0:
        raise HTTPException(
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            detail=LOOKUP_BLOCKED_MESSAGE.format(minutes=max(1, math.ceil(wait / 60))),
            headers={"Retry-After": str(math.ceil(wait))},
        )
    ticket = service.get_ticket_for_reporter(session, code, channel, sender_id)
    if ticket is None:
        for limiter, key in limits:
            limiter.record_miss(key)
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=NOT_FOUND_MESSAGE)
    return ticket


def _ticket_out(session: Session, ticket: Ticket, config: TicketConfig) -> TicketOut:
    attachments = session.scalar(
        select(func.count(TicketAttachment.id)).where(TicketAttachment.ticket_id == ticket.id)
    )
    latest = service.latest_officer_message(session, ticket.id)
    return ticket_out(ticket, latest, attachments or 0, config, utcnow())


@router.get("/privacy-notice", response_model=PrivacyNotice)
def privacy_notice() -> PrivacyNotice:
    """The notice to show before filing; send its version and sha256 back as `consent` when filing."""
    return PrivacyNotice(
        version=consent.NOTICE_VERSION, sha256=consent.NOTICE_SHA256, text=consent.NOTICE_TEXT
    )


@router.post(
    "/tickets",
    response_model=TicketOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": TicketOut, "description": "Repeat of an earlier request: the same ticket."}},
)
def create_ticket(
    body: TicketCreate, request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> TicketOut:
    config = _config(request, settings)
    new = NewTicket(
        category=body.category,
        description=body.description,
        type=body.type,
        priority=body.priority,
        location_text=body.location_text,
        latitude=body.latitude,
        longitude=body.longitude,
        incident_date=body.incident_date,
        reporter=ReporterInfo(
            channel=body.channel,
            sender_id=body.sender_id,
            name=body.reporter_name,
            phone=body.reporter_phone,
            anonymous=body.is_anonymous,
            confidential=body.is_confidential,
        ),
        consent=ConsentInfo(body.consent.text_version, body.consent.text_sha256, body.consent.given_at)
        if body.consent
        else None,
        attachment_ids=tuple(body.attachment_ids or ()),
    )
    try:
        ticket, created = service.create_ticket(session, new, body.idempotency_key, config=config)
    except TicketValidationError as exc:
        _unprocessable(exc)
    except IdempotencyConflict as exc:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    if not created:
        response.status_code = status.HTTP_200_OK
    return _ticket_out(session, ticket, config)


@router.get("/tickets/{code}", response_model=TicketOut)
def get_ticket(
    code: Annotated[str, Path(max_length=40)],
    channel: ChannelQuery,
    sender_id: SenderQuery,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client_key: ClientKeyQuery = None,
) -> TicketOut:
    ticket = _reporters_ticket(request, settings, session, code, channel, sender_id, client_key)
    return _ticket_out(session, ticket, _config(request, settings))


@router.get("/reporters/{channel}/{sender_id}/tickets", response_model=TicketList)
def list_tickets(
    channel: Annotated[str, Path(pattern=CHANNEL_PATTERN)],
    sender_id: Annotated[str, Path(min_length=1, max_length=128)],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> TicketList:
    config = _config(request, settings)
    tickets = service.list_reporter_tickets(session, channel, sender_id, limit=limit)
    return TicketList(tickets=[summary_of(ticket, config) for ticket in tickets])


@router.post("/tickets/{code}/messages", response_model=MessageOut, status_code=status.HTTP_201_CREATED)
def add_message(
    code: Annotated[str, Path(max_length=40)],
    body: MessageCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> MessageOut:
    config = _config(request, settings)
    ticket = _reporters_ticket(request, settings, session, code, body.channel, body.sender_id)
    try:
        message, created = service.add_citizen_message(
            session, ticket, body.text, external_id=body.external_id, config=config
        )
    except TicketValidationError as exc:
        _unprocessable(exc)
    except TicketClosed as exc:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    session.commit()  # durable before we answer, not after
    if not created:
        response.status_code = status.HTTP_200_OK
    return message_out(message, config)


@router.post("/tickets/{code}/attachments", response_model=AttachmentOut, status_code=status.HTTP_201_CREATED)
def add_attachment(
    code: Annotated[str, Path(max_length=40)],
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    channel: Annotated[str, Form(pattern=CHANNEL_PATTERN)],
    sender_id: Annotated[str, Form(min_length=1, max_length=128)],
    file: Annotated[UploadFile, File(description="JPEG, PNG or PDF; the type is read from the content.")],
) -> AttachmentOut:
    config = _config(request, settings)
    ticket = _reporters_ticket(request, settings, session, code, channel, sender_id)
    # Read at most one byte past the cap: enough to know it is too big without holding a huge upload.
    data = file.file.read(config.attachment_max_bytes + 1)
    if len(data) > config.attachment_max_bytes:
        raise HTTPException(
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            detail=f"Ukuran berkas melebihi batas {config.attachment_max_bytes // (1024 * 1024)} MB.",
        )
    try:
        attachment, created = service.add_attachment(session, ticket, data, file.filename, config=config)
    except AttachmentRejected as exc:
        raise HTTPException(status_code=_REJECTION_STATUS.get(exc.reason, 422), detail=str(exc)) from exc
    except TicketClosed as exc:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    try:
        session.commit()
    except BaseException:
        if created:  # the row is gone, so is the file
            attachments.remove(config.attachments_dir, attachment.storage_path)
        raise
    if not created:
        response.status_code = status.HTTP_200_OK
    return attachment_out(attachment)
