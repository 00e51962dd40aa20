"""Crash recovery: what was stored but not processed or not sent is finished at start-up, exactly once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from bot.api.app import create_app
from bot.conversations import repository
from bot.conversations.models import Conversation, Direction, InboundStatus, Message, OutboundStatus
from bot.db import Database
from bot.gateway.inbox import event_to_payload
from bot.settings import Settings
from bot.workers.owner import Owner
from connectors.base import InboundEvent
from tests.channels.fake_connector import FakeConnector
from tests.channels.helpers import event, make_pipeline
from tests.service.fake_rasa import CANNED, KTP_QUESTION, FakeRasa

KTP_REPLIES = [reply["text"] for reply in CANNED[KTP_QUESTION].replies]


def store_unprocessed(database: Database, inbound: InboundEvent) -> int:
    """What `Inbox.accept` leaves behind when the process dies right after persisting."""
    with database.session() as session:
        conversation = repository.find_conversation(session, inbound.channel, inbound.sender_id)
        if conversation is None:
            conversation = repository.add_conversation(session, inbound.channel, inbound.sender_id)
        row = repository.add_inbound(
            session,
            conversation,
            inbound.text,
            inbound.platform_message_id,
            {"event": event_to_payload(inbound)},
        )
        return row.id


def rows(database: Database, direction: Direction) -> list[Message]:
    with database.session() as session:
        return list(
            session.scalars(select(Message).where(Message.direction == direction).order_by(Message.id)).all()
        )


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_the_app_processes_stored_messages_and_sends_queued_ones_at_start_up(
    database: Database, fake_rasa: FakeRasa, tmp_path: Path
) -> None:
    inbound_id = store_unprocessed(database, event(KTP_QUESTION, message_id="5550001:1"))
    with database.session() as session:  # a notification queued before the crash
        conversation = repository.add_conversation(session, "telegram", "5550002")
        repository.add_notification(
            session, conversation, "Kode laporan Anda ADU-7KQ2M9XP", None, "k-crash-01"
        )
    settings = Settings(
        database_url="sqlite://",
        rasa_url=fake_rasa.url,
        attachments_dir=tmp_path,
        delivery_min_interval_seconds=0.0,
    )
    app = create_app(settings, database)
    telegram = FakeConnector("telegram")
    app.state.connectors["telegram"] = telegram

    with TestClient(app):
        wait_for(lambda: len(telegram.sent) == 3)
        time.sleep(0.3)  # nothing more arrives

    assert sorted(telegram.texts()) == sorted([*KTP_REPLIES, "Kode laporan Anda ADU-7KQ2M9XP"])
    assert telegram.texts("5550001") == KTP_REPLIES
    assert len(fake_rasa.webhook_calls) == 1
    (inbound,) = rows(database, Direction.IN)
    assert (inbound.id, inbound.status, inbound.attempts) == (inbound_id, InboundStatus.PROCESSED, 1)
    assert {m.status for m in rows(database, Direction.OUT)} == {OutboundStatus.SENT}


def test_a_restart_does_not_answer_again(database: Database, fake_rasa: FakeRasa, tmp_path: Path) -> None:
    store_unprocessed(database, event("halo", message_id="5550001:2"))
    settings = Settings(database_url="sqlite://", rasa_url=fake_rasa.url, attachments_dir=tmp_path)
    telegram = FakeConnector("telegram")
    for _ in range(2):
        app = create_app(settings, database)
        app.state.connectors["telegram"] = telegram
        with TestClient(app):
            wait_for(lambda: len(telegram.sent) == 2)
            time.sleep(0.2)

    assert len(fake_rasa.webhook_calls) == 1
    assert len(telegram.sent) == 2


async def test_two_recoveries_racing_process_each_message_once(
    database: Database, rasa_http: httpx.AsyncClient, fake_rasa: FakeRasa, tmp_path: Path
) -> None:
    for number in range(3):
        store_unprocessed(database, event(f"pesan {number}", message_id=f"5550001:{10 + number}"))
    store_unprocessed(database, event("halo", sender_id="999", message_id="999:1"))
    fake_rasa.delay_seconds = 0.05
    # Two replicas (each its own inbox and delivery worker, on its own host) starting at the same moment.
    replicas = [
        make_pipeline(
            database,
            rasa_http,
            fake_rasa,
            tmp_path,
            FakeConnector("telegram"),
            owner=Owner.new(f"replica-{n}"),
        )
        for n in range(2)
    ]
    try:
        await asyncio.gather(*(replica.inbox.recover() for replica in replicas))
        for _ in range(3):  # more recoveries, while and after processing, change nothing
            await asyncio.gather(*(replica.settle() for replica in replicas))
            await asyncio.gather(*(replica.inbox.recover() for replica in replicas))
        await asyncio.gather(*(replica.settle() for replica in replicas))
    finally:
        for replica in replicas:
            await replica.inbox.close()
            await replica.delivery.close()

    turns = sorted(call["message"] for call in fake_rasa.webhook_calls)
    assert turns == ["halo", "pesan 0", "pesan 1", "pesan 2"]
    own = [c["message"] for c in fake_rasa.webhook_calls if c["sender"] == "telegram:5550001"]
    assert own == ["pesan 0", "pesan 1", "pesan 2"]  # still in order
    sent = [s for replica in replicas for s in replica.connector.sent]
    assert len(sent) == 5  # 3 x "belum mengerti" + the 2 replies to "halo"
    assert all(m.status == InboundStatus.PROCESSED and m.attempts == 1 for m in rows(database, Direction.IN))


async def test_a_message_held_by_a_vanished_worker_is_taken_over_after_the_lease(
    database: Database, rasa_http: httpx.AsyncClient, fake_rasa: FakeRasa, tmp_path: Path
) -> None:
    stale = store_unprocessed(database, event("pesan lama", message_id="5550001:20"))
    fresh = store_unprocessed(database, event("pesan baru", sender_id="777", message_id="777:20"))
    now = datetime.now(timezone.utc)
    with database.session() as session:
        for message_id, claimed_at in ((stale, now - timedelta(minutes=10)), (fresh, now)):
            session.execute(
                update(Message)
                .where(Message.id == message_id)
                .values(status=InboundStatus.PROCESSING, claimed_at=claimed_at, attempts=1)
            )
    pipeline = make_pipeline(database, rasa_http, fake_rasa, tmp_path, FakeConnector("telegram"))
    try:
        await pipeline.inbox.recover()
        await pipeline.settle()
    finally:
        await pipeline.inbox.close()
        await pipeline.delivery.close()

    assert [c["message"] for c in fake_rasa.webhook_calls] == ["pesan lama"]
    statuses = {m.id: (m.status, m.attempts) for m in rows(database, Direction.IN)}
    assert statuses == {stale: (InboundStatus.PROCESSED, 2), fresh: (InboundStatus.PROCESSING, 1)}


async def test_a_send_abandoned_mid_flight_is_retried_after_the_lease(
    database: Database, rasa_http: httpx.AsyncClient, fake_rasa: FakeRasa, tmp_path: Path
) -> None:
    with database.session() as session:
        conversation = repository.add_conversation(session, "telegram", "5550003")
        stale = repository.add_notification(session, conversation, "lama", None, "k-stale-01").id
        other = repository.add_conversation(session, "telegram", "5550004")
        fresh = repository.add_notification(session, other, "sedang dikirim", None, "k-fresh-01").id
        now = datetime.now(timezone.utc)
        for message_id, claimed_at in ((stale, now - timedelta(minutes=10)), (fresh, now)):
            session.execute(
                update(Message)
                .where(Message.id == message_id)
                .values(status=OutboundStatus.SENDING, claimed_at=claimed_at, attempts=1)
            )
    telegram = FakeConnector("telegram")
    pipeline = make_pipeline(database, rasa_http, fake_rasa, tmp_path, telegram)
    try:
        assert await pipeline.delivery.sweep() == 2
        await pipeline.settle()
    finally:
        await pipeline.delivery.close()

    assert telegram.texts() == ["lama"]
    statuses = {m.id: (m.status, m.attempts) for m in rows(database, Direction.OUT)}
    assert statuses == {stale: (OutboundStatus.SENT, 2), fresh: (OutboundStatus.SENDING, 1)}


async def test_shutting_down_mid_turn_hands_the_message_back(
    database: Database, rasa_http: httpx.AsyncClient, fake_rasa: FakeRasa, tmp_path: Path
) -> None:
    fake_rasa.mode = "hang"
    pipeline = make_pipeline(database, rasa_http, fake_rasa, tmp_path, FakeConnector("telegram"))
    await pipeline.inbox.accept(event("halo", message_id="5550001:30"))
    for _ in range(100):
        if fake_rasa.webhook_calls:
            break
        await asyncio.sleep(0.02)
    await pipeline.inbox.close()
    await pipeline.delivery.close()

    (inbound,) = rows(database, Direction.IN)
    assert inbound.status == InboundStatus.RECEIVED  # the next start processes it
    with database.session() as session:
        assert session.get_one(Conversation, inbound.conversation_id).sender_id == "5550001"
