"""Admin page of staff accounts."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from bot.db import Database
from bot.staff.accounts import find_user
from bot.staff.models import AccessLog
from tests.dashboard.conftest import PASSWORD, UNIT_DUKCAPIL, UNIT_PU, Staff, StaffClient


def test_only_admins_reach_the_page(login: Callable[[str], StaffClient], staff: Staff) -> None:
    assert login(staff.petugas_pu).get("/dashboard/pengguna").status_code == 403
    assert login(staff.supervisor_pu).get("/dashboard/pengguna").status_code == 403
    page = login(staff.admin).get("/dashboard/pengguna")
    assert page.status_code == 200
    assert "petugas.dukcapil" in page.text and UNIT_DUKCAPIL in page.text


def test_supervisor_cannot_create_accounts_even_with_a_valid_csrf_token(
    login: Callable[[str], StaffClient], staff: Staff, database: Database
) -> None:
    supervisor = login(staff.supervisor_pu)
    response = supervisor.post(
        "/dashboard/pengguna",
        {"username": "penyusup", "full_name": "X", "role": "admin", "password": "sandi-penyusup-1"},
    )
    assert response.status_code == 403
    with database.session() as session:
        assert find_user(session, "penyusup") is None


def test_admin_creates_an_officer_who_can_log_in(
    login: Callable[[str], StaffClient], staff: Staff, database: Database
) -> None:
    admin = login(staff.admin)
    response = admin.post(
        "/dashboard/pengguna",
        {
            "username": "siti",
            "full_name": "Siti Aminah",
            "role": "petugas",
            "units": [UNIT_PU],
            "password": PASSWORD,
        },
    )
    assert response.status_code == 200 and "Akun siti dibuat." in response.text
    assert "Siti Aminah" in login("siti").get("/dashboard/akun").text
    with database.session() as session:
        logged = session.scalars(select(AccessLog.detail).where(AccessLog.action == "user_created")).all()
    assert any("siti" in (entry or "") for entry in logged)


def test_bad_accounts_are_refused_with_a_message(login: Callable[[str], StaffClient], staff: Staff) -> None:
    admin = login(staff.admin)
    cases = [
        ({"username": "x", "full_name": "X", "role": "petugas", "units": [UNIT_PU]}, "Nama pengguna"),
        ({"username": "tanpa.unit", "full_name": "X", "role": "petugas"}, "minimal satu unit"),
        (
            {"username": "unit.palsu", "full_name": "X", "role": "petugas", "units": ["Dinas Fiktif"]},
            "tidak dikenal",
        ),
        (
            {"username": "peran.palsu", "full_name": "X", "role": "raja", "units": [UNIT_PU]},
            "Peran tidak dikenal",
        ),
        (
            {"username": "petugas.pu", "full_name": "X", "role": "petugas", "units": [UNIT_PU]},
            "sudah dipakai",
        ),
        (
            {"username": "<script>", "full_name": "<b>x</b>", "role": "petugas", "units": [UNIT_PU]},
            "Nama pengguna",
        ),
    ]
    for form, message in cases:
        response = admin.post("/dashboard/pengguna", {**form, "password": PASSWORD})
        assert response.status_code == 422, form
        assert message in response.text, form
        assert "<script>" not in response.text.split("<body", 1)[1]


def test_deactivating_ends_sessions_and_admin_cannot_lock_themselves_out(
    login: Callable[[str], StaffClient], staff: Staff, database: Database
) -> None:
    officer = login(staff.petugas_pu)
    admin = login(staff.admin)
    with database.session() as session:
        officer_user = find_user(session, staff.petugas_pu)
        admin_user = find_user(session, staff.admin)
        assert officer_user is not None and admin_user is not None
        officer_id, admin_id = officer_user.id, admin_user.id
    response = admin.post(
        f"/dashboard/pengguna/{officer_id}",
        {"full_name": "Petugas PU", "role": "petugas", "units": [UNIT_PU, UNIT_DUKCAPIL]},
    )
    assert response.status_code == 200
    assert officer.get("/dashboard/akun", follow_redirects=False).status_code == 303
    with database.session() as session:
        user = find_user(session, staff.petugas_pu)
        assert user is not None and not user.is_active
        assert user.unit_names == sorted([UNIT_PU, UNIT_DUKCAPIL])
    self_lock = admin.post(f"/dashboard/pengguna/{admin_id}", {"full_name": "Admin", "role": "admin"})
    assert self_lock.status_code == 422
    assert admin.get("/dashboard/akun").status_code == 200
