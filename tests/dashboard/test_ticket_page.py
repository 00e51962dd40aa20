"""The ticket page and its attachments: access per role, personal data and access log, escaping."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from bot.db import Database
from bot.settings import Settings
from bot.staff.models import AccessLog
from bot.tickets.models import Ticket
from bot.tickets.service import TicketConfig, add_attachment, add_citizen_message
from bot.tickets.vocab import Category
from tests.dashboard.conftest import Staff, StaffClient
from tests.service.fake_rasa import FakeRasa

MakeTicket = Callable[..., Ticket]
Login = Callable[[str], StaffClient]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"x" * 64


def _attach(database: Database, settings: Settings, ticket: Ticket, data: bytes, name: str) -> int:
    with database.session() as session:
        row = session.get_one(Ticket, ticket.id)
        attachment, _ = add_attachment(session, row, data, name, config=TicketConfig.from_settings(settings))
        return attachment.id


def test_page_shows_facts_logs_access_and_hides_other_units(
    login: Login, staff: Staff, make_ticket: MakeTicket, database: Database, settings: Settings
) -> None:
    ticket = make_ticket(location_text="Jl. Merdeka 5", latitude=-6.2, longitude=106.816666)
    image = _attach(database, settings, ticket, PNG, "foto.png")
    officer = login(staff.petugas_pu)
    page = officer.get(f"/dashboard/tiket/{ticket.code}")
    assert page.status_code == 200
    assert "Budi Santoso" in page.text and "Jl. Merdeka 5" in page.text
    assert (
        "https://www.openstreetmap.org/?mlat=-6.200000&amp;mlon=106.816666#map=17/-6.200000/106.816666"
        in page.text
    )
    assert f"/dashboard/tiket/{ticket.code}/lampiran/{image}" in page.text
    with database.session() as session:
        actions = session.scalars(select(AccessLog.action).where(AccessLog.target_id == ticket.code)).all()
    assert "view_ticket" in actions

    other = login(staff.petugas_dukcapil)
    assert other.get(f"/dashboard/tiket/{ticket.code}").status_code == 404
    assert other.get(f"/dashboard/tiket/{ticket.code}/lampiran/{image}").status_code == 404
    assert login(staff.admin).get(f"/dashboard/tiket/{ticket.code}").status_code == 200


def test_anonymous_reporter_is_shown_as_anonim(
    login: Login, staff: Staff, make_ticket: MakeTicket, database: Database
) -> None:
    ticket = make_ticket(category=Category.INFRASTRUKTUR, name="Rahasia Sekali")
    with database.session() as session:
        row = session.get_one(Ticket, ticket.id)
        row.is_anonymous, row.reporter_phone = True, "081234567890"
    page = login(staff.supervisor_pu).get(f"/dashboard/tiket/{ticket.code}")
    assert "Anonim" in page.text
    assert "Rahasia Sekali" not in page.text and "081234567890" not in page.text


def test_attachment_served_with_safe_headers_and_logged(
    login: Login, staff: Staff, make_ticket: MakeTicket, database: Database, settings: Settings
) -> None:
    ticket = make_ticket()
    image = _attach(database, settings, ticket, PNG, "foto.png")
    document = _attach(database, settings, ticket, PDF, "surat.pdf")
    officer = login(staff.petugas_pu)
    shown = officer.get(f"/dashboard/tiket/{ticket.code}/lampiran/{image}")
    assert shown.status_code == 200 and shown.content == PNG
    assert shown.headers["content-type"] == "image/png"
    assert shown.headers["x-content-type-options"] == "nosniff"
    assert shown.headers["content-security-policy"] == "sandbox"
    assert shown.headers["content-disposition"].startswith("inline")
    download = officer.get(f"/dashboard/tiket/{ticket.code}/lampiran/{document}")
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["content-type"] == "application/octet-stream"
    assert officer.get(f"/dashboard/tiket/{ticket.code}/lampiran/999999").status_code == 404
    with database.session() as session:
        logged = session.scalars(
            select(AccessLog.target_id).where(AccessLog.action == "view_attachment")
        ).all()
    assert str(image) in logged


@pytest.mark.parametrize("payload", ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"])
def test_description_and_conversation_are_escaped(
    payload: str,
    login: Login,
    staff: Staff,
    make_ticket: MakeTicket,
    database: Database,
    settings: Settings,
    client_factory: Callable[[], object],
    fake_rasa: FakeRasa,
) -> None:
    ticket = make_ticket(description=f"Jalan rusak parah {payload}", sender_id="warga-xss")
    web = client_factory()
    assert web.chat("warga-xss", payload).status_code == 200  # type: ignore[attr-defined]
    with database.session() as session:
        add_citizen_message(
            session,
            session.get_one(Ticket, ticket.id),
            f"tambahan {payload}",
            config=TicketConfig.from_settings(settings),
        )
    page = login(staff.petugas_pu).get(f"/dashboard/tiket/{ticket.code}")
    assert payload not in page.text
    escaped = payload.replace("<", "&lt;").replace(">", "&gt;")
    assert page.text.count(escaped) >= 3  # description, conversation bubble, ticket message


def test_walk_in_ticket_has_no_conversation_and_no_reply_form(
    login: Login, staff: Staff, make_ticket: MakeTicket
) -> None:
    ticket = make_ticket(channel="loket", sender_id="loket-1")
    page = login(staff.petugas_pu).get(f"/dashboard/tiket/{ticket.code}")
    assert "diterima di loket" in page.text
    assert f'action="/dashboard/tiket/{ticket.code}/balas"' not in page.text
