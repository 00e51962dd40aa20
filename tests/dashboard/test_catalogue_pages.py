"""Catalogue pages: admins edit any agency, an agency's own staff only theirs; every edit is audited and
used by the very next answer; unanswered questions are grouped and one step from an alias."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from bot.catalogue.models import CatalogueChange
from bot.catalogue.schema import parse_catalogue
from bot.catalogue.service import CatalogueAnswerer
from bot.catalogue.store import import_catalogue, load_catalogue
from bot.db import Database
from bot.staff.accounts import create_user
from bot.staff.models import Role
from tests.catalogue.conftest import TEST_CATALOGUE
from tests.dashboard.conftest import PASSWORD, StaffClient

NEW_HOURS = "senin-kamis: 07.30-13.00\njumat: 07.30-11.00, 13.00-14.00"


@pytest.fixture
def catalogue_db(database: Database, staff: object) -> Database:
    with database.session() as session:
        import_catalogue(session, parse_catalogue(TEST_CATALOGUE.read_text(encoding="utf-8")), "uji")
        create_user(session, "petugas.samsat", "Petugas Samsat", PASSWORD, Role.PETUGAS, ["samsat"])
    return database


def answer_text(app: FastAPI, text: str) -> str:
    answerer: CatalogueAnswerer = app.state.catalogue
    return "\n".join(message.text for message in answerer.answer(text, record=False).messages)


def test_an_admin_edit_is_audited_and_used_by_the_next_answer(
    app: FastAPI, catalogue_db: Database, login: Callable[[str], StaffClient]
) -> None:
    admin = login("admin")
    assert "Senin–Jumat pukul 08.00–12.00" in answer_text(app, "samsat buka jam brp")
    page = admin.get("/dashboard/katalog/samsat")
    assert page.status_code == 200 and "senin-jumat: 08.00-12.00" in page.text
    form = {
        "hours": NEW_HOURS,
        "aliases": "samsat, kantor samsat, samsat tirtamaya",
        "location": "Lantai 1, loket 20",
    }
    response = admin.post("/dashboard/katalog/samsat", form, follow_redirects=False)
    assert response.status_code == 303
    assert "Senin–Kamis pukul 07.30–13.00; Jumat pukul 07.30–11.00 dan 13.00–14.00 WITA" in answer_text(
        app, "samsat buka jam brp"
    )
    with catalogue_db.session() as session:
        changes = session.scalars(select(CatalogueChange).where(CatalogueChange.action == "edit")).all()
        assert {(c.field, c.actor) for c in changes} == {
            ("hours", "admin:admin"),
            ("location", "admin:admin"),
        }
        stored = load_catalogue(session)
    assert stored is not None and stored.agency("samsat").location == "Lantai 1, loket 20"  # type: ignore[union-attr]
    assert "samsat · hours" in admin.get("/dashboard/katalog").text


def test_agency_staff_edit_only_their_agency(
    app: FastAPI, catalogue_db: Database, login: Callable[[str], StaffClient]
) -> None:
    editor = login("petugas.samsat")
    listing = editor.get("/dashboard/katalog").text
    assert "SAMSAT Kabupaten Tirtamaya" in listing and "Kejaksaan Negeri Tirtamaya" not in listing
    assert "belum terjawab" not in listing  # the admin view of unanswered questions is for admins
    assert editor.get("/dashboard/katalog/kejari").status_code == 403
    refused = editor.post("/dashboard/katalog/kejari", {"hours": NEW_HOURS}, follow_redirects=False)
    assert refused.status_code == 403
    assert "Senin–Jumat pukul 08.00–16.00" in answer_text(app, "kejari jam buka")
    ok = editor.post(
        "/dashboard/katalog/samsat",
        {"hours": "senin: 08.00-10.00", "aliases": "samsat"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert "melayani hari Senin pukul 08.00–10.00 WITA" in answer_text(app, "samsat buka hari apa")


def test_invalid_hours_are_refused_with_a_clear_message(
    app: FastAPI, catalogue_db: Database, login: Callable[[str], StaffClient]
) -> None:
    admin = login("admin")
    response = admin.post("/dashboard/katalog/samsat", {"hours": "senin: 12.00-08.00", "aliases": "samsat"})
    assert response.status_code == 422
    assert "jam selesai harus sesudah jam mulai" in response.text
    assert ">senin: 12.00-08.00</textarea>" in response.text  # what was typed stays in the form
    bad_line = admin.post("/dashboard/katalog/samsat", {"hours": "senin 08.00-12.00", "aliases": "samsat"})
    assert bad_line.status_code == 422 and "tulis &#39;hari: jam&#39;" in bad_line.text
    assert "Senin–Jumat pukul 08.00–12.00" in answer_text(app, "samsat buka jam brp")


def test_unanswered_names_are_grouped_and_become_an_alias_in_one_step(
    app: FastAPI, catalogue_db: Database, login: Callable[[str], StaffClient]
) -> None:
    answerer: CatalogueAnswerer = app.state.catalogue
    for text in ("kantor jasa raharja buka jam berapa", "jasa raharja dimana ya", "di jasa raharja jam brp"):
        answerer.answer(text)
    admin = login("admin")
    page = admin.get("/dashboard/katalog").text
    assert "Nama tidak dikenal (instansi atau layanan)" in page and "jasa raharja" in page
    assert '<td data-label="Jumlah">3</td>' in page  # one group for the three phrasings
    from bot.catalogue.models import CatalogueMiss

    with catalogue_db.session() as session:
        miss = session.scalars(select(CatalogueMiss)).one()
    response = admin.post(
        f"/dashboard/katalog/belum-terjawab/{miss.id}/alias", {"agency_id": "samsat"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert answer_text(app, "jasa raharja buka jam brp").startswith("SAMSAT Kabupaten Tirtamaya melayani")
    assert "Belum ada pertanyaan yang tidak terjawab." in admin.get("/dashboard/katalog").text
