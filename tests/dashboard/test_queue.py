"""The officer's queue: unit scoping, filters, search (escaped and bound), SLA order and badges, paging."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import update

from bot.db import Database, utcnow
from bot.tickets.models import Ticket
from bot.tickets.vocab import Category
from tests.dashboard.conftest import UNIT_DUKCAPIL, UNIT_PU, Staff, StaffClient

MakeTicket = Callable[..., Ticket]
Login = Callable[[str], StaffClient]
_ROW_CODES = re.compile(r'<td data-label="Kode"><a href="/dashboard/tiket/(ADU-[0-9A-Z]{8})">')


def codes(html: str) -> list[str]:
    return _ROW_CODES.findall(html)


def test_officer_sees_only_own_unit_even_through_filters_and_search(
    login: Login, staff: Staff, make_ticket: MakeTicket
) -> None:
    pu = make_ticket(category=Category.INFRASTRUKTUR)
    dukcapil = make_ticket(category=Category.KEPENDUDUKAN, description="KTP elektronik belum jadi tiga bulan")
    officer = login(staff.petugas_pu)
    page = officer.get("/dashboard/")
    assert page.status_code == 200
    assert codes(page.text) == [pu.code]
    assert dukcapil.code not in page.text
    by_unit = officer.get("/dashboard/", params={"unit": UNIT_DUKCAPIL})
    assert by_unit.status_code == 200
    assert dukcapil.code not in by_unit.text
    assert "Filter unit diabaikan" in by_unit.text
    by_code = officer.get("/dashboard/", params={"q": dukcapil.code})
    assert codes(by_code.text) == []
    by_text = officer.get("/dashboard/", params={"q": "KTP elektronik"})
    assert codes(by_text.text) == []


def test_admin_sees_every_unit_and_can_filter_by_unit(
    login: Login, staff: Staff, make_ticket: MakeTicket
) -> None:
    pu = make_ticket(category=Category.INFRASTRUKTUR)
    dukcapil = make_ticket(category=Category.KEPENDUDUKAN)
    admin = login(staff.admin)
    assert set(codes(admin.get("/dashboard/").text)) == {pu.code, dukcapil.code}
    assert codes(admin.get("/dashboard/", params={"unit": UNIT_PU}).text) == [pu.code]


def test_search_by_normalised_code_and_escaped_text(
    login: Login, staff: Staff, make_ticket: MakeTicket
) -> None:
    percent = make_ticket(description="Tarif naik 50% tanpa pemberitahuan kepada warga sekitar")
    underscore = make_ticket(description="Nama berkas foto_jalan rusak tidak terbaca petugas")
    plain = make_ticket(description="Lampu jalan mati di gang mawar sejak pekan lalu")
    officer = login(staff.petugas_pu)
    assert codes(officer.get("/dashboard/", params={"q": plain.code.lower().replace("-", " ")}).text) == [
        plain.code
    ]
    assert codes(officer.get("/dashboard/", params={"q": "%"}).text) == [percent.code]
    assert codes(officer.get("/dashboard/", params={"q": "_"}).text) == [underscore.code]
    assert codes(officer.get("/dashboard/", params={"q": "LAMPU JALAN"}).text) == [plain.code]
    injection = officer.get("/dashboard/", params={"q": "' OR 1=1 --"})
    assert injection.status_code == 200
    assert codes(injection.text) == []


def test_invalid_filters_are_ignored_politely(login: Login, staff: Staff, make_ticket: MakeTicket) -> None:
    ticket = make_ticket()
    officer = login(staff.petugas_pu)
    page = officer.get(
        "/dashboard/",
        params={
            "status": "bogus",
            "kategori": "<script>",
            "kanal": "fax",
            "dari": "kemarin",
            "sla": "x",
            "halaman": "abc",
        },
    )
    assert page.status_code == 200
    assert codes(page.text) == [ticket.code]
    for notice in (
        "Filter status tidak dikenal",
        "Filter kategori",
        "Filter kanal",
        "Tanggal tidak valid",
        "Filter tenggat",
        "Nomor halaman tidak valid",
    ):
        assert notice in page.text
    assert "<script>" not in page.text


def test_sla_order_badges_and_filter(
    login: Login, staff: Staff, make_ticket: MakeTicket, database: Database
) -> None:
    later = make_ticket(description="Trotoar rusak di jalan melati")
    overdue = make_ticket(description="Saluran air tersumbat di jalan kenanga")
    soon = make_ticket(description="Pohon tumbang di jalan anggrek")
    now = utcnow()
    with database.session() as session:
        session.execute(
            update(Ticket).where(Ticket.id == overdue.id).values(verification_due_at=now - timedelta(hours=2))
        )
        session.execute(
            update(Ticket).where(Ticket.id == soon.id).values(verification_due_at=now + timedelta(hours=3))
        )
    officer = login(staff.petugas_pu)
    page = officer.get("/dashboard/")
    assert codes(page.text) == [overdue.code, soon.code, later.code]
    assert 'class="badge sla-overdue">Terlambat' in page.text
    assert 'class="badge sla-soon">Segera jatuh tempo' in page.text
    assert codes(officer.get("/dashboard/", params={"sla": "overdue"}).text) == [overdue.code]
    assert codes(officer.get("/dashboard/", params={"sla": "soon"}).text) == [soon.code]
    assert codes(officer.get("/dashboard/", params={"sla": "ok"}).text) == [later.code]


def test_status_counts_channel_filter_and_pagination_keep_filters(
    login: Login, staff: Staff, make_ticket: MakeTicket
) -> None:
    for index in range(27):
        make_ticket(
            description=f"Laporan jalan rusak nomor {index} di kelurahan",
            channel="telegram",
            sender_id=f"tg-{index}",
        )
    web = make_ticket(description="Laporan lewat web tentang jalan rusak")
    officer = login(staff.petugas_pu)
    page = officer.get("/dashboard/", params={"kanal": "telegram"})
    assert "27 laporan" in page.text
    assert len(codes(page.text)) == 25
    assert web.code not in page.text
    assert "Belum diverifikasi: 27" in page.text
    assert 'href="/dashboard/?kanal=telegram&amp;halaman=2"' in page.text
    second = officer.get("/dashboard/", params={"kanal": "telegram", "halaman": "2"})
    assert len(codes(second.text)) == 2
    assert codes(officer.get("/dashboard/", params={"status": "selesai"}).text) == []


def test_queue_escapes_html_in_units_and_search(login: Login, staff: Staff, make_ticket: MakeTicket) -> None:
    make_ticket(description="<script>alert(1)</script> jalan rusak")
    officer = login(staff.petugas_pu)
    page = officer.get("/dashboard/", params={"q": "<img src=x onerror=alert(1)>"})
    assert page.status_code == 200
    assert "<img src=x onerror=alert(1)>" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text
