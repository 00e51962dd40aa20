"""Officer actions on a ticket: access and CSRF on every POST, each action's row and audit trail, the reply
to the citizen (stored once, delivered through the web chat), status notices."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from bot.conversations.models import Message
from bot.db import Database
from bot.staff.models import StaffUser
from bot.tickets.models import Ticket, TicketAudit, TicketMessage
from bot.tickets.vocab import Category
from tests.dashboard.conftest import UNIT_DUKCAPIL, Browser, Staff, StaffClient

MakeTicket = Callable[..., Ticket]
Login = Callable[[str], StaffClient]
_REPLY_KEY = re.compile(r'name="reply_key" value="([^"]+)"')


def _row(database: Database, ticket_id: int) -> Ticket:
    with database.session() as session:
        return session.get_one(Ticket, ticket_id)


def _trail(database: Database, ticket_id: int) -> list[tuple[str, str | None, str | None, str | None]]:
    with database.session() as session:
        rows = session.scalars(
            select(TicketAudit).where(TicketAudit.ticket_id == ticket_id).order_by(TicketAudit.id)
        )
        return [(a.action, a.from_status, a.to_status, a.note) for a in rows]


def _user_id(database: Database, username: str) -> int:
    with database.session() as session:
        return session.scalars(select(StaffUser.id).where(StaffUser.username == username)).one()


def _actions(code: str, database: Database) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"/dashboard/tiket/{code}/verifikasi", {}),
        (f"/dashboard/tiket/{code}/disposisi", {"unit": UNIT_DUKCAPIL}),
        (f"/dashboard/tiket/{code}/status", {"status": "ditolak", "note": "bukan wewenang"}),
        (f"/dashboard/tiket/{code}/prioritas", {"priority": "tinggi"}),
        (f"/dashboard/tiket/{code}/tugaskan", {"officer_id": str(_user_id(database, "petugas.dukcapil"))}),
        (f"/dashboard/tiket/{code}/catatan", {"text": "catatan"}),
        (f"/dashboard/tiket/{code}/gabung", {"target": code}),
        (f"/dashboard/tiket/{code}/balas", {"text": "halo", "reply_key": "k" * 20}),
    ]


def test_every_action_is_404_for_another_unit_and_403_without_csrf(
    login: Login, staff: Staff, make_ticket: MakeTicket, database: Database
) -> None:
    ticket = make_ticket()
    before = _trail(database, ticket.id)
    outsider = login(staff.petugas_dukcapil)
    insider = login(staff.petugas_pu)
    for url, data in _actions(ticket.code, database):
        assert outsider.post(url, data, follow_redirects=False).status_code == 404, url
        missing = insider.client.post(url, data=data, follow_redirects=False)
        assert missing.status_code == 403, url
        wrong = insider.client.post(url, data={**data, "csrf_token": "salah"}, follow_redirects=False)
        assert wrong.status_code == 403, url
    assert _trail(database, ticket.id) == before
    row = _row(database, ticket.id)
    assert row.status == "belum_diverifikasi" and row.priority == "sedang" and row.assigned_to_id is None


def test_verify_then_status_change_requires_a_note_and_sends_a_notice(
    login: Login, staff: Staff, make_ticket: MakeTicket, database: Database
) -> None:
    ticket = make_ticket(sender_id="warga-notice")
    officer = login(staff.petugas_pu)
    response = officer.post(f"/dashboard/tiket/{ticket.code}/verifikasi", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/dashboard/tiket/{ticket.code}"
    assert _row(database, ticket.id).status == "terverifikasi"
    assert "Laporan telah diverifikasi." in officer.get(f"/dashboard/tiket/{ticket.code}").text
    officer.post(f"/dashboard/tiket/{ticket.code}/status", {"status": "diproses"})
    refused = officer.post(f"/dashboard/tiket/{ticket.code}/status", {"status": "selesai", "note": "  "})
    assert refused.status_code == 400 and "wajib disertai catatan" in refused.text
    assert _row(database, ticket.id).status == "diproses"
    done = officer.post(
        f"/dashboard/tiket/{ticket.code}/status",
        {"status": "selesai", "note": "Jalan sudah ditambal."},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert _row(database, ticket.id).status == "selesai"
    trail = _trail(database, ticket.id)
    assert ("status_changed", "diproses", "selesai", "Jalan sudah ditambal.") in trail
    with database.session() as session:
        audit_ids = session.scalars(
            select(TicketAudit.id).where(
                TicketAudit.ticket_id == ticket.id, TicketAudit.action == "status_changed"
            )
        ).all()
        notices = session.scalars(
            select(Message.platform_message_id).where(
                Message.sender_id == "warga-notice", Message.direction == "out"
            )
        ).all()
    for audit_id in audit_ids:
        assert f"notify:status:{audit_id}" in notices
    bogus = officer.post(f"/dashboard/tiket/{ticket.code}/status", {"status": "hilang"})
    assert bogus.status_code == 400 and "tidak dikenal" in bogus.text


def test_dispose_moves_the_ticket_out_of_the_old_units_sight(
    login: Login, staff: Staff, make_ticket: MakeTicket, database: Database
) -> None:
    ticket = make_ticket()
    officer = login(staff.petugas_pu)
    officer.post(
        f"/dashboard/tiket/{ticket.code}/tugaskan", {"officer_id": str(_user_id(database, "petugas.pu"))}
    )
    response = officer.post(
        f"/dashboard/tiket/{ticket.code}/disposisi", {"unit": UNIT_DUKCAPIL}, follow_redirects=False
    )
    assert response.status_code == 303
    row = _row(database, ticket.id)
    assert row.unit == UNIT_DUKCAPIL and row.status == "didisposisi" and row.assigned_to_id is None
    actions = [a[0] for a in _trail(database, ticket.id)]
    assert actions[-4:] == ["status_changed", "status_changed", "unit_changed", "assigned"]
    assert officer.get(f"/dashboard/tiket/{ticket.code}").status_code == 404
    assert ticket.code not in officer.get("/dashboard/").text
    assert login(staff.petugas_dukcapil).get(f"/dashboard/tiket/{ticket.code}").status_code == 200
    unknown = login(staff.admin).post(f"/dashboard/tiket/{ticket.code}/disposisi", {"unit": "Dinas Rahasia"})
    assert unknown.status_code == 400 and "Unit tujuan tidak dikenal" in unknown.text


def test_priority_assignment_rules_and_internal_note(
    login: Login, staff: Staff, make_ticket: MakeTicket, database: Database
) -> None:
    ticket = make_ticket()
    petugas = login(staff.petugas_pu)
    petugas.post(f"/dashboard/tiket/{ticket.code}/prioritas", {"priority": "darurat"})
    assert _row(database, ticket.id).priority == "darurat"
    assert petugas.post(f"/dashboard/tiket/{ticket.code}/prioritas", {"priority": "super"}).status_code == 400

    supervisor_id = _user_id(database, "supervisor.pu")
    refused = petugas.post(f"/dashboard/tiket/{ticket.code}/tugaskan", {"officer_id": str(supervisor_id)})
    assert refused.status_code == 400 and "dirinya sendiri" in refused.text
    petugas.post(
        f"/dashboard/tiket/{ticket.code}/tugaskan", {"officer_id": str(_user_id(database, "petugas.pu"))}
    )
    assert _row(database, ticket.id).assigned_to_id == _user_id(database, "petugas.pu")
    supervisor = login(staff.supervisor_pu)
    supervisor.post(f"/dashboard/tiket/{ticket.code}/tugaskan", {"officer_id": str(supervisor_id)})
    assert _row(database, ticket.id).assigned_to_id == supervisor_id
    other_unit = supervisor.post(
        f"/dashboard/tiket/{ticket.code}/tugaskan",
        {"officer_id": str(_user_id(database, "petugas.dukcapil"))},
    )
    assert other_unit.status_code == 400

    petugas.post(f"/dashboard/tiket/{ticket.code}/catatan", {"text": "Cek lokasi besok pagi."})
    with database.session() as session:
        note = session.scalars(select(TicketMessage).where(TicketMessage.ticket_id == ticket.id)).one()
        outbound = session.scalars(select(Message).where(Message.direction == "out")).all()
    assert note.is_internal and note.author_kind == "officer" and note.text == "Cek lokasi besok pagi."
    assert not any("Cek lokasi" in m.text for m in outbound)
    assert _row(database, ticket.id).first_response_at is None
    assert [a[0] for a in _trail(database, ticket.id)].count("assigned") == 2
    assert petugas.post(f"/dashboard/tiket/{ticket.code}/catatan", {"text": " "}).status_code == 400


def test_merge_duplicate_rules(
    login: Login, staff: Staff, make_ticket: MakeTicket, database: Database
) -> None:
    original = make_ticket()
    duplicate = make_ticket(description="Jalan berlubang depan SDN 3 lagi")
    foreign = make_ticket(category=Category.KEPENDUDUKAN)
    officer = login(staff.petugas_pu)
    itself = officer.post(f"/dashboard/tiket/{duplicate.code}/gabung", {"target": duplicate.code})
    assert itself.status_code == 400 and "dirinya sendiri" in itself.text
    hidden = officer.post(f"/dashboard/tiket/{duplicate.code}/gabung", {"target": foreign.code})
    assert hidden.status_code == 400 and "di luar unit Anda" in hidden.text
    merged = officer.post(
        f"/dashboard/tiket/{duplicate.code}/gabung", {"target": original.code}, follow_redirects=False
    )
    assert merged.status_code == 303
    row = _row(database, duplicate.id)
    assert row.status == "diarsipkan" and row.merged_into_id == original.id
    assert ("status_changed", "belum_diverifikasi", "diarsipkan", f"digabung ke {original.code}") in _trail(
        database, duplicate.id
    )
    assert any(a[0] == "merged" and duplicate.code in (a[3] or "") for a in _trail(database, original.id))
    into_merged = officer.post(f"/dashboard/tiket/{original.code}/gabung", {"target": duplicate.code})
    assert into_merged.status_code == 400 and "sudah digabungkan" in into_merged.text
    assert duplicate.code not in officer.get("/dashboard/").text
    assert duplicate.code in officer.get("/dashboard/?gabungan=1").text


def test_reply_is_stored_once_and_reaches_the_web_chat(
    login: Login,
    staff: Staff,
    make_ticket: MakeTicket,
    database: Database,
    client_factory: Callable[[], Browser],
) -> None:
    ticket = make_ticket(sender_id="warga-balas")
    officer = login(staff.petugas_pu)
    page = officer.get(f"/dashboard/tiket/{ticket.code}")
    key = _REPLY_KEY.search(page.text)
    assert key
    data = {"text": "Tim kami akan meninjau lokasi besok.", "reply_key": key.group(1)}
    first = officer.post(f"/dashboard/tiket/{ticket.code}/balas", data, follow_redirects=False)
    again = officer.post(f"/dashboard/tiket/{ticket.code}/balas", data, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    with database.session() as session:
        replies = session.scalars(
            select(TicketMessage).where(
                TicketMessage.ticket_id == ticket.id, TicketMessage.author_kind == "officer"
            )
        ).all()
        outbound = session.scalars(
            select(Message).where(Message.sender_id == "warga-balas", Message.direction == "out")
        ).all()
    assert len(replies) == 1
    sent = [m for m in outbound if "Tim kami" in m.text]
    assert len(sent) == 1
    assert sent[0].text == f"Balasan petugas untuk {ticket.code}:\nTim kami akan meninjau lokasi besok."
    assert (
        sent[0].payload
        and sent[0].payload["author"] == "officer"
        and sent[0].payload["officer"] == "petugas.pu"
    )
    assert _row(database, ticket.id).first_response_at is not None
    updates = client_factory().chat_updates("warga-balas").json()
    assert any("Tim kami akan meninjau" in m["text"] for m in updates["messages"])
    shown = officer.get(f"/dashboard/tiket/{ticket.code}").text
    assert 'class="bubble officer"' in shown and "Menunggu diambil oleh obrolan web" in shown


@pytest.mark.parametrize("text", ["", "   ", "x" * 4001])
def test_reply_rejects_empty_and_too_long(
    text: str, login: Login, staff: Staff, make_ticket: MakeTicket, database: Database
) -> None:
    ticket = make_ticket()
    officer = login(staff.petugas_pu)
    response = officer.post(f"/dashboard/tiket/{ticket.code}/balas", {"text": text, "reply_key": "a" * 24})
    assert response.status_code == 400
    assert "tidak boleh kosong" in response.text or "terlalu panjang" in response.text
    with database.session() as session:
        assert session.scalars(select(TicketMessage).where(TicketMessage.ticket_id == ticket.id)).all() == []


def test_walk_in_reply_is_refused(login: Login, staff: Staff, make_ticket: MakeTicket) -> None:
    ticket = make_ticket(channel="loket", sender_id="loket-9")
    response = login(staff.petugas_pu).post(
        f"/dashboard/tiket/{ticket.code}/balas", {"text": "Halo", "reply_key": "b" * 24}
    )
    assert response.status_code == 400 and "diterima di loket" in response.text
