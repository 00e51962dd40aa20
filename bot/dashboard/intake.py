"""Walk-in intake (`/dashboard/loket`): an officer files a complaint for a visitor at the counter, so
offline and online complaints share one queue, with the same triage suggestion as `POST /api/v1/triage`.

The ticket is filed by bot/tickets/service.create_ticket on the "loket" channel with a sender id unique to
the form (`loket:<officer>:<form token>`); the form token is also the idempotency key, so a double submit
files once. The officer is the actor of the audit trail. Whatever the category, routing decides the unit;
the officer always gets the receipt of what they filed, even when that unit is not theirs.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bot.api.deps import SessionDep
from bot.api.triage import classifier_for
from bot.dashboard.deps import CsrfDep, StaffDep
from bot.dashboard.templating import render, set_flash
from bot.db import utcnow
from bot.staff.access import NotVisible, ticket_scope
from bot.staff.principal import StaffPrincipal
from bot.tickets import consent
from bot.tickets.codes import normalize_code
from bot.tickets.models import Ticket
from bot.tickets.service import (
    MAX_DESCRIPTION_CHARS,
    ConsentInfo,
    IdempotencyConflict,
    NewTicket,
    ReporterInfo,
    TicketConfig,
    TicketValidationError,
    create_ticket,
)
from bot.tickets.vocab import CATEGORY_LABELS, Category
from bot.triage.categories import LOW_CONFIDENCE_THRESHOLD, category_label

router = APIRouter(tags=["dashboard"])
INTAKE_PATH = "/dashboard/loket"
CHANNEL = "loket"
MIN_TRIAGE_CHARS = 15
_TOKEN = re.compile(r"^[0-9a-f]{32}$")

# What the visitor is told on paper: the points of the privacy notice they agreed to, shortened.
PRIVACY_SUMMARY = (
    "Data Anda (isi laporan, lokasi, tanggal kejadian, serta nama dan nomor telepon bila diberikan) hanya "
    "dipakai untuk menindaklanjuti laporan ini. Laporan bersifat rahasia dan tidak ditampilkan kepada publik. "
    "Anda berhak melihat, memperbaiki, dan meminta penghapusan data pribadi Anda."
)


def _config(request: Request) -> TicketConfig:
    return TicketConfig.from_settings(request.app.state.settings)


def _form_page(
    request: Request, form: dict[str, Any] | None = None, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    values = {"form_token": uuid.uuid4().hex, **(form or {})}
    return render(
        request,
        "intake/form.html",
        {
            "nav_active": "loket",
            "form": values,
            "error": error,
            "categories": [(c.value, CATEGORY_LABELS[c]) for c in Category],
            "notice_text": consent.NOTICE_TEXT,
            "max_description": MAX_DESCRIPTION_CHARS,
            "today": _config(request).calendar.local_date(utcnow()).isoformat(),
        },
        status_code,
    )


@router.get(INTAKE_PATH, response_class=HTMLResponse)
def intake_form(request: Request, staff: StaffDep) -> HTMLResponse:
    return _form_page(request)


@router.post(INTAKE_PATH + "/saran", response_class=HTMLResponse, dependencies=[CsrfDep])
async def triage_suggestion(
    request: Request, staff: StaffDep, description: Annotated[str, Form(max_length=100_000)] = ""
) -> HTMLResponse:
    """The category the triage classifier proposes for the description typed so far (an htmx fragment)."""
    text = description.strip()
    context: dict[str, Any] = {"suggestion": None, "too_long": len(text) > MAX_DESCRIPTION_CHARS}
    if MIN_TRIAGE_CHARS <= len(text) <= MAX_DESCRIPTION_CHARS:
        classifier = await run_in_threadpool(classifier_for, request.app)
        prediction = await run_in_threadpool(classifier.predict, text)
        context["suggestion"] = {
            "category": prediction.category,
            "label": category_label(prediction.category),
            "percent": round(prediction.confidence * 100),
            "low_confidence": prediction.confidence < LOW_CONFIDENCE_THRESHOLD,
        }
    return render(request, "intake/_suggestion.html", context)


def _incident_date(raw: str) -> date | None:
    text = raw.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise TicketValidationError("incident_date", "Tanggal kejadian tidak valid.") from error


def _category(raw: str) -> Category:
    try:
        return Category(raw)
    except ValueError as error:
        raise TicketValidationError("category", "Silakan pilih kategori aduan.") from error


@router.post(INTAKE_PATH, dependencies=[CsrfDep])
def file_walk_in(
    request: Request,
    staff: StaffDep,
    session: SessionDep,
    form_token: Annotated[str, Form(max_length=64)] = "",
    reporter_name: Annotated[str, Form(max_length=1000)] = "",
    anonymous: Annotated[str, Form(max_length=5)] = "",
    reporter_phone: Annotated[str, Form(max_length=100)] = "",
    description: Annotated[str, Form(max_length=100_000)] = "",
    location_text: Annotated[str, Form(max_length=10_000)] = "",
    incident_date: Annotated[str, Form(max_length=20)] = "",
    category: Annotated[str, Form(max_length=40)] = "",
    consent_given: Annotated[str, Form(alias="consent", max_length=5)] = "",
) -> Response:
    form = {
        "form_token": form_token if _TOKEN.match(form_token) else uuid.uuid4().hex,
        "reporter_name": reporter_name,
        "anonymous": anonymous == "on",
        "reporter_phone": reporter_phone,
        "description": description,
        "location_text": location_text,
        "incident_date": incident_date,
        "category": category,
    }
    if not _TOKEN.match(form_token):
        return _form_page(request, form, "Formulir tidak lengkap. Periksa isian lalu kirim sekali lagi.", 422)
    if consent_given != "on":
        return _form_page(
            request, form, "Pengunjung perlu menyetujui pencatatan data sebelum aduan dicatat.", 422
        )
    try:
        new = NewTicket(
            category=_category(category),
            description=description,
            reporter=ReporterInfo(
                channel=CHANNEL,
                sender_id=f"{CHANNEL}:{staff.username}:{form_token}",
                name=None if form["anonymous"] else reporter_name,
                phone=reporter_phone,
                anonymous=bool(form["anonymous"]),
            ),
            location_text=location_text,
            incident_date=_incident_date(incident_date),
            consent=ConsentInfo(consent.NOTICE_VERSION, consent.NOTICE_SHA256),
        )
        ticket, created = create_ticket(
            session, new, f"{CHANNEL}:{form_token}", config=_config(request), actor=staff.actor
        )
    except (TicketValidationError, IdempotencyConflict) as refused:
        session.rollback()
        return _form_page(request, form, str(refused), 422)
    response = RedirectResponse(f"{INTAKE_PATH}/{ticket.code}", status_code=303)
    if not created:
        set_flash(response, "Aduan ini sudah tercatat sebelumnya; tidak dicatat dua kali.")
    return response


def filed_or_visible(session: Session, staff: StaffPrincipal, code: str) -> Ticket:
    """A ticket of the officer's units, or one they filed at the counter themselves (else NotVisible)."""
    normalized = normalize_code(code)
    if normalized is None:
        raise NotVisible(code)
    own_walk_in = and_(
        Ticket.reporter_channel == CHANNEL,
        Ticket.reporter_sender_id.startswith(f"{CHANNEL}:{staff.username}:", autoescape=True),
    )
    ticket = session.scalar(
        select(Ticket).where(Ticket.code == normalized, or_(ticket_scope(staff), own_walk_in))
    )
    if ticket is None:
        raise NotVisible(code)
    return ticket


def _receipt_context(staff: StaffPrincipal, ticket: Ticket) -> dict[str, Any]:
    return {
        "nav_active": "loket",
        "ticket": ticket,
        "can_open": staff.can_see_unit(ticket.unit),
        "privacy_summary": PRIVACY_SUMMARY,
    }


@router.get(INTAKE_PATH + "/{code}", response_class=HTMLResponse)
def confirmation(request: Request, code: str, staff: StaffDep, session: SessionDep) -> HTMLResponse:
    ticket = filed_or_visible(session, staff, code)
    return render(request, "intake/confirmation.html", _receipt_context(staff, ticket))


@router.get(INTAKE_PATH + "/{code}/tanda-terima", response_class=HTMLResponse)
def receipt(request: Request, code: str, staff: StaffDep, session: SessionDep) -> HTMLResponse:
    ticket = filed_or_visible(session, staff, code)
    return render(request, "intake/receipt.html", _receipt_context(staff, ticket))
