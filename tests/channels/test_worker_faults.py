"""Owned claims and database trouble in the inbox and delivery workers (bot/workers), one fault at a time."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from bot.conversations.models import Direction, InboundStatus, Message, OutboundStatus
from bot.db import utcnow
from bot.workers.owner import Owner
from connectors.base import SendError
from tests.channels.helpers import Pipeline, event
from tests.service.fake_rasa import CANNED, KTP_QUESTION

KTP_REPLIES = [reply["text"] for reply in CANNED[KTP_QUESTION].replies]


def database_down() -> OperationalError:
    return OperationalError("UPDATE messages ...", {}, Exception("server closed the connection unexpectedly"))


def fail_first(monkeypatch: pytest.MonkeyPatch, target: Any, name: str, times: int) -> list[int]:
    """Make `target.name` raise a database outage on its first `times` calls; returns the call counter."""
    original = getattr(target, name)
    calls = [0]

    def flaky(*arguments: Any, **keywords: Any) -> Any:
        calls[0] += 1
        if calls[0] <= times:
            raise database_down()
        return original(*arguments, **keywords)

    monkeypatch.setattr(target, name, flaky)
    return calls


def dead_owner() -> Owner:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return Owner(Owner.new().host, process.pid, "previous-boot")


def claim_as(pipeline: Pipeline, direction: Direction, status: str, owner: Owner, age_seconds: float) -> None:
    with pipeline.database.session() as session:
        session.execute(
            update(Message)
            .where(Message.direction == direction)
            .values(
                status=status, claimed_by=str(owner), claimed_at=utcnow() - timedelta(seconds=age_seconds)
            )
        )


async def test_a_send_is_recorded_after_a_database_outage_and_never_repeated(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = fail_first(monkeypatch, pipeline.delivery, "_mark_sent", times=3)
    await pipeline.gateway.notify("telegram", "5550001", "Laporan Anda diterima.", "k-blip-1")
    pipeline.delivery.kick("telegram", "5550001")
    await pipeline.settle()

    assert pipeline.connector.send_calls == 1 and calls[0] == 4
    (row,) = pipeline.rows(Direction.OUT)
    assert (row.status, row.attempts, row.claimed_by) == (OutboundStatus.SENT, 1, None)


async def test_a_database_error_mid_turn_hands_the_message_back_instead_of_failing_it(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_first(monkeypatch, pipeline.gateway, "_store_replies", times=1)
    await pipeline.inbox.accept(event(KTP_QUESTION))
    await pipeline.settle()

    (inbound,) = pipeline.rows(Direction.IN)
    assert (inbound.status, inbound.status_reason, inbound.attempts) == (InboundStatus.PROCESSED, None, 2)
    assert pipeline.connector.texts() == KTP_REPLIES  # answered once


async def test_the_hand_back_itself_failing_does_not_strand_the_message(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_first(monkeypatch, pipeline.gateway, "_store_replies", times=1)
    fail_first(monkeypatch, pipeline.inbox, "_finish", times=1)  # the error handler's own write fails too
    await pipeline.inbox.accept(event(KTP_QUESTION))
    await pipeline.settle()

    (inbound,) = pipeline.rows(Direction.IN)
    assert inbound.status == InboundStatus.PROCESSED
    assert pipeline.connector.texts() == KTP_REPLIES
    assert pipeline.inbox.pool.step_failures == 1  # logged and retried, the worker did not die


async def test_a_dead_processes_claims_are_taken_over_at_once(pipeline: Pipeline) -> None:
    await pipeline.gateway.notify("telegram", "5550001", "Kode laporan Anda ADU-7K3M9QXR.", "k-dead-1")
    claim_as(pipeline, Direction.OUT, OutboundStatus.SENDING, dead_owner(), age_seconds=1)
    await pipeline.delivery.sweep()
    await pipeline.settle()

    assert pipeline.connector.texts() == ["Kode laporan Anda ADU-7K3M9QXR."]


async def test_a_live_replicas_claim_is_left_until_it_goes_silent(pipeline: Pipeline) -> None:
    await pipeline.gateway.notify("telegram", "5550001", "pesan", "k-live-1")
    elsewhere = Owner("replica-2", 4242, "b")
    claim_as(pipeline, Direction.OUT, OutboundStatus.SENDING, elsewhere, age_seconds=5)
    await pipeline.delivery.sweep()
    await pipeline.settle()
    assert pipeline.connector.texts() == []  # its heartbeat is fresh: still sending it

    stale = pipeline.delivery.claims.stale_seconds + 1
    claim_as(pipeline, Direction.OUT, OutboundStatus.SENDING, elsewhere, age_seconds=stale)
    await pipeline.delivery.sweep()
    await pipeline.settle()
    assert pipeline.connector.texts() == ["pesan"]


async def test_the_heartbeat_renews_only_its_own_claims(pipeline: Pipeline) -> None:
    await pipeline.inbox.accept(event("halo", message_id="5550001:1"))
    await pipeline.inbox.accept(event("halo", sender_id="777", message_id="777:1"))
    await pipeline.settle()
    with pipeline.database.session() as session:
        mine, theirs = session.query(Message).filter(Message.direction == Direction.IN).order_by(Message.id)
        old = utcnow() - timedelta(minutes=5)
        mine.status, mine.claimed_by, mine.claimed_at = "processing", pipeline.inbox.claims.name, old
        theirs.status, theirs.claimed_by, theirs.claimed_at = "processing", "replica-2:1:b", old

    assert await pipeline.inbox.renew_claims() == 1
    mine, theirs = pipeline.rows(Direction.IN)
    assert mine.claimed_at is not None and theirs.claimed_at is not None
    assert (utcnow() - mine.claimed_at.replace(tzinfo=utcnow().tzinfo)) < timedelta(seconds=5)
    assert (utcnow() - theirs.claimed_at.replace(tzinfo=utcnow().tzinfo)) > timedelta(minutes=4)


async def test_flood_control_pauses_every_chat_of_the_bot_and_is_not_an_attempt(pipeline: Pipeline) -> None:
    pipeline.connector.failures = [SendError("Too Many Requests", code=429, retry_after=0.6)]
    await pipeline.gateway.notify("telegram", "5550001", "pertama", "k-flood-1")
    pipeline.delivery.kick("telegram", "5550001")
    while pipeline.connector.send_calls == 0:  # the 429
        await asyncio.sleep(0.01)
    refused_at = time.monotonic()
    await pipeline.gateway.notify("telegram", "5550002", "kedua", "k-flood-2")
    pipeline.delivery.kick("telegram", "5550002")
    await pipeline.settle()

    assert sorted(pipeline.connector.texts()) == ["kedua", "pertama"]
    # The other chat waited for the bot's pause too (it would have gone at once otherwise).
    (second,) = [sent for sent in pipeline.connector.sent if sent.recipient_id == "5550002"]
    assert second.at - refused_at >= 0.45
    assert [row.attempts for row in pipeline.rows(Direction.OUT)] == [1, 1]


async def test_a_sweep_retries_a_message_that_failed_on_an_error(pipeline: Pipeline) -> None:
    await pipeline.inbox.accept(event(KTP_QUESTION))
    await pipeline.settle()
    with pipeline.database.session() as session:
        session.execute(
            update(Message)
            .where(Message.direction == Direction.IN)
            .values(status=InboundStatus.FAILED, status_reason="error: RuntimeError")
        )
        session.execute(update(Message).where(Message.direction == Direction.OUT).values(status="failed"))
    pipeline.rasa.webhook_calls.clear()
    await pipeline.inbox.recover()
    await pipeline.settle()

    (inbound,) = pipeline.rows(Direction.IN)
    assert (inbound.status, inbound.status_reason) == (InboundStatus.PROCESSED, None)
    assert [call["message"] for call in pipeline.rasa.webhook_calls] == [KTP_QUESTION]
