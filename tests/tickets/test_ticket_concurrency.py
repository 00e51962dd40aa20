"""Two processes filing tickets at the same time, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import multiprocessing
import random

import pytest
from sqlalchemy import func, select
from ticket_helpers import create_ticket_tables, file_tickets, truncate_pg

from bot.db import Database
from bot.tickets.codes import is_valid_code
from bot.tickets.models import Ticket, TicketAudit

THREADS_PER_PROCESS = 8


def run_two_processes(
    url: str, rounds_a: list[list[str]], rounds_b: list[list[str]]
) -> list[list[tuple[str, str, bool]]]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=file_tickets, args=(url, rounds, barrier, results, THREADS_PER_PROCESS))
        for rounds in (rounds_a, rounds_b)
    ]
    for proc in procs:
        proc.start()
    collected: list[list[tuple[str, str, bool]]] = [[] for _ in rounds_a]
    for _ in range(2 * len(rounds_a)):
        index, payload = results.get(timeout=180)
        if index < 0:
            pytest.fail(f"worker failed: {payload}")
        collected[index].extend(payload)
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    return collected


def check_concurrent_filing(url: str) -> None:
    keys = [f"62812{n:07d}:msg-{n}" for n in range(200)]
    race = [f"62813{n:07d}:race-{n}" for n in range(100)]
    # Round 2 swaps the halves, so each process repeats keys the *other* process filed.
    first, repeat, raced = run_two_processes(
        url,
        rounds_a=[keys[:100], random.sample(keys[100:], 100), race],
        rounds_b=[keys[100:], random.sample(keys[:100], 100), list(reversed(race))],
    )
    # Round 1: 200 distinct keys from two processes -> 200 tickets with 200 distinct valid codes.
    assert len(first) == 200 and all(created for _, _, created in first)
    code_of = {key: code for key, code, _ in first}
    assert len(set(code_of.values())) == 200 and all(is_valid_code(c) for c in code_of.values())
    # Round 2: the same 200 keys again -> nothing new, every key maps to its first code.
    assert len(repeat) == 200 and not any(created for _, _, created in repeat)
    assert all(code_of[key] == code for key, code, _ in repeat)
    # Round 3: both processes race on the same 100 new keys -> exactly one ticket per key, same code for both.
    assert sum(created for _, _, created in raced) == 100
    race_codes: dict[str, set[str]] = {}
    for key, code, _ in raced:
        race_codes.setdefault(key, set()).add(code)
    assert all(len(codes) == 1 for codes in race_codes.values())

    database = Database(url)
    try:
        with database.session() as session:
            assert session.scalar(select(func.count(Ticket.id))) == 300
            assert session.scalar(select(func.count(func.distinct(Ticket.code)))) == 300
            assert session.scalar(select(func.count(TicketAudit.id))) == 300  # one "created" row per ticket
    finally:
        database.dispose()


def test_two_processes_on_sqlite_file(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    create_ticket_tables(database)
    database.dispose()
    check_concurrent_filing(sqlite_url)


@pytest.mark.postgres
def test_two_processes_on_postgresql(pg_tables: str) -> None:
    truncate_pg(pg_tables)
    check_concurrent_filing(pg_tables)
