"""Helpers of the ticket tests: table set-up, and the worker body of the multi-process tests
(importable by module name, as spawned children need)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from sqlalchemy import Table, create_engine, text

from bot.db import Base, Database
from bot.staff.models import StaffUser
from bot.tickets import service
from bot.tickets.models import Ticket, TicketAttachment, TicketAudit, TicketConsent, TicketMessage
from bot.tickets.routing import load_routing
from bot.tickets.service import NewTicket, ReporterInfo, TicketConfig
from bot.tickets.sla import WorkingCalendar
from bot.tickets.vocab import Category

TICKET_TABLES: list[Table] = [
    StaffUser.__table__,  # type: ignore[list-item]  # tickets.assigned_to_id refers to it
    Ticket.__table__,  # type: ignore[list-item]
    TicketConsent.__table__,  # type: ignore[list-item]
    TicketAttachment.__table__,  # type: ignore[list-item]
    TicketMessage.__table__,  # type: ignore[list-item]
    TicketAudit.__table__,  # type: ignore[list-item]
]


def create_ticket_tables(database: Database) -> None:
    # Only this package's tables: other test modules may have registered more models on Base.
    Base.metadata.create_all(database.engine, tables=TICKET_TABLES)


def truncate_pg(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        names = ", ".join(table.name for table in TICKET_TABLES)
        # TRUNCATE does not fire the row-level append-only trigger; it is the test reset, not a code path.
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


def file_tickets(url: str, rounds: list[list[str]], barrier: Barrier, results: Any, threads: int) -> None:
    """For each round, wait for the other process, then file one ticket per key from `threads` threads.

    Puts (round index, [(key, code, created), ...]) on `results`; an exception is put as a string.
    """
    config = TicketConfig(
        routing=load_routing(), calendar=WorkingCalendar(), attachments_dir=Path("/nonexistent")
    )
    database = Database(url)

    def one(key: str) -> tuple[str, str, bool]:
        sender = key.split(":")[0]
        new = NewTicket(
            category=Category.LINGKUNGAN,
            description=f"Sampah menumpuk di TPS dekat pasar ({key}).",
            reporter=ReporterInfo(channel="whatsapp", sender_id=sender),
        )
        with database.session() as session:
            ticket, created = service.create_ticket(session, new, key, config=config)
            return key, ticket.code, created

    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for index, keys in enumerate(rounds):
                barrier.wait(timeout=120)
                results.put((index, list(pool.map(one, keys))))
    except Exception as exc:  # reported to the parent, which fails the test with it
        results.put((-1, f"{type(exc).__name__}: {exc}"))
    finally:
        database.dispose()
