"""Officer operations and the queue query, on SQLite and PostgreSQL: unit scoping (also after a
disposition), escaped search, the SLA filters' SQL, merge rules, double-submitted replies."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest
from sqlalchemy import select, update

from bot.db import Database, utcnow
from bot.staff.models import Role
from bot.staff.principal import StaffPrincipal
from bot.tickets import operations
from bot.tickets.models import Ticket, TicketAudit, TicketMessage
from bot.tickets.queue import QueueFilters, SlaState, load_queue
from bot.tickets.service import NewTicket, ReporterInfo, TicketConfig, create_ticket
from bot.tickets.vocab import Category

PU = "Dinas Pekerjaan Umum dan Penataan Ruang"
DUKCAPIL = "Dinas Kependudukan dan Pencatatan Sipil"
_keys = count(1)


def principal(unit: str | None, role: Role = Role.PETUGAS, user_id: int = 1) -> StaffPrincipal:
    return StaffPrincipal(user_id, f"user{user_id}", "Nama", role, frozenset({unit} if unit else ()))


def file(database: Database, config: TicketConfig, category: Category, description: str) -> Ticket:
    reporter = ReporterInfo(channel="web", sender_id=f"warga-{next(_keys)}")
    with database.session() as session:
        ticket, _ = create_ticket(
            session,
            NewTicket(category=category, description=description, reporter=reporter),
            f"ops-key-{next(_keys):04d}",
            config=config,
        )
        return ticket


def queue_codes(
    database: Database, who: StaffPrincipal, config: TicketConfig, **filters: object
) -> list[str]:
    with database.session() as session:
        page = load_queue(session, who, QueueFilters(**filters), config.calendar, now=utcnow())  # type: ignore[arg-type]
        return [row.ticket.code for row in page.rows]


def test_queue_scope_search_and_sla_filters(database: Database, ticket_config: TicketConfig) -> None:
    pu = file(database, ticket_config, Category.INFRASTRUKTUR, "Diskon 100% jalan_rusak di gang")
    other = file(database, ticket_config, Category.KEPENDUDUKAN, "KTP 100% belum jadi")
    late = file(database, ticket_config, Category.INFRASTRUKTUR, "Got mampet di pasar")
    with database.session() as session:
        session.execute(
            update(Ticket)
            .where(Ticket.id == late.id)
            .values(verification_due_at=utcnow() - timedelta(hours=1))
        )
    officer = principal(PU)
    assert set(queue_codes(database, officer, ticket_config)) == {pu.code, late.code}
    assert queue_codes(database, officer, ticket_config)[0] == late.code
    assert queue_codes(database, officer, ticket_config, q="100%") == [pu.code]
    assert queue_codes(database, officer, ticket_config, q="n_r") == [pu.code]
    assert queue_codes(database, officer, ticket_config, q="' OR 1=1 --") == []
    assert queue_codes(database, officer, ticket_config, q=other.code) == []
    assert queue_codes(database, officer, ticket_config, unit=DUKCAPIL) == []
    assert queue_codes(database, officer, ticket_config, sla=SlaState.OVERDUE) == [late.code]
    assert queue_codes(database, officer, ticket_config, sla=SlaState.OK) == [pu.code]
    admin = principal(None, Role.ADMIN)
    assert set(queue_codes(database, admin, ticket_config)) == {pu.code, other.code, late.code}


def test_dispose_and_merge(database: Database, ticket_config: TicketConfig) -> None:
    first = file(database, ticket_config, Category.INFRASTRUKTUR, "Jembatan retak di desa")
    second = file(database, ticket_config, Category.INFRASTRUKTUR, "Jembatan desa retak parah")
    officer = principal(PU)
    with database.session() as session:
        ticket = session.get_one(Ticket, first.id)
        audit = operations.dispose(session, ticket, officer, DUKCAPIL, "salah unit", config=ticket_config)
        assert audit is not None and audit.to_status == "didisposisi"
    assert queue_codes(database, officer, ticket_config) == [second.code]
    assert queue_codes(database, principal(DUKCAPIL), ticket_config) == [first.code]
    with database.session() as session:
        duplicate = session.get_one(Ticket, second.id)
        with pytest.raises(operations.OperationError):
            operations.merge_into(
                session, duplicate, officer, first.code, config=ticket_config
            )  # not visible
        with pytest.raises(operations.OperationError):
            operations.merge_into(session, duplicate, officer, second.code, config=ticket_config)  # itself
    third = file(database, ticket_config, Category.INFRASTRUKTUR, "Jembatan retak lagi")
    with database.session() as session:
        duplicate = session.get_one(Ticket, second.id)
        operations.merge_into(session, duplicate, officer, third.code, config=ticket_config)
    with database.session() as session:
        merged = session.get_one(Ticket, second.id)
        assert merged.status == "diarsipkan" and merged.merged_into_id == third.id
        actions = session.scalars(select(TicketAudit.action).where(TicketAudit.ticket_id == third.id)).all()
        assert "merged" in actions
    assert queue_codes(database, officer, ticket_config) == [third.code]


def test_reply_with_the_same_form_key_is_stored_once(database: Database, ticket_config: TicketConfig) -> None:
    filed = file(database, ticket_config, Category.INFRASTRUKTUR, "Lampu jalan padam")
    officer = principal(PU)
    for expected in (True, False):
        with database.session() as session:
            ticket = session.get_one(Ticket, filed.id)
            message, created = operations.add_reply(
                session, ticket, officer, "Segera kami cek.", "kunci-formulir-1"
            )
            assert created is expected
    with database.session() as session:
        assert (
            len(session.scalars(select(TicketMessage).where(TicketMessage.ticket_id == filed.id)).all()) == 1
        )
        with pytest.raises(operations.OperationError):
            operations.add_reply(session, session.get_one(Ticket, filed.id), officer, "x", "pendek")
