"""Status notices to the reporter: one per status change, in the web chat, never twice, never to a walk-in or
pseudonymised report, and only what the citizen may know; a finished report invites the SKM survey once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from bot.db import Database, utcnow
from bot.survey.models import Survey, SurveyStatus
from bot.tickets import service
from bot.tickets.models import Ticket, TicketAudit
from bot.tickets.notices import STATUS_NOTICES, compose_notice, notify_status_change
from bot.tickets.status import STATUS_LABELS, TicketStatus
from tests.dashboard.conftest import UNIT_DUKCAPIL, UNIT_PU, Browser

S = TicketStatus
NOTES: dict[TicketStatus, str] = {
    S.SELESAI: "Lubang sudah ditambal pada 27 November.",
    S.DITOLAK: "Jalan tersebut jalan nasional, kewenangan Kementerian PU.",
    S.MENUNGGU_PELAPOR: "Mohon kirim titik lokasi yang tepat.",
}
INTERNAL_NOTE = "Catatan internal: pelapor sudah tiga kali melapor."


def move(database: Database, ticket_id: int, to: TicketStatus, note: str | None = None) -> int:
    """One status change through the real ticket service; the id of its audit row."""
    with database.session() as session:
        ticket = session.get_one(Ticket, ticket_id)
        service.change_status(session, ticket, to, "petugas.pu", note)
        return (
            session.scalars(
                select(TicketAudit.id)
                .where(TicketAudit.ticket_id == ticket_id)
                .order_by(TicketAudit.id.desc())
            ).first()
            or 0
        )


def notify(app: FastAPI, database: Database, ticket_id: int, audit_id: int) -> None:
    asyncio.run(notify_status_change(app.state.gateway, database, ticket_id, audit_id))


def move_and_notify(
    app: FastAPI, database: Database, ticket_id: int, to: TicketStatus, note: str | None = None
) -> int:
    audit_id = move(database, ticket_id, to, note if note is not None else NOTES.get(to))
    notify(app, database, ticket_id, audit_id)
    return audit_id


def updates(browser: Browser, sender: str = "warga-1") -> list[dict[str, Any]]:
    response = browser.chat_updates(sender)
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def finish(app: FastAPI, database: Database, ticket_id: int) -> None:
    """belum_diverifikasi → terverifikasi → didisposisi → diproses → selesai, each notified."""
    for status in (S.TERVERIFIKASI, S.DIDISPOSISI, S.DIPROSES, S.SELESAI):
        move_and_notify(app, database, ticket_id, status)


# --- the texts --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (S.BELUM_DIVERIFIKASI, S.TERVERIFIKASI),
        (S.TERVERIFIKASI, S.DIDISPOSISI),
        (S.DIDISPOSISI, S.DIPROSES),
        (S.DIPROSES, S.MENUNGGU_PELAPOR),
        (S.DIPROSES, S.SELESAI),
        (S.DIPROSES, S.DITOLAK),
        (S.BELUM_DIVERIFIKASI, S.DIARSIPKAN),
    ],
)
def test_every_status_has_a_notice_with_code_label_and_unit(
    source: TicketStatus, target: TicketStatus
) -> None:
    notice = compose_notice("ADU-7K3M9QXZ", source, target, UNIT_PU, NOTES.get(target, INTERNAL_NOTE))
    assert notice is not None
    assert "ADU-7K3M9QXZ" in notice.text
    assert STATUS_LABELS[target] in notice.text
    if target is not S.DIARSIPKAN:
        assert UNIT_PU in notice.text
    if target in NOTES:
        assert NOTES[target] in notice.text
    else:
        # Notes of other steps are internal (audit only): never sent to the citizen.
        assert INTERNAL_NOTE not in notice.text


def test_status_wording_matches_the_status_check() -> None:
    assert set(STATUS_NOTICES) == set(TicketStatus) - {S.BELUM_DIVERIFIKASI}
    diproses = compose_notice("ADU-7K3M9QXZ", "didisposisi", "diproses", UNIT_PU, None)
    assert diproses is not None
    assert 'Status laporan ADU-7K3M9QXZ kini: "Sedang diproses".' in diproses.text
    # The button is the status check's own payload (actions/status.py status_button).
    assert diproses.buttons == [
        {"title": "Cek status", "payload": '/check_status{"ticket_code":"ADU-7K3M9QXZ"}'}
    ]


def test_specific_wording_per_status() -> None:
    rejected = compose_notice("ADU-1", "didisposisi", "ditolak", UNIT_PU, NOTES[S.DITOLAK])
    waiting = compose_notice("ADU-1", "diproses", "menunggu_pelapor", UNIT_PU, NOTES[S.MENUNGGU_PELAPOR])
    done = compose_notice("ADU-1", "diproses", "selesai", UNIT_PU, NOTES[S.SELESAI])
    dispatched = compose_notice("ADU-1", "terverifikasi", "didisposisi", UNIT_DUKCAPIL, None)
    resumed = compose_notice("ADU-1", "menunggu_pelapor", "diproses", UNIT_PU, None)
    reopened = compose_notice("ADU-1", "selesai", "diproses", UNIT_PU, "Warga menyatakan belum beres.")
    assert (
        rejected
        and rejected.text.startswith("Mohon maaf")
        and f'Alasan: "{NOTES[S.DITOLAK]}"' in rejected.text
    )
    assert waiting and "memerlukan keterangan tambahan" in waiting.text
    assert waiting.buttons == [{"title": "Bicara dengan petugas", "payload": "/request_human"}]
    assert done and f'Catatan petugas: "{NOTES[S.SELESAI]}"' in done.text and done.buttons == []
    assert dispatched and f"diteruskan ke {UNIT_DUKCAPIL}" in dispatched.text
    assert resumed and resumed.text.startswith("Terima kasih atas keterangan Anda.")
    assert reopened and reopened.text.startswith("Laporan ADU-1 dibuka kembali.")
    assert "belum beres" not in reopened.text


def test_archiving_a_closed_report_and_unknown_statuses_send_nothing() -> None:
    assert compose_notice("ADU-1", "selesai", "diarsipkan", UNIT_PU, None) is None
    assert compose_notice("ADU-1", "ditolak", "diarsipkan", UNIT_PU, None) is None
    assert compose_notice("ADU-1", "diproses", "tidak_ada", UNIT_PU, None) is None


# --- end to end: the web chat --------------------------------------------------------------------------


def test_each_status_change_reaches_the_web_chat(
    app: FastAPI,
    database: Database,
    make_ticket: Callable[..., Ticket],
    client_factory: Callable[[], Browser],
) -> None:
    ticket = make_ticket(name="Budi Santoso", description="Jalan rusak parah <script>alert(1)</script>")
    browser = client_factory()
    move_and_notify(app, database, ticket.id, S.TERVERIFIKASI, note=INTERNAL_NOTE)
    move_and_notify(app, database, ticket.id, S.DIDISPOSISI)
    move_and_notify(app, database, ticket.id, S.DIPROSES)
    move_and_notify(app, database, ticket.id, S.MENUNGGU_PELAPOR)
    move_and_notify(app, database, ticket.id, S.DIPROSES)
    move_and_notify(app, database, ticket.id, S.DITOLAK)

    texts = [message["text"] for message in updates(browser)]
    assert len(texts) == 6
    expected = [
        "Terverifikasi",
        "Didisposisi ke unit terkait",
        "Sedang diproses",
        "Menunggu tanggapan pelapor",
    ]
    for text, label in zip(texts, expected, strict=False):
        assert f'Status laporan {ticket.code} kini: "{label}"' in text
    assert texts[4].startswith("Terima kasih atas keterangan Anda.")
    assert NOTES[S.MENUNGGU_PELAPOR] in texts[3]
    assert NOTES[S.DITOLAK] in texts[5]
    everything = "\n".join(texts)
    # Nothing the reporter did not write, beyond status, unit and the officer's note to them.
    assert "Budi" not in everything and "<script>" not in everything and INTERNAL_NOTE not in everything


def test_a_repeated_call_sends_the_notice_once(
    app: FastAPI,
    database: Database,
    make_ticket: Callable[..., Ticket],
    client_factory: Callable[[], Browser],
) -> None:
    ticket = make_ticket()
    audit_id = move_and_notify(app, database, ticket.id, S.TERVERIFIKASI)
    notify(app, database, ticket.id, audit_id)
    notify(app, database, ticket.id, audit_id)
    assert len(updates(client_factory())) == 1


def test_walk_in_and_pseudonymised_reports_get_no_notice(
    app: FastAPI,
    database: Database,
    make_ticket: Callable[..., Ticket],
    client_factory: Callable[[], Browser],
) -> None:
    walk_in = make_ticket(channel="loket", sender_id="warga-1")
    forgotten = make_ticket(sender_id="warga-1")
    with database.session() as session:
        session.get_one(Ticket, forgotten.id).pseudonymised_at = utcnow()
    finish(app, database, walk_in.id)
    finish(app, database, forgotten.id)
    assert updates(client_factory()) == []
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Survey)) == 0


def test_a_mismatched_audit_row_sends_nothing(
    app: FastAPI,
    database: Database,
    make_ticket: Callable[..., Ticket],
    client_factory: Callable[[], Browser],
) -> None:
    mine, other = make_ticket(), make_ticket(sender_id="warga-2")
    audit_of_other = move(database, other.id, S.TERVERIFIKASI)
    notify(app, database, mine.id, audit_of_other)
    notify(app, database, mine.id, 999_999)
    assert updates(client_factory()) == []


def test_finished_report_invites_the_survey_once_even_when_finished_again(
    app: FastAPI,
    database: Database,
    make_ticket: Callable[..., Ticket],
    client_factory: Callable[[], Browser],
) -> None:
    ticket = make_ticket()
    finish(app, database, ticket.id)
    move_and_notify(app, database, ticket.id, S.DIPROSES, note="Warga menyatakan lubang muncul lagi.")
    move_and_notify(app, database, ticket.id, S.SELESAI, note="Ditambal ulang dengan aspal hotmix.")

    messages = updates(client_factory())
    invitations = [m for m in messages if "Survei Kepuasan Masyarakat" in m["text"]]
    assert len(invitations) == 1
    with database.session() as session:
        survey = session.scalars(select(Survey)).one()
        assert (survey.ticket_id, survey.unit, survey.channel, survey.sender_id) == (
            ticket.id,
            UNIT_PU,
            "web",
            "warga-1",
        )
        assert survey.status == SurveyStatus.INVITED.value
    assert [b["title"] for b in invitations[0]["buttons"]] == ["Isi survei", "Nanti saja"]
    assert invitations[0]["buttons"][0]["payload"] == f'/skm_mulai{{"survey":{survey.id}}}'
    assert invitations[0]["buttons"][1]["payload"] == f'/skm_tolak{{"survey":{survey.id}}}'
    # Both "selesai" notices went out (each its own audit row), the invitation right after the first one.
    done = [m for m in messages if '"Selesai"' in m["text"]]
    assert len(done) == 2 and "aspal hotmix" in done[1]["text"]
    assert messages.index(invitations[0]) == messages.index(done[0]) + 1


def test_a_merged_duplicate_is_told_without_naming_the_other_report(
    app: FastAPI,
    database: Database,
    make_ticket: Callable[..., Ticket],
    client_factory: Callable[[], Browser],
) -> None:
    original, duplicate = make_ticket(sender_id="warga-2"), make_ticket()
    with database.session() as session:
        session.get_one(Ticket, duplicate.id).merged_into_id = original.id
    move_and_notify(app, database, duplicate.id, S.DIARSIPKAN, note=f"digabung ke {original.code}")
    [message] = updates(client_factory())
    assert message["text"].startswith(f"Laporan {duplicate.code} kami gabungkan dengan laporan lain")
    assert original.code not in message["text"]
