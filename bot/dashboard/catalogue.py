"""Service catalogue pages (/dashboard/katalog): agencies' hours and facts edited live (admins: every agency;
other staff: their own agency), the audit trail of changes, and (admins) the questions the catalogue could
not answer, grouped, each one step away from an alias or a fact."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.api.deps import SessionDep
from bot.catalogue.editing import add_alias_from_miss, hours_text, may_edit, parse_hours_text, resolve_miss
from bot.catalogue.schema import Agency, Catalogue, CatalogueError
from bot.catalogue.service import CatalogueAnswerer, open_misses
from bot.catalogue.store import load_catalogue, recent_changes
from bot.dashboard.deps import AdminDep, CsrfDep, DashboardError, StaffDep
from bot.dashboard.templating import render, set_flash
from bot.staff.principal import StaffPrincipal

router = APIRouter(tags=["dashboard"])
BASE = "/dashboard/katalog"
TEXT_FIELDS = ("location", "address", "map_url", "phone", "whatsapp", "website", "queue", "notes", "source")
Text = Annotated[str, Form(max_length=2000)]


def _catalogue(session: SessionDep) -> Catalogue:
    catalogue = load_catalogue(session)
    if catalogue is None:
        raise DashboardError(404, "Belum ada katalog layanan. Impor dengan `bot catalogue import FILE`.")
    return catalogue


def _agency(catalogue: Catalogue, agency_id: str, staff: StaffPrincipal) -> Agency:
    agency = catalogue.agency(agency_id)
    if agency is None:
        raise DashboardError(404, "Instansi tidak ditemukan di katalog.")
    if not may_edit(agency, staff.is_admin, staff.units):
        raise DashboardError(403, "Anda hanya dapat mengubah data instansi Anda sendiri.")
    return agency


def _live(request: Request) -> None:
    answerer: CatalogueAnswerer = request.app.state.catalogue
    answerer.invalidate()  # this process answers with the change at once; others within the refresh time


def _back(url: str, message: str) -> Response:
    response = RedirectResponse(url, status_code=303)
    set_flash(response, message)
    return response


@router.get(BASE, response_class=HTMLResponse)
def catalogue_page(request: Request, staff: StaffDep, session: SessionDep) -> HTMLResponse:
    catalogue = _catalogue(session)
    agencies = [a for a in catalogue.agencies if may_edit(a, staff.is_admin, staff.units)]
    context: dict[str, Any] = {
        "nav_active": "katalog",
        "office": catalogue.office,
        "agencies": agencies,
        "all_agencies": catalogue.agencies,
        "misses": open_misses(session) if staff.is_admin else [],
        "changes": recent_changes(session, 30) if staff.is_admin else [],
    }
    return render(request, "catalogue/list.html", context)


@router.get(BASE + "/{agency_id}", response_class=HTMLResponse)
def agency_page(request: Request, agency_id: str, staff: StaffDep, session: SessionDep) -> HTMLResponse:
    agency = _agency(_catalogue(session), agency_id, staff)
    return _edit_page(request, session, agency, None, 200)


def _edit_page(
    request: Request,
    session: SessionDep,
    agency: Agency,
    error: str | None,
    status: int,
    typed_hours: str | None = None,
) -> HTMLResponse:
    context = {
        "nav_active": "katalog",
        "agency": agency,
        "hours": hours_text(agency.hours) if typed_hours is None else typed_hours,
        "error": error,
        "changes": recent_changes(session, 20, agency_id=agency.id),
    }
    response = render(request, "catalogue/edit.html", context)
    response.status_code = status
    return response


@router.post(BASE + "/{agency_id}", dependencies=[CsrfDep])
def save_agency(
    request: Request,
    agency_id: str,
    staff: StaffDep,
    session: SessionDep,
    hours: Text = "",
    aliases: Text = "",
    open_on_holidays: Annotated[str, Form(max_length=8)] = "",
    location: Text = "",
    address: Text = "",
    map_url: Text = "",
    phone: Text = "",
    whatsapp: Text = "",
    website: Text = "",
    queue: Text = "",
    notes: Text = "",
    source: Text = "",
    as_of: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    from bot.catalogue.store import edit_agency

    agency = _agency(_catalogue(session), agency_id, staff)
    texts = dict(
        zip(
            TEXT_FIELDS,
            (location, address, map_url, phone, whatsapp, website, queue, notes, source),
            strict=True,
        )
    )
    try:
        changes: dict[str, Any] = {name: value.strip() or None for name, value in texts.items()}
        changes["hours"] = parse_hours_text(hours)
        changes["aliases"] = [alias.strip() for alias in aliases.split(",") if alias.strip()] or None
        changes["open_on_holidays"] = bool(open_on_holidays) or None
        changes["as_of"] = as_of.strip() or None
        edit_agency(session, agency.id, changes, staff.actor)
    except CatalogueError as error:
        session.rollback()
        message = "; ".join(str(i) for i in error.issues)
        return _edit_page(request, session, agency, message, 422, typed_hours=hours)
    _live(request)
    return _back(f"{BASE}/{agency.id}", "Perubahan disimpan dan langsung dipakai bot.")


@router.post(BASE + "/belum-terjawab/{miss_id}/alias", dependencies=[CsrfDep])
def miss_to_alias(
    request: Request,
    miss_id: int,
    admin: AdminDep,
    session: SessionDep,
    agency_id: Annotated[str, Form(max_length=64)],
) -> Response:
    agency = _agency(_catalogue(session), agency_id, admin)
    try:
        add_alias_from_miss(session, miss_id, agency, admin.actor)
    except CatalogueError as error:
        session.rollback()
        return _back(BASE, f"Gagal: {'; '.join(str(i) for i in error.issues)}")
    _live(request)
    return _back(BASE, f"Alias ditambahkan ke {agency.name}.")


@router.post(BASE + "/belum-terjawab/{miss_id}/selesai", dependencies=[CsrfDep])
def miss_done(miss_id: int, admin: AdminDep, session: SessionDep) -> Response:
    if not resolve_miss(session, miss_id):
        raise DashboardError(404, "Pertanyaan tersebut tidak ditemukan.")
    return _back(BASE, "Ditandai selesai.")
