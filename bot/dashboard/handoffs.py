"""Dashboard pages of the human handoff: the "Menunggu petugas" list and one conversation, live.

`GET /dashboard/percakapan` lists the waiting requests of the officer's units and the conversations the
officer holds; `GET /dashboard/percakapan/{id}` shows the conversation, refreshed by htmx every 2 s from
`/pesan?setelah=<last id>`. Take over, reply, hand back and close are POST → 303 → GET. The rules (who
wins a take-over, who may reply) live in bot/handoff/service.py; the citizen's messages are stored with
the gateway after the change is committed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import anyio.from_thread
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from bot.api.deps import SessionDep
from bot.conversations.models import Direction, Message
from bot.conversations.repository import as_utc
from bot.dashboard.deps import CsrfDep, StaffDep, client_ip
from bot.dashboard.templating import render, set_flash
from bot.db import utcnow
from bot.gateway.gateway import Gateway
from bot.handoff.models import Handoff, HandoffEndReason, HandoffStatus
from bot.handoff.service import (
    HandoffError,
    Notice,
    close_request,
    hand_back,
    my_active_list,
    officer_reply,
    row_of,
    take_over,
    transcript,
    visible_handoff,
    waiting_list,
)
from bot.handoff.sweeper import send_notices
from bot.ids import parse_db_id
from bot.staff.access import NotVisible
from bot.staff.audit_log import AccessAction, log_access
from bot.staff.principal import StaffPrincipal
from bot.tickets.models import Ticket

router = APIRouter(tags=["dashboard"])
LIST_PATH = "/dashboard/percakapan"
CHANNEL_LABELS = {"web": "Web", "telegram": "Telegram", "whatsapp": "WhatsApp"}
STATUS_LABELS = {
    HandoffStatus.WAITING.value: "Menunggu petugas",
    HandoffStatus.ACTIVE.value: "Ditangani petugas",
    HandoffStatus.ENDED.value: "Selesai",
}
END_REASON_LABELS = {
    HandoffEndReason.RETURNED.value: "dikembalikan ke asisten otomatis",
    HandoffEndReason.IDLE_TIMEOUT.value: "berakhir karena tidak ada pesan",
    HandoffEndReason.WITHDRAWN.value: "permintaan ditutup",
}
REASON_LABELS = {
    "request_human": "Warga meminta petugas",
    "fallback": "Bot tidak memahami pesan warga",
    "complaint_form": "Diminta saat mengisi pengaduan",
}
PREVIEW_CHARS = 120


@dataclass(frozen=True)
class Bubble:
    id: int
    kind: str  # citizen | bot | officer | system (CSS class of the bubble)
    author: str
    text: str
    created_at: datetime


def age_label(since: datetime | None, now: datetime) -> str:
    if since is None:
        return "—"
    seconds = max(int((now - as_utc(since)).total_seconds()), 0)  # type: ignore[operator]
    if seconds < 60:
        return "baru saja"
    if seconds < 3600:
        return f"{seconds // 60} menit"
    if seconds < 86400:
        return f"{seconds // 3600} jam"
    return f"{seconds // 86400} hari"


def preview(text: str | None) -> str:
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"


def bubble(message: Message) -> Bubble:
    payload: dict[str, Any] = message.payload or {}
    if message.direction == Direction.IN.value:
        kind, author = "citizen", "Warga"
    elif payload.get("author") == "officer":
        kind, author = "officer", f"Petugas {payload.get('officer_name') or ''}".strip()
    elif payload.get("system"):
        kind, author = "system", "Sistem"
    else:
        kind, author = "bot", "Asisten otomatis"
    text = message.text
    titles = [
        str(b.get("title")) for b in payload.get("buttons") or [] if isinstance(b, dict) and b.get("title")
    ]
    if titles:
        text = f"{text}\n[Tombol: {' · '.join(titles)}]".strip()
    if not text:
        text = "[gambar]" if payload.get("image") or payload.get("attachment") else "[pesan tanpa teks]"
    return Bubble(message.id, kind, author, text, as_utc(message.created_at) or message.created_at)


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def _deliver(request: Request, session: Session, notice: Notice | None) -> None:
    """Commit the change first: the citizen must never get a message about something rolled back."""
    session.commit()
    if notice is not None:
        anyio.from_thread.run(send_notices, _gateway(request), [notice])


def _handoff_id(raw: str) -> int:
    number = parse_db_id(raw)
    if number is None:
        raise NotVisible(raw)
    return number


def _detail_url(handoff_id: int) -> str:
    return f"{LIST_PATH}/{handoff_id}"


def _redirect(url: str, flash: str | None = None) -> Response:
    response = RedirectResponse(url, status_code=303)
    if flash:
        set_flash(response, flash)
    return response


def _labels() -> dict[str, Any]:
    return {
        "channel_labels": CHANNEL_LABELS,
        "status_labels": STATUS_LABELS,
        "end_reason_labels": END_REASON_LABELS,
        "reason_labels": REASON_LABELS,
    }


@router.get(LIST_PATH, response_class=HTMLResponse)
def handoff_list(request: Request, staff: StaffDep, session: SessionDep) -> HTMLResponse:
    return render(
        request,
        "handoff/list.html",
        {
            "nav_active": "percakapan",
            "waiting_rows": waiting_list(session, staff),
            "active_rows": my_active_list(session, staff),
            "now": utcnow(),
            "age_label": age_label,
            "preview": preview,
            **_labels(),
        },
    )


def _detail(
    request: Request,
    staff: StaffPrincipal,
    session: Session,
    handoff: Handoff,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    bubbles = [bubble(m) for m in transcript(session, handoff)]
    ticket_code = session.get_one(Ticket, handoff.ticket_id).code if handoff.ticket_id is not None else None
    return render(
        request,
        "handoff/detail.html",
        {
            "nav_active": "percakapan",
            "handoff": handoff,
            "row": row_of(session, handoff),
            "bubbles": bubbles,
            "last_id": bubbles[-1].id if bubbles else 0,
            "ticket_code": ticket_code,
            "mine": handoff.status == HandoffStatus.ACTIVE.value and handoff.officer_id == staff.id,
            "nonce": secrets.token_urlsafe(16),
            "idle_minutes": request.app.state.settings.handoff_idle_minutes,
            "now": utcnow(),
            "age_label": age_label,
            **_labels(),
            **context,
        },
        status_code,
    )


@router.get(LIST_PATH + "/{handoff_id}", response_class=HTMLResponse)
def handoff_page(request: Request, handoff_id: str, staff: StaffDep, session: SessionDep) -> HTMLResponse:
    handoff = visible_handoff(session, staff, _handoff_id(handoff_id))
    log_access(
        session,
        staff,
        AccessAction.VIEW_CONVERSATION,
        target_type="handoff",
        target_id=handoff.id,
        ip=client_ip(request),
    )
    return _detail(request, staff, session, handoff)


@router.get(LIST_PATH + "/{handoff_id}/pesan", response_class=HTMLResponse)
def new_messages(
    request: Request,
    handoff_id: str,
    staff: StaffDep,
    session: SessionDep,
    setelah: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    """The messages after `setelah`, plus the poller and status, swapped out of band (htmx fragment)."""
    handoff = visible_handoff(session, staff, _handoff_id(handoff_id))
    bubbles = [bubble(m) for m in transcript(session, handoff, after_id=setelah)]
    return render(
        request,
        "handoff/_messages.html",
        {
            "handoff": handoff,
            "bubbles": bubbles,
            "last_id": bubbles[-1].id if bubbles else setelah,
            **_labels(),
        },
    )


@router.post(LIST_PATH + "/{handoff_id}/ambil", dependencies=[CsrfDep])
def take_over_route(request: Request, handoff_id: str, staff: StaffDep, session: SessionDep) -> Response:
    number = _handoff_id(handoff_id)
    try:
        notice = take_over(session, staff, number, ip=client_ip(request))
    except HandoffError as refused:
        session.rollback()
        return _redirect(_detail_url(number), str(refused))
    _deliver(request, session, notice)
    return _redirect(_detail_url(number), "Percakapan sudah Anda ambil alih. Warga sudah diberi tahu.")


@router.post(LIST_PATH + "/{handoff_id}/balas", dependencies=[CsrfDep])
def reply_route(
    request: Request,
    handoff_id: str,
    staff: StaffDep,
    session: SessionDep,
    teks: Annotated[str, Form()] = "",
    nonce: Annotated[str, Form()] = "",
) -> Response:
    number = _handoff_id(handoff_id)
    try:
        notice = officer_reply(session, staff, number, teks, nonce)
    except HandoffError as refused:
        session.rollback()
        handoff = visible_handoff(session, staff, number)
        return _detail(request, staff, session, handoff, 422, error=str(refused), draft=teks[:4000])
    _deliver(request, session, notice)
    return _redirect(_detail_url(number) + "#balas")


@router.post(LIST_PATH + "/{handoff_id}/kembalikan", dependencies=[CsrfDep])
def hand_back_route(request: Request, handoff_id: str, staff: StaffDep, session: SessionDep) -> Response:
    number = _handoff_id(handoff_id)
    try:
        notice = hand_back(session, staff, number, ip=client_ip(request))
    except HandoffError as refused:
        session.rollback()
        return _redirect(_detail_url(number), str(refused))
    _deliver(request, session, notice)
    return _redirect(LIST_PATH, "Percakapan dikembalikan ke asisten otomatis.")


@router.post(LIST_PATH + "/{handoff_id}/tutup", dependencies=[CsrfDep])
def close_route(request: Request, handoff_id: str, staff: StaffDep, session: SessionDep) -> Response:
    number = _handoff_id(handoff_id)
    try:
        notice = close_request(session, staff, number)
    except HandoffError as refused:
        session.rollback()
        return _redirect(_detail_url(number), str(refused))
    _deliver(request, session, notice)
    return _redirect(LIST_PATH, "Permintaan ditutup. Warga sudah diberi tahu.")
