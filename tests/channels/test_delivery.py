"""Delivery: retries with backoff and retry_after, permanent failures, the 24-hour rule, pacing and order,
notifications, delivery reports out of order."""

from __future__ import annotations

import asyncio
import itertools
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot.conversations import repository
from bot.conversations.models import (
    Conversation,
    DeliveryState,
    Direction,
    Message,
    MessageDelivery,
    OutboundStatus,
)
from bot.db import Database
from bot.gateway.delivery import DeliveryConfig, next_state, within_service_window
from connectors.base import DeliveryState as ReportedState
from connectors.base import SendError, StatusEvent
from tests.channels.fake_connector import FakeConnector
from tests.channels.helpers import Pipeline, event, make_pipeline
from tests.service.fake_rasa import FakeRasa


async def notify(
    pipeline: Pipeline, text: str, key: str, sender_id: str = "5550001", channel: str = "telegram"
):
    message, _ = await pipeline.gateway.notify(channel, sender_id, text, key)
    return message


def outbound(pipeline: Pipeline) -> list[Message]:
    return pipeline.rows(Direction.OUT)


async def test_retry_after_is_honoured_then_the_message_is_sent(pipeline: Pipeline) -> None:
    pipeline.connector.failures = [SendError("Too Many Requests", code=429, retry_after=0.2)]
    await notify(pipeline, "Laporan Anda sudah kami terima.", "k-retry-0001")

    pipeline.delivery.kick("telegram", "5550001")
    await pipeline.settle()

    (row,) = outbound(pipeline)
    # Flood control is not a failed attempt: the one counted is the send that went through.
    assert (row.status, row.attempts, row.status_reason) == (OutboundStatus.SENT, 1, None)
    assert pipeline.connector.send_calls == 2
    assert pipeline.connector.texts() == ["Laporan Anda sudah kami terima."]
    (sent,) = pipeline.connector.sent
    with pipeline.database.session() as session:
        parts = session.scalars(select(MessageDelivery)).all()
        assert [(p.message_id, p.platform_message_id, p.state) for p in parts] == [
            (row.id, sent.platform_ids[0], "sent")
        ]


async def test_a_later_message_waits_behind_one_being_retried(pipeline: Pipeline) -> None:
    pipeline.connector.failures = [SendError("Too Many Requests", code=429, retry_after=0.3)]
    await notify(pipeline, "pertama", "k-order-0001")
    await notify(pipeline, "kedua", "k-order-0002")

    pipeline.delivery.kick("telegram", "5550001")
    await pipeline.settle()

    assert pipeline.connector.texts() == ["pertama", "kedua"]


async def test_a_permanent_error_fails_the_message_visibly_and_the_next_one_still_goes(
    pipeline: Pipeline,
) -> None:
    pipeline.connector.failures = [
        SendError("Forbidden: bot was blocked by the user", code=403, permanent=True)
    ]
    await notify(pipeline, "pertama", "k-perm-0001")
    await notify(pipeline, "kedua", "k-perm-0002")

    pipeline.delivery.kick("telegram", "5550001")
    await pipeline.settle()

    with pipeline.database.session() as session:
        failed = repository.undelivered(session, "telegram")
        assert [(m.text, m.status, m.attempts, m.status_reason) for m in failed] == [
            ("pertama", "failed", 1, "permanent: 403: Forbidden: bot was blocked by the user")
        ]
    assert pipeline.connector.texts() == ["kedua"]


async def test_transient_errors_are_retried_with_backoff_then_given_up(pipeline: Pipeline) -> None:
    pipeline.connector.failures = [ConnectionError("reset")] + [SendError("Bad Gateway", code=502)] * 20
    await notify(pipeline, "pesan", "k-gaveup-01")

    pipeline.delivery.kick("telegram", "5550001")
    await pipeline.settle()

    (row,) = outbound(pipeline)
    assert row.status == OutboundStatus.FAILED
    # Given up on the time budget of the test pipeline (0.3 s; backoff 0.05 s, doubling), not on a count.
    assert 3 <= row.attempts <= 5
    assert re.fullmatch(
        rf"gave up after \d+ s \({row.attempts} attempts\): 502: Bad Gateway", row.status_reason or ""
    )
    assert pipeline.connector.send_calls == row.attempts


