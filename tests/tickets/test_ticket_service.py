"""Service layer against real databases (SQLite file and PostgreSQL)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from bot.db import Database
from bot.tickets import service
from bot.tickets.audit import trail
from bot.tickets.codes import is_valid_code
from bot.tickets.models import AuditImmutableError, Ticket, TicketAudit, TicketMessage
from bot.tickets.service import (
    AttachmentRejected,
    ConsentInfo,
    IdempotencyConflict,
    NewTicket,
    ReporterInfo,
    TicketClosed,
    TicketConfig,
    TicketValidationError,
    TransitionError,
)
from bot.tickets.status import TicketStatus as S
from bot.tickets.vocab import Category, Priority, TicketType

WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)  # Monday 10:00 WIB
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


def new_ticket(sender: str = "111", channel: str = "telegram", **overrides: object) -> NewTicket:
    fields: dict[str, object] = {
        "category": Category.INFRASTRUKTUR,
        "description": "Jalan berlubang besar di depan SDN 3, sudah dua minggu belum diperbaiki.",
        "reporter": ReporterInfo(channel=channel, sender_id=sender),
        "location_text": "Jl. Merdeka No. 10",
    }
    fields.update(overrides)
    return NewTicket(**fields)  # type: ignore[arg-type]


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    with database.session() as s:
        yield s


def create(session: Session, config: TicketConfig, key: str = "key-00000001", **kw: object) -> Ticket:
    ticket, created = service.create_ticket(session, new_ticket(**kw), key, config=config, now=NOW)  # type: ignore[arg-type]
    assert created
    return ticket


def test_create_fills_routing_sla_consent_and_audit(session: Session, ticket_config: TicketConfig) -> None:
    notice = "versi uji"
    consent = ConsentInfo("2026-01", hashlib.sha256(notice.encode()).hexdigest())
    ticket = create(session, ticket_config, consent=consent)
    assert is_valid_code(ticket.code)
    assert ticket.status == S.BELUM_DIVERIFIKASI
    assert ticket.unit == "Dinas Pekerjaan Umum dan Penataan Ruang"
    assert (ticket.sla_tier, ticket.is_confidential, ticket.is_anonymous) == ("standar", True, False)
    assert ticket.verification_due_at.astimezone(WIB).date() == date(2026, 3, 5)
    assert ticket.first_response_due_at.astimezone(WIB).date() == date(2026, 3, 16)
    assert ticket.resolution_due_at.astimezone(WIB).date() == date(2026, 5, 1)
    session.expire_all()
    stored = session.get(Ticket, ticket.id)
    assert stored is not None and stored.consent is not None
    assert stored.consent.text_sha256 == consent.text_sha256 and stored.consent.given_at == NOW
    assert stored.created_at == NOW and stored.created_at.tzinfo is not None  # aware on SQLite too
    [row] = trail(session, ticket.id)
    assert (row.action, row.actor, row.from_status, row.to_status) == (
        "created",
        "pelapor",
        None,
        "belum_diverifikasi",
    )


def test_create_is_idempotent(session: Session, ticket_config: TicketConfig) -> None:
    first = create(session, ticket_config, key="telegram:111:msg-42")
    again, created = service.create_ticket(session, new_ticket(), "telegram:111:msg-42", config=ticket_config)
    assert (again.id, again.code, created) == (first.id, first.code, False)
    assert session.scalar(select(func.count(Ticket.id))) == 1
    assert len(trail(session, first.id)) == 1
    with pytest.raises(IdempotencyConflict):
        service.create_ticket(session, new_ticket(sender="999"), "telegram:111:msg-42", config=ticket_config)


def test_code_collision_is_retried(session: Session, ticket_config: TicketConfig) -> None:
    taken = create(session, ticket_config).code
    codes = iter([taken, taken, "ADU-ZZZZ2222"])
    ticket, created = service.create_ticket(
        session, new_ticket(), "key-00000002", config=ticket_config, code_factory=lambda: next(codes)
    )
    assert created and ticket.code == "ADU-ZZZZ2222"
    assert session.scalar(select(func.count(Ticket.id))) == 2


def test_validation(session: Session, ticket_config: TicketConfig) -> None:
    def attempt(**kw: object) -> None:
        service.create_ticket(session, new_ticket(**kw), "key-validate", config=ticket_config, now=NOW)  # type: ignore[arg-type]

    with pytest.raises(TicketValidationError) as err:
        attempt(incident_date=date(2026, 3, 3))
    assert err.value.field == "incident_date"
    with pytest.raises(TicketValidationError) as err:
        attempt(incident_date=date(1930, 12, 11))
    assert err.value.field == "incident_date" and "terlalu lama" in str(err.value)
    with pytest.raises(TicketValidationError):
        attempt(latitude=-6.2)  # longitude missing
    with pytest.raises(TicketValidationError):
        attempt(latitude=95.0, longitude=106.8)
    with pytest.raises(TicketValidationError):
        attempt(description="   ")
    with pytest.raises(TicketValidationError):
        attempt(description="x" * 4001)
    with pytest.raises(TicketValidationError):
        attempt(description="nul\x00byte")
    with pytest.raises(TicketValidationError) as err:
        attempt(reporter=ReporterInfo("whatsapp", "6281", phone="12345"))
    assert err.value.field == "reporter_phone"
    assert session.scalar(select(func.count(Ticket.id))) == 0


def test_incident_date_today_in_jakarta_is_accepted(session: Session, ticket_config: TicketConfig) -> None:
    # 00:30 WIB Friday 6 March is still Thursday in UTC; "today" for the citizen is Friday.
    now = datetime(2026, 3, 5, 17, 30, tzinfo=timezone.utc)
    ticket, _ = service.create_ticket(
        session, new_ticket(incident_date=date(2026, 3, 6)), "key-today-01", config=ticket_config, now=now
    )
    assert ticket.incident_date == date(2026, 3, 6)
    assert ticket.verification_due_at.astimezone(WIB).date() == date(2026, 3, 11)


def test_reporter_fields(session: Session, ticket_config: TicketConfig) -> None:
    named = create(
        session,
        ticket_config,
        key="key-named-01",
        reporter=ReporterInfo("whatsapp", "6281234567890", name="Siti Aminah", phone="0812-3456-7890"),
        latitude=-6.2,
        longitude=106.816666,
    )
    assert (named.reporter_name, named.reporter_phone) == ("Siti Aminah", "+6281234567890")
    anonymous = create(
        session,
        ticket_config,
        key="key-anon-001",
        reporter=ReporterInfo("whatsapp", "6281234567890", name="Siti Aminah", anonymous=True),
    )
    assert anonymous.is_anonymous and anonymous.reporter_name is None


def test_html_is_stored_as_received(session: Session, ticket_config: TicketConfig) -> None:
    body = "<script>alert('x')</script> & <b>jalan</b> rusak"
    ticket = create(session, ticket_config, description=body)
    session.expire_all()
    assert session.get(Ticket, ticket.id).description == body  # type: ignore[union-attr]


def test_reporter_isolation(session: Session, ticket_config: TicketConfig) -> None:
    mine = create(session, ticket_config, key="key-mine-001", sender="111")
    create(session, ticket_config, key="key-other-01", sender="222")
    assert service.get_ticket_for_reporter(session, mine.code, "telegram", "111") is not None
    assert service.get_ticket_for_reporter(session, mine.code.lower(), "telegram", "111") is not None
    assert service.get_ticket_for_reporter(session, mine.code, "telegram", "222") is None
    assert service.get_ticket_for_reporter(session, mine.code, "whatsapp", "111") is None
    assert service.get_ticket_for_reporter(session, "ADU-00000000", "telegram", "111") is None
    assert [t.code for t in service.list_reporter_tickets(session, "telegram", "111")] == [mine.code]


def test_list_newest_first_with_limit(session: Session, ticket_config: TicketConfig) -> None:
    codes = []
    for i in range(4):
        ticket, _ = service.create_ticket(
            session, new_ticket(), f"key-list-{i:04d}", config=ticket_config, now=NOW + timedelta(hours=i)
        )
        codes.append(ticket.code)
    listed = service.list_reporter_tickets(session, "telegram", "111", limit=3)
    assert [t.code for t in listed] == codes[::-1][:3]


def test_lifecycle_with_audit_on_every_change(session: Session, ticket_config: TicketConfig) -> None:
    ticket = create(session, ticket_config)
    at = NOW
    steps = [
        (S.TERVERIFIKASI, None),
        (S.DIDISPOSISI, "Diteruskan ke Dinas PUPR"),
        (S.DIPROSES, None),
        (S.SELESAI, "Lubang sudah ditambal pada 5 Maret 2026."),
        (S.DIARSIPKAN, None),
    ]
    for target, note in steps:
        at += timedelta(hours=1)
        service.change_status(session, ticket, target, "petugas.ani", note, config=ticket_config, now=at)
    session.commit()
    rows = trail(session, ticket.id)
    assert [(r.from_status, r.to_status) for r in rows] == [
        (None, "belum_diverifikasi"),
        ("belum_diverifikasi", "terverifikasi"),
        ("terverifikasi", "didisposisi"),
        ("didisposisi", "diproses"),
        ("diproses", "selesai"),
        ("selesai", "diarsipkan"),
    ]
    assert all(r.actor == "petugas.ani" for r in rows[1:])
    assert rows[2].note == "Diteruskan ke Dinas PUPR"
    assert ticket.verified_at == NOW + timedelta(hours=1)
    assert ticket.resolved_at == NOW + timedelta(hours=4)
    # The resolution note is the officer's answer to the citizen (and the first response).
    answer = service.latest_officer_message(session, ticket.id)
    assert answer is not None and answer.text == "Lubang sudah ditambal pada 5 Maret 2026."
    assert ticket.first_response_at == NOW + timedelta(hours=4)
    with pytest.raises(TicketClosed):
        service.add_citizen_message(session, ticket, "Halo?", config=ticket_config)


def test_forbidden_change_leaves_no_trace(session: Session, ticket_config: TicketConfig) -> None:
    ticket = create(session, ticket_config)
    with pytest.raises(TransitionError):
        service.change_status(session, ticket, S.SELESAI, "petugas.ani", "selesai", config=ticket_config)
    with pytest.raises(TransitionError, match="catatan"):
        service.change_status(session, ticket, S.DITOLAK, "petugas.ani", None, config=ticket_config)
    assert ticket.status == S.BELUM_DIVERIFIKASI
    assert len(trail(session, ticket.id)) == 1


def test_pause_and_resume_shift_open_deadlines(session: Session, ticket_config: TicketConfig) -> None:
    ticket = create(session, ticket_config)  # Monday 2 March 10:00 WIB
    service.change_status(session, ticket, S.TERVERIFIKASI, "ani", config=ticket_config, now=NOW)
    before = (ticket.verification_due_at, ticket.first_response_due_at, ticket.resolution_due_at)
    paused = datetime(2026, 3, 6, 3, 0, tzinfo=timezone.utc)  # Friday 10:00 WIB
    service.change_status(
        session,
        ticket,
        S.MENUNGGU_PELAPOR,
        "ani",
        "Mohon kirim foto lokasi.",
        config=ticket_config,
        now=paused,
    )
    assert (ticket.paused_at, ticket.paused_from_status) == (paused, "terverifikasi")
    resumed = paused + timedelta(days=3)  # Monday 10:00 WIB
    message, created = service.add_citizen_message(
        session, ticket, "Ini fotonya, Pak.", external_id="tg-1", config=ticket_config, now=resumed
    )
    assert created
    session.commit()
    session.expire_all()
    ticket = session.get(Ticket, ticket.id)  # type: ignore[assignment]
    # The citizen's answer resumed the clock into the paused status, without an officer.
    assert ticket.status == S.TERVERIFIKASI and ticket.paused_at is None
    assert ticket.paused_seconds_total == 3 * 86400
    assert ticket.verification_due_at == before[0]  # already met (verified) -> unchanged
    assert ticket.first_response_due_at == before[1]  # met: the pause note was the officer's first answer
    assert ticket.resolution_due_at - before[2] == timedelta(days=3)
    actions = [(r.actor, r.action, r.to_status) for r in trail(session, ticket.id)]
    assert actions[-2:] == [("pelapor", "message_added", None), ("sistem", "status_changed", "terverifikasi")]


def test_working_day_deadline_shift_on_pause(session: Session, ticket_config: TicketConfig) -> None:
    ticket = create(session, ticket_config)  # verification due Thursday 5 March
    wed = datetime(2026, 3, 4, 3, 0, tzinfo=timezone.utc)
    service.change_status(
        session, ticket, S.MENUNGGU_PELAPOR, "ani", "Alamat lengkap?", config=ticket_config, now=wed
    )
    service.change_status(
        session, ticket, S.BELUM_DIVERIFIKASI, "ani", config=ticket_config, now=wed + timedelta(days=1)
    )
    assert ticket.verification_due_at.astimezone(WIB).date() == date(2026, 3, 6)  # one working day later


def test_citizen_message_dedup(session: Session, ticket_config: TicketConfig) -> None:
    ticket = create(session, ticket_config)
    first, created = service.add_citizen_message(
        session, ticket, "Tambahan info", external_id="wa-9", config=ticket_config
    )
    again, created_again = service.add_citizen_message(
        session, ticket, "Tambahan info", external_id="wa-9", config=ticket_config
    )
    assert created and not created_again and first.id == again.id
    assert session.scalar(select(func.count(TicketMessage.id))) == 1


def test_audit_rows_cannot_be_changed(database: Database, ticket_config: TicketConfig) -> None:
    with database.session() as session:
        ticket = create(session, ticket_config)
        row = trail(session, ticket.id)[0]
        row.note = "ditulis ulang"
        with pytest.raises(AuditImmutableError):
            session.flush()
        session.rollback()
    with database.session() as session:
        row = session.scalars(select(TicketAudit)).one()
        session.delete(row)
        with pytest.raises(AuditImmutableError):
            session.flush()
        session.rollback()
    # The database refuses as well (trigger), for code that bypasses the ORM.
    for statement in ("UPDATE ticket_audit SET note = 'x'", "DELETE FROM ticket_audit"):
        with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
            conn.execute(text(statement))
    with database.session() as session:
        assert session.scalars(select(TicketAudit.note)).one() is None


def test_attachments(session: Session, ticket_config: TicketConfig) -> None:
    ticket = create(session, ticket_config)
    attachment, created = service.add_attachment(
        session, ticket, JPEG, "../../etc/foto jalan.jpeg", config=ticket_config
    )
    assert created and attachment.content_type == "image/jpeg" and attachment.filename == "foto jalan.jpg"
    stored = ticket_config.attachments_dir / attachment.storage_path
    assert stored.read_bytes() == JPEG
    assert stored.resolve().is_relative_to(ticket_config.attachments_dir.resolve())
    assert attachment.sha256 == hashlib.sha256(JPEG).hexdigest()
    # The client's name or type does not matter, the bytes do: a PDF named .png is a PDF.
    pdf, _ = service.add_attachment(session, ticket, PDF, "scan.png", config=ticket_config)
    assert (pdf.content_type, pdf.filename) == ("application/pdf", "scan.pdf")
    same, created_again = service.add_attachment(session, ticket, JPEG, "lagi.jpg", config=ticket_config)
    assert not created_again and same.id == attachment.id
    assert [r.action for r in trail(session, ticket.id)].count("attachment_added") == 2


def test_attachment_rejections(session: Session, ticket_config: TicketConfig) -> None:
    ticket = create(session, ticket_config)
    html_as_jpg = b"<!DOCTYPE html><html><script>alert(1)</script></html>"
    for data, reason in [
        (html_as_jpg, "unsupported_type"),
        (b"GIF89a" + b"\x00" * 20, "unsupported_type"),
        (b"", "empty"),
        (b"\xff\xd8\xff" + b"\x00" * (64 * 1024), "too_large"),
    ]:
        with pytest.raises(AttachmentRejected) as err:
            service.add_attachment(session, ticket, data, "foto.jpg", config=ticket_config)
        assert err.value.reason == reason
    for i in range(3):
        service.add_attachment(session, ticket, JPEG + bytes([i]), "f.jpg", config=ticket_config)
    with pytest.raises(AttachmentRejected) as err:
        service.add_attachment(session, ticket, JPEG + b"\x09", "f.jpg", config=ticket_config)
    assert err.value.reason == "too_many"
    files = [p for p in ticket_config.attachments_dir.rglob("*") if p.is_file()]
    assert len(files) == 3  # nothing left behind by the rejected uploads


def test_priority_and_unit_changes_are_audited(session: Session, ticket_config: TicketConfig) -> None:
    ticket = create(session, ticket_config, type=TicketType.ASPIRASI)
    service.change_priority(session, ticket, Priority.TINGGI, "ani")
    service.change_unit(session, ticket, "Dinas Perhubungan", "ani", "Terkait rambu lalu lintas")
    actions = [(r.action, r.note) for r in trail(session, ticket.id)][1:]
    assert actions == [
        ("priority_changed", "sedang -> tinggi"),
        (
            "unit_changed",
            "Dinas Pekerjaan Umum dan Penataan Ruang -> Dinas Perhubungan: Terkait rambu lalu lintas",
        ),
    ]


def test_lost_insert_race_returns_the_winner(database: Database, ticket_config: TicketConfig) -> None:
    """The other process commits the same key between our check and our insert: we must return its ticket."""
    winner: dict[str, str] = {}

    def code_after_rival_commits() -> str:
        if not winner:
            with database.session() as rival:
                ticket, _ = service.create_ticket(rival, new_ticket(), "key-race-0001", config=ticket_config)
                winner["code"] = ticket.code
        return "ADU-RACE0000"

    with database.session() as session:
        ticket, created = service.create_ticket(
            session,
            new_ticket(),
            "key-race-0001",
            config=ticket_config,
            code_factory=code_after_rival_commits,
        )
        assert not created and ticket.code == winner["code"]
        assert session.scalar(select(func.count(Ticket.id))) == 1
