"""Admin page of staff accounts: list, create, change role/units, deactivate, set a new password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.api.deps import SessionDep
from bot.dashboard.deps import AdminDep, CsrfDep, DashboardError, client_ip
from bot.dashboard.templating import render, set_flash
from bot.ids import DbId
from bot.staff.accounts import AccountError, create_user, list_users, update_user
from bot.staff.audit_log import AccessAction, log_access
from bot.staff.models import Role, StaffUser
from bot.staff.passwords import WeakPasswordError
from bot.staff.sessions import end_all_sessions
from bot.tickets.routing import load_routing

router = APIRouter(tags=["dashboard"])
USERS_PATH = "/dashboard/pengguna"


def _units() -> list[str]:
    return sorted(load_routing().units())


def _role(raw: str) -> Role:
    try:
        return Role(raw)
    except ValueError as error:
        raise AccountError("Peran tidak dikenal.") from error


def _known_units(chosen: list[str]) -> list[str]:
    known = set(_units())
    unknown = [u for u in chosen if u not in known]
    if unknown:
        raise AccountError("Unit tidak dikenal: " + ", ".join(unknown))
    return chosen


def _page(request: Request, session: SessionDep, status_code: int = 200, **context: object) -> HTMLResponse:
    return render(
        request,
        "users/list.html",
        {
            "nav_active": "pengguna",
            "users": list_users(session),
            "units": _units(),
            "roles": list(Role),
            **context,
        },
        status_code,
    )


@router.get(USERS_PATH, response_class=HTMLResponse)
def users_page(request: Request, admin: AdminDep, session: SessionDep) -> HTMLResponse:
    return _page(request, session)


@router.post(USERS_PATH, dependencies=[CsrfDep])
def add_user(
    request: Request,
    admin: AdminDep,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)] = "",
    full_name: Annotated[str, Form(max_length=120)] = "",
    role: Annotated[str, Form(max_length=16)] = "petugas",
    units: Annotated[list[str] | None, Form()] = None,
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    try:
        user = create_user(session, username, full_name, password, _role(role), _known_units(units or []))
    except (AccountError, WeakPasswordError) as refused:
        session.rollback()
        form = {"username": username, "full_name": full_name, "role": role, "units": units or []}
        return _page(request, session, 422, error=str(refused), form=form)
    log_access(
        session,
        admin,
        AccessAction.USER_CREATED,
        target_type="staff_user",
        target_id=user.id,
        detail=f"{user.username} ({user.role}): {', '.join(user.unit_names) or 'semua unit'}",
        ip=client_ip(request),
    )
    response = RedirectResponse(USERS_PATH, status_code=303)
    set_flash(response, f"Akun {user.username} dibuat.")
    return response


@router.post(USERS_PATH + "/{user_id}", dependencies=[CsrfDep])
def change_user(
    request: Request,
    user_id: DbId,
    admin: AdminDep,
    session: SessionDep,
    full_name: Annotated[str, Form(max_length=120)] = "",
    role: Annotated[str, Form(max_length=16)] = "petugas",
    units: Annotated[list[str] | None, Form()] = None,
    is_active: Annotated[str, Form(max_length=5)] = "",
    new_password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise DashboardError(404, "Akun tidak ditemukan.")
    active = is_active == "on"
    if user.id == admin.id and (not active or _role(role) is not Role.ADMIN):
        return _page(
            request, session, 422, error="Anda tidak dapat menonaktifkan atau menurunkan akun Anda sendiri."
        )
    try:
        update_user(
            session,
            user,
            full_name=full_name,
            role=_role(role),
            units=_known_units(units or []),
            is_active=active,
            password=new_password or None,
        )
    except (AccountError, WeakPasswordError) as refused:
        session.rollback()
        return _page(request, session, 422, error=f"{user.username}: {refused}")
    if not active or new_password:
        end_all_sessions(session, user.id)
    log_access(
        session,
        admin,
        AccessAction.USER_CHANGED,
        target_type="staff_user",
        target_id=user.id,
        detail=(
            f"{user.username}: peran {user.role}, unit {', '.join(user.unit_names) or '-'}, "
            f"{'aktif' if active else 'nonaktif'}{', kata sandi baru' if new_password else ''}"
        ),
        ip=client_ip(request),
    )
    response = RedirectResponse(USERS_PATH, status_code=303)
    set_flash(response, f"Akun {user.username} diperbarui.")
    return response