def test_the_backoff_doubles_up_to_its_cap() -> None:
    config = DeliveryConfig(backoff_seconds=1.0, backoff_max_seconds=5.0)
    assert [config.backoff(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


async def test_outside_the_window_the_message_needs_a_template(
    database: Database, rasa_http: httpx.AsyncClient, fake_rasa: FakeRasa, tmp_path: Path
) -> None:
    whatsapp = FakeConnector("whatsapp")
    pipeline = make_pipeline(database, rasa_http, fake_rasa, tmp_path, whatsapp)
    try:
        # The citizen wrote 2 hours ago, so the pre-check lets it go; the platform refuses anyway.
        await pipeline.inbox.accept(
            event(
                "halo",
                channel="whatsapp",
                sender_id="6281200000001",
                message_id="wamid.A",
                received_at=datetime.now(timezone.utc) - timedelta(hours=2),
            )
        )
        whatsapp.failures = [
            SendError("Re-engagement message", code=131047, outside_window=True, permanent=True)
        ] * 2
        await pipeline.settle()
    finally:
        await pipeline.inbox.close()
        await pipeline.delivery.close()

    replies = pipeline.rows(Direction.OUT)
    assert [(m.status, m.status_reason) for m in replies] == [
        (OutboundStatus.NEEDS_TEMPLATE, "131047: Re-engagement message")
    ] * 2
    assert whatsapp.sent == []


async def test_whatsapp_after_24_hours_is_not_even_tried(
    database: Database, rasa_http: httpx.AsyncClient, fake_rasa: FakeRasa, tmp_path: Path
) -> None:
    whatsapp = FakeConnector("whatsapp")
    pipeline = make_pipeline(database, rasa_http, fake_rasa, tmp_path, whatsapp)
    try:
        await notify(pipeline, "Status laporan Anda: selesai.", "k-window-01", "6281200000002", "whatsapp")
        with database.session() as session:
            conversation = session.scalars(select(Conversation)).one()
            conversation.last_inbound_at = datetime.now(timezone.utc) - timedelta(hours=25)
        pipeline.delivery.kick("whatsapp", "6281200000002")
        await pipeline.settle()
    finally:
        await pipeline.delivery.close()

    (row,) = pipeline.rows(Direction.OUT)
    assert row.status == OutboundStatus.NEEDS_TEMPLATE
    assert whatsapp.send_calls == 0


def test_service_window_is_24_hours_from_the_last_inbound_message() -> None:
    now = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
    assert not within_service_window(Conversation(last_inbound_at=None), now)
    assert within_service_window(Conversation(last_inbound_at=now - timedelta(hours=23, minutes=59)), now)
    assert not within_service_window(Conversation(last_inbound_at=now - timedelta(hours=24)), now)
    naive = (now - timedelta(hours=1)).replace(tzinfo=None)  # as SQLite returns it
    assert within_service_window(Conversation(last_inbound_at=naive), now)


async def test_sends_to_one_chat_are_paced_and_other_chats_are_not_held_up(
    database: Database, rasa_http: httpx.AsyncClient, fake_rasa: FakeRasa, tmp_path: Path
) -> None:
    telegram = FakeConnector("telegram")
    config = DeliveryConfig(min_interval_seconds=0.3, poll_seconds=0.05)
    pipeline = make_pipeline(database, rasa_http, fake_rasa, tmp_path, telegram, delivery_config=config)
    try:
        for number in range(3):
            await notify(pipeline, f"ke-{number}", f"k-pace-{number:04d}", "111")
        await notify(pipeline, "lain", "k-pace-other", "222")
        pipeline.delivery.kick("telegram", "111")
        pipeline.delivery.kick("telegram", "222")
        await pipeline.settle()
    finally:
        await pipeline.delivery.close()

    own = [s for s in telegram.sent if s.recipient_id == "111"]
    assert [s.message.text for s in own] == ["ke-0", "ke-1", "ke-2"]
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(own)]
    assert all(gap >= 0.29 for gap in gaps), gaps
    other = next(s for s in telegram.sent if s.recipient_id == "222")
    assert other.at - own[0].at < 0.25


async def test_notifications_to_messaging_channels_are_delivered_by_the_worker_web_ones_stay(
    pipeline: Pipeline,
) -> None:
    await pipeline.delivery.start()  # the poller, as in the app
    await notify(pipeline, "Kode laporan Anda ADU-7KQ2M9XP", "k-notify-tg", "5550009", "telegram")
    await notify(pipeline, "Kode laporan Anda ADU-7KQ2M9XQ", "k-notify-web", "web-1", "web")

    for _ in range(100):
        if pipeline.connector.sent:
            break
        await asyncio.sleep(0.05)
    await pipeline.settle()

    assert pipeline.connector.texts("5550009") == ["Kode laporan Anda ADU-7KQ2M9XP"]
    statuses = {m.channel: m.status for m in outbound(pipeline)}
    assert statuses == {"telegram": OutboundStatus.SENT, "web": OutboundStatus.QUEUED}


@pytest.mark.parametrize(
    ("current", "reported", "expected"),
    [
        (None, "delivered", "delivered"),
        ("sent", "delivered", "delivered"),
        ("delivered", "read", "read"),
        ("read", "delivered", None),  # out of order: never back
        ("read", "sent", None),
        ("delivered", "sent", None),
        ("sent", "failed", "failed"),
        ("delivered", "failed", None),  # it arrived: a late failure report cannot undo that
        ("read", "failed", None),
        ("failed", "read", "read"),  # proof of arrival wins over an earlier failure report
        ("failed", "delivered", "delivered"),
        ("failed", "sent", None),
    ],
)
def test_delivery_states_only_move_forward(current: str | None, reported: str, expected: str | None) -> None:
    assert next_state(current, reported) == expected


async def test_reports_read_then_delivered_stay_read_and_multi_part_messages_take_the_least(
    pipeline: Pipeline,
) -> None:
    pipeline.connector.parts_per_message = 2  # a long text split in two platform messages
    await notify(pipeline, "panjang", "k-status-01")
    pipeline.delivery.kick("telegram", "5550001")
    await pipeline.settle()
    first, second = pipeline.connector.sent[0].platform_ids

    def report(platform_id: str, state: ReportedState, **fields: object) -> StatusEvent:
        return StatusEvent(channel="telegram", platform_message_id=platform_id, state=state, **fields)

    record = pipeline.delivery.record_status
    assert await record(report(first, ReportedState.READ)) is True
    assert outbound(pipeline)[0].status == OutboundStatus.SENT  # the second part is not read yet
    await record(report(second, ReportedState.DELIVERED))
    assert outbound(pipeline)[0].status == OutboundStatus.DELIVERED
    await record(report(first, ReportedState.DELIVERED))  # late and out of order
    await record(report(second, ReportedState.READ))
    assert outbound(pipeline)[0].status == OutboundStatus.READ
    await record(report(second, ReportedState.FAILED, error_code=131026, error_title="Undeliverable"))
    (row,) = outbound(pipeline)
    assert row.status == OutboundStatus.READ
    with pipeline.database.session() as session:
        states = session.scalars(select(MessageDelivery.state).order_by(MessageDelivery.id)).all()
    assert states == [DeliveryState.READ, DeliveryState.READ]


async def test_a_failure_report_fails_the_message_with_its_reason(pipeline: Pipeline) -> None:
    await notify(pipeline, "pesan", "k-status-02")
    pipeline.delivery.kick("telegram", "5550001")
    await pipeline.settle()
    (platform_id,) = pipeline.connector.sent[0].platform_ids

    await pipeline.delivery.record_status(
        StatusEvent(
            "telegram", platform_id, ReportedState.FAILED, error_code=131026, error_title="Undeliverable"
        )
    )

    (row,) = outbound(pipeline)
    assert row.status == OutboundStatus.FAILED
    assert row.status_reason == "platform reported failure: 131026 Undeliverable"


async def test_a_report_before_the_ids_are_recorded_is_adopted(pipeline: Pipeline) -> None:
    early = StatusEvent("telegram", "telegram-out-1", ReportedState.DELIVERED)
    assert await pipeline.delivery.record_status(early) is False  # not ours yet: kept

    await notify(pipeline, "pesan", "k-status-03")
    pipeline.delivery.kick("telegram", "5550001")
    await pipeline.settle()

    (row,) = outbound(pipeline)
    assert pipeline.connector.sent[0].platform_ids == ["telegram-out-1"]
    assert row.status == OutboundStatus.DELIVERED
    assert await pipeline.delivery.record_status(early) is True
