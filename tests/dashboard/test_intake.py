"""Walk-in intake (/dashboard/loket): filing for a visitor, idempotency, consent, triage hint, receipt."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import func, select

from bot.db import Database
from bot.staff.access import ticket_scope
from bot.staff.accounts import find_user
from bot.staff.principal import StaffPrincipal
from bot.tickets.audit import trail
from bot.tickets.consent import NOTICE_SHA256, NOTICE_VERSION
from bot.tickets.models import Ticket, TicketConsent
from tests.dashboard.conftest import UNIT_DUKCAPIL, UNIT_PU, Browser, Staff, StaffClient

_TOKEN = re.compile(r'name="form_token" value="([0-9a-f]{32})"')
_CODE = re.compile(r'class="tracking-code">([A-Z0-9-]+)<')


def form_token(client: StaffClient) -> str:
    page = client.get("/dashboard/loket")
    assert page.status_code == 200
    match = _TOKEN.search(page.text)
    assert match
    return match.group(1)


def filing(token: str, **overrides: str) -> dict[str, str]:
    return {
        "form_token": token,
        "reporter_name": "Ibu Warsini",
        "reporter_phone": "0812-3456-7890",
        "description": "Lampu jalan di depan pasar mati sejak seminggu, jalan menjadi gelap dan rawan.",
        "location_text": "Jl. Pasar Baru",
        "incident_date": "2026-11-20",
        "category": "infrastruktur",
        "consent": "on",
        **overrides,
    }


def ticket_count(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(Ticket)) or 0


def test_form_shows_the_consent_notice_and_categories(
    login: Callable[[str], StaffClient], staff: Staff
) -> None:
    officer = login(staff.petugas_pu)
    page = officer.get("/dashboard/loket").text
    assert f'name="csrf_token" value="{officer.csrf}"' in page  # the form itself carries the token
    assert "Sebelum laporan Anda kami catat" in page
    assert 'hx-post="/dashboard/loket/saran"' in page and 'hx-trigger="keyup changed delay:600ms"' in page
    assert '<option value="kependudukan"' in page
    assert 'aria-current="page">Loket' in page


def test_officer_files_once_even_on_double_submit(
    login: Callable[[str], StaffClient], staff: Staff, database: Database
) -> None:
    officer = login(staff.petugas_pu)
    token = form_token(officer)
    first = officer.post("/dashboard/loket", filing(token), follow_redirects=False)
    second = officer.post("/dashboard/loket", filing(token), follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert ticket_count(database) == 1
    with database.session() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert ticket.reporter_channel == "loket"
        assert ticket.reporter_sender_id == f"loket:petugas.pu:{token}"
        assert ticket.reporter_name == "Ibu Warsini" and ticket.reporter_phone == "+6281234567890"
        assert ticket.unit == UNIT_PU and ticket.location_text == "Jl. Pasar Baru"
        assert str(ticket.incident_date) == "2026-11-20"
        consent = session.scalars(select(TicketConsent)).one()
        assert (consent.text_version, consent.text_sha256, consent.channel) == (
            NOTICE_VERSION,
            NOTICE_SHA256,
            "loket",
        )
        created = [row for row in trail(session, ticket.id) if row.action == "created"]
        assert [row.actor for row in created] == ["petugas:petugas.pu"]
        code = ticket.code
    page = officer.get(first.headers["location"])
    assert _CODE.search(page.text) and _CODE.search(page.text).group(1) == code  # type: ignore[union-attr]
    assert "Buka tiket" in page.text
    assert "sudah tercatat sebelumnya; tidak dicatat dua kali" in page.text  # the second submit's notice


def test_walk_in_ticket_reaches_the_routed_units_queue(
    login: Callable[[str], StaffClient], staff: Staff, database: Database
) -> None:
    officer = login(staff.petugas_pu)
    response = officer.post(
        "/dashboard/loket",
        filing(
            form_token(officer),
            category="kependudukan",
            description="KTP elektronik saya belum jadi sejak tiga bulan.",
        ),
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = officer.get(response.headers["location"]).text
    assert UNIT_DUKCAPIL in page and "ditangani unit lain" in page and "Buka tiket" not in page
    with database.session() as session:
        dukcapil = StaffPrincipal.of(find_user(session, staff.petugas_dukcapil))  # type: ignore[arg-type]
        pu = StaffPrincipal.of(find_user(session, staff.petugas_pu))  # type: ignore[arg-type]
        in_dukcapil = session.scalars(select(Ticket.code).where(ticket_scope(dukcapil))).all()
        in_pu = session.scalars(select(Ticket.code).where(ticket_scope(pu))).all()
    code = response.headers["location"].rsplit("/", 1)[1]
    assert code in in_dukcapil and code not in in_pu
    # The filing officer can still print the receipt; the other unit's staff can too; PU's supervisor cannot.
    assert officer.get(f"/dashboard/loket/{code}/tanda-terima").status_code == 200
    assert login(staff.petugas_dukcapil).get(f"/dashboard/loket/{code}/tanda-terima").status_code == 200
    assert login(staff.supervisor_pu).get(f"/dashboard/loket/{code}/tanda-terima").status_code == 404


def test_consent_is_required(login: Callable[[str], StaffClient], staff: Staff, database: Database) -> None:
    officer = login(staff.petugas_pu)
    data = filing(form_token(officer))
    del data["consent"]
    response = officer.post("/dashboard/loket", data)
    assert response.status_code == 422
    assert "perlu menyetujui pencatatan data" in response.text
    assert "Lampu jalan di depan pasar" in response.text  # the officer does not retype the description
    assert ticket_count(database) == 0


def test_bad_input_is_refused_politely(
    login: Callable[[str], StaffClient], staff: Staff, database: Database
) -> None:
    officer = login(staff.petugas_pu)
    cases = [
        ({"reporter_phone": "12345"}, "Nomor telepon harus diawali"),
        ({"description": "   "}, "wajib diisi"),
        ({"description": "x" * 4001}, "terlalu panjang"),
        ({"category": "bukan"}, "pilih kategori"),
        ({"incident_date": "2999-01-01"}, "tidak boleh di masa mendatang"),
        ({"incident_date": "kemarin"}, "Tanggal kejadian tidak valid"),
        ({"form_token": "<script>"}, "Formulir tidak lengkap"),
    ]
    for overrides, message in cases:
        response = officer.post("/dashboard/loket", filing(form_token(officer), **overrides))
        assert response.status_code == 422, overrides
        assert message in response.text, overrides
    assert ticket_count(database) == 0


def test_anonymous_visitor_name_is_not_stored(
    login: Callable[[str], StaffClient], staff: Staff, database: Database
) -> None:
    officer = login(staff.petugas_pu)
    officer.post("/dashboard/loket", filing(form_token(officer), anonymous="on", reporter_phone=""))
    with database.session() as session:
        ticket = session.scalars(select(Ticket)).one()
    assert ticket.is_anonymous and ticket.reporter_name is None and ticket.reporter_phone is None


def test_receipt_escapes_the_description(login: Callable[[str], StaffClient], staff: Staff) -> None:
    officer = login(staff.petugas_pu)
    evil = "<script>alert('x')</script> Jalan rusak 🙂 & berlubang"
    response = officer.post(
        "/dashboard/loket", filing(form_token(officer), description=evil), follow_redirects=False
    )
    receipt = officer.get(response.headers["location"] + "/tanda-terima")
    assert receipt.status_code == 200
    assert "<script>alert" not in receipt.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Jalan rusak 🙂 &amp; berlubang" in receipt.text
    assert "Batas waktu penanganan" in receipt.text and UNIT_PU in receipt.text
    assert "Anda berhak melihat, memperbaiki" in receipt.text


def test_missing_csrf_token_is_refused(
    login: Callable[[str], StaffClient], staff: Staff, database: Database
) -> None:
    officer = login(staff.petugas_pu)
    response = officer.client.post("/dashboard/loket", data=filing(form_token(officer)))
    assert response.status_code == 403
    suggestion = officer.client.post(
        "/dashboard/loket/saran", data={"description": "jalan berlubang besar sekali"}
    )
    assert suggestion.status_code == 403
    assert ticket_count(database) == 0


def test_triage_suggestion_fragment(login: Callable[[str], StaffClient], staff: Staff) -> None:
    officer = login(staff.petugas_pu)
    fragment = officer.post(
        "/dashboard/loket/saran",
        {"description": "Jalan di depan rumah saya berlubang besar dan aspalnya rusak parah"},
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 200
    assert re.search(r"Saran kategori: <strong>Infrastruktur</strong> \(\d{1,3}%\)", fragment.text)
    assert 'data-apply-category="infrastruktur"' in fragment.text
    assert "<html" not in fragment.text
    short = officer.post("/dashboard/loket/saran", {"description": "jalan"})
    assert "Saran kategori" not in short.text


def test_receipt_of_unknown_code_is_not_found(login: Callable[[str], StaffClient], staff: Staff) -> None:
    assert login(staff.petugas_pu).get("/dashboard/loket/ZZZZ-ZZZZ/tanda-terima").status_code == 404


def test_login_required(client_factory: Callable[[], Browser], staff: Staff) -> None:
    response = client_factory().get("/dashboard/loket", follow_redirects=False)
    assert response.status_code == 303
