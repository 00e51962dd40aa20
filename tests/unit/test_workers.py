"""bot/workers: owners, when a claim may be taken over, the keyed pool and the periodic job."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.workers.claims import ClaimPolicy, is_transient
from bot.workers.owner import Owner, current_owner
from bot.workers.pool import AGAIN, Backoff, KeyedWorkerPool, Periodic, Wait

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_an_owner_round_trips_through_its_text() -> None:
    owner = Owner("node-1.example", 4242, "a1b2c3")
    assert str(owner) == "node-1.example:4242:a1b2c3"
    assert Owner.parse(str(owner)) == owner
    assert Owner.parse("") is None and Owner.parse("garbage") is None
    assert current_owner() == current_owner() and current_owner().pid == os.getpid()


def test_a_dead_process_on_this_host_is_gone_a_live_one_or_another_host_is_not() -> None:
    me = Owner.new()
    assert Owner(me.host, dead_pid(), "x").is_gone(me)
    assert Owner(me.host, me.pid, "older-boot").is_gone(me)  # our pid, a previous boot (containers)
    assert not Owner(me.host, os.getppid(), "x").is_gone(me)
    assert not Owner("elsewhere", dead_pid(), "x").is_gone(me)  # cannot tell: silence decides
    assert not me.is_gone(me)


def test_a_claim_is_taken_over_when_its_owner_is_gone_or_silent_or_ours() -> None:
    me = Owner.new()
    policy = ClaimPolicy(me, heartbeat_seconds=5, stale_seconds=20)
    fresh, stale = NOW - timedelta(seconds=3), NOW - timedelta(seconds=21)
    live_elsewhere = str(Owner("elsewhere", 1, "b"))
    assert not policy.may_take_over(live_elsewhere, fresh, NOW)
    assert policy.may_take_over(live_elsewhere, stale, NOW)
    assert policy.may_take_over(str(Owner(me.host, dead_pid(), "c")), fresh, NOW)
    assert policy.may_take_over(str(me), fresh, NOW)  # left behind by one of our own workers
    assert not policy.may_take_over(None, fresh, NOW) and policy.may_take_over(None, stale, NOW)


def test_transient_database_errors_are_told_apart() -> None:
    assert is_transient(OperationalError("SELECT 1", {}, Exception("server closed the connection")))
    assert not is_transient(IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not is_transient(ValueError("bug"))


async def test_one_worker_per_key_in_order_and_a_kick_while_busy_is_not_lost() -> None:
    queues: dict[str, list[int]] = {"a": [1, 2], "b": [1]}
    done: list[tuple[str, int]] = []
    running: set[str] = set()

    async def step(key: str) -> object:
        assert key not in running  # never two workers for one key
        running.add(key)
        try:
            await asyncio.sleep(0.01)
            if not queues[key]:
                return None
            done.append((key, queues[key].pop(0)))
            return AGAIN
        finally:
            running.discard(key)

    pool: KeyedWorkerPool[str] = KeyedWorkerPool("test", step)
    pool.kick("a")
    pool.kick("a")
    pool.kick("b")
    await asyncio.sleep(0.015)
    queues["a"].append(3)  # arrives while the worker runs: the kick makes it look again
    pool.kick("a")
    await pool.drain(5)
    assert [n for key, n in done if key == "a"] == [1, 2, 3]
    assert [n for key, n in done if key == "b"] == [1]
    assert pool.keys() == []


async def test_a_step_that_raises_is_retried_and_the_worker_goes_on() -> None:
    calls: list[int] = []

    async def step(key: str) -> object:
        calls.append(len(calls))
        if len(calls) <= 2:
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        if len(calls) == 3:
            return Wait(0.01)
        return None

    pool: KeyedWorkerPool[str] = KeyedWorkerPool("test", step, Backoff(0.01, 0.02))
    pool.kick("a")
    await pool.drain(5)
    assert len(calls) == 4 and pool.step_failures == 2


async def test_a_periodic_job_survives_a_failing_round() -> None:
    rounds: list[int] = []

    async def job() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("database hiccup")

    periodic = Periodic("test", job, interval=0.01, first_delay=0)
    periodic.start()
    await asyncio.sleep(0.1)
    await periodic.close()
    assert len(rounds) >= 3 and not periodic.running


def test_backoff_grows_to_its_cap() -> None:
    assert [Backoff(0.5, 2.0).delay(n) for n in range(1, 5)] == [0.5, 1.0, 2.0, 2.0]


@pytest.mark.parametrize("text", ["host:12:boot", "my:host:with:colons:12:boot"])
def test_host_names_with_colons_parse(text: str) -> None:
    owner = Owner.parse(text)
    assert owner is not None and str(owner) == text
