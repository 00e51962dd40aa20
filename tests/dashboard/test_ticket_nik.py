"""A NIK in a complaint: masked in the description everywhere, shown decrypted only on the ticket page to
officers allowed to see that ticket, with an access-log row; not in the queue."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db import Database
from bot.encryption import generate_key
from bot.settings import Settings
from bot.staff.models import AccessLog
from bot.tickets.models import Ticket
from tests.dashboard.conftest import Staff, StaffClient
from tests.service.fake_rasa import FakeRasa

NIK = "3201010101900001"
MASKED = "3201********0001"


@pytest.fixture
def settings(sqlite_url: str, fake_rasa: FakeRasa, tmp_path: Path) -> Settings:
    return Settings(
        database_url=sqlite_url,
        rasa_url=fake_rasa.url,
        attachments_dir=tmp_path / "attachments",
        data_encryption_key=generate_key(),
    )


def _nik_views(database: Database, code: str) -> list[AccessLog]:
    with database.session() as session:
        return list(
            session.scalars(
                select(AccessLog).where(AccessLog.target_id == code, AccessLog.action == "view_nik")
            )
        )


def test_the_ticket_page_shows_the_nik_to_its_officers_only_and_logs_it(
    login: Callable[[str], StaffClient], staff: Staff, make_ticket: Callable[..., Ticket], database: Database
) -> None:
    ticket = make_ticket(description=f"Lampu jalan mati di depan rumah saya, NIK {NIK} kalau perlu.")
    assert ticket.description == f"Lampu jalan mati di depan rumah saya, NIK {MASKED} kalau perlu."

    officer = login(staff.petugas_pu)
    queue = officer.get("/dashboard/")
    assert queue.status_code == 200 and ticket.code in queue.text and NIK not in queue.text
    page = officer.get(f"/dashboard/tiket/{ticket.code}")
    assert page.status_code == 200
    assert f'<dd class="nik">{NIK}</dd>' in page.text
    assert MASKED in page.text  # the description itself stays masked
    (view,) = _nik_views(database, ticket.code)
    assert view.actor.endswith("petugas.pu") and view.detail == "1 NIK"

    other_unit = login(staff.petugas_dukcapil)
    assert other_unit.get(f"/dashboard/tiket/{ticket.code}").status_code == 404
    assert len(_nik_views(database, ticket.code)) == 1


def test_a_ticket_without_a_nik_shows_none_and_logs_no_nik_view(
    login: Callable[[str], StaffClient], staff: Staff, make_ticket: Callable[..., Ticket], database: Database
) -> None:
    ticket = make_ticket(description="Jalan rusak, nomor saya 081234567890, lokasi ADU-7KQ2M9XP.")
    page = login(staff.petugas_pu).get(f"/dashboard/tiket/{ticket.code}")
    assert "081234567890" in page.text and 'class="nik"' not in page.text
    assert _nik_views(database, ticket.code) == []
