"""The gateway against a real database (SQLite and PostgreSQL) and a fake Rasa server on loopback."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest
from sqlalchemy import select

from bot.conversations.models import Conversation, Message
from bot.db import Database
from bot.gateway.gateway import (
    SERVICE_UNAVAILABLE_REPLY,
    Gateway,
    MessageIdConflictError,
    MessageInProgressError,
    conversation_key,
)
from bot.gateway.rasa_client import Button
from tests.service.fake_rasa import KTP_QUESTION, FakeRasa

GatewayFactory = Callable[..., Gateway]


def stored(database: Database) -> tuple[list[Message], list[Message], list[Conversation]]:
    """(inbound, outbound, conversations) as stored, oldest first."""
    with database.session() as session:
        messages = list(session.scalars(select(Message).order_by(Message.id)))
        conversations = list(session.scalars(select(Conversation).order_by(Conversation.id)))
    return (
        [m for m in messages if m.direction == "in"],
        [m for m in messages if m.direction == "out"],
        conversations,
    )


async def test_turn_stores_inbound_with_the_tracker_nlu_and_the_replies(
    gateway: Gateway, database: Database, fake_rasa: FakeRasa
) -> None:
    replies = await gateway.handle_inbound("web", "warga-1", KTP_QUESTION, message_id="m-1")

    assert [r.text for r in replies] == [
        "Syarat KTP-el: berusia 17 tahun atau sudah menikah, membawa fotokopi Kartu Keluarga.",
        "Ada lagi yang bisa kami bantu?",
    ]
    assert replies[1].buttons == (
        Button("Buat pengaduan", "/file_complaint"),
        Button("Cek status laporan", "/check_status"),
    )
    inbound, outbound, conversations = stored(database)
    assert len(inbound) == 1
    turn = inbound[0]
    assert (turn.channel, turn.sender_id, turn.platform_message_id, turn.text) == (
        "web",
        "warga-1",
        "m-1",
        KTP_QUESTION,
    )
    assert turn.status == "processed"
    assert (turn.intent, turn.intent_confidence) == ("faq", pytest.approx(0.93))
    assert (turn.faq_topic, turn.faq_confidence) == ("ktp_el", pytest.approx(0.88))
    assert [m.text for m in outbound] == [r.text for r in replies]
    assert [m.id for m in outbound] == [r.id for r in replies]
    assert all(m.reply_to_id == turn.id and m.status == "sent" for m in outbound)
    assert outbound[1].payload == {
        "buttons": [
            {"title": "Buat pengaduan", "payload": "/file_complaint"},
            {"title": "Cek status laporan", "payload": "/check_status"},
        ]
    }
    assert len(conversations) == 1
    assert conversations[0].last_inbound_at is not None and conversations[0].last_outbound_at is not None
    assert all(m.conversation_id == conversations[0].id for m in inbound + outbound)

    # What Rasa received: the REST channel, the conversation key, the metadata of the contract.
    (call,) = fake_rasa.webhook_calls
    assert call["sender"] == "web:warga-1"
    assert call["message"] == KTP_QUESTION
    assert call["input_channel"] == "web"
    assert call["metadata"] == {
        "channel": "web",
        "sender_id": "warga-1",
        "platform_message_id": "m-1",
        "language": "id",
        "turn_id": str(turn.id),
    }
    assert fake_rasa.tracker_calls == ["web:warga-1"]


async def test_faq_topic_is_only_stored_for_faq_turns_and_custom_payloads_are_kept(
    gateway: Gateway, database: Database
) -> None:
    replies = await gateway.handle_inbound("web", "warga-2", "halo")

    inbound, outbound, _ = stored(database)
    assert (inbound[0].intent, inbound[0].faq_topic, inbound[0].faq_confidence) == ("greet", None, None)
    assert outbound[1].text == ""
    assert outbound[1].payload == {"custom": {"kind": "quick_menu", "items": ["faq", "aduan"]}}
    assert replies[1].custom == {"kind": "quick_menu", "items": ["faq", "aduan"]}


async def test_duplicate_message_id_returns_the_same_replies_without_a_second_turn(
    gateway: Gateway, database: Database, fake_rasa: FakeRasa
) -> None:
    first = await gateway.handle_inbound("telegram", "5550001", KTP_QUESTION, message_id="5550001:77")
    again = await gateway.handle_inbound("telegram", "5550001", KTP_QUESTION, message_id="5550001:77")

    assert again == first
    assert len(fake_rasa.webhook_calls) == 1
    inbound, outbound, _ = stored(database)
    assert len(inbound) == 1 and len(outbound) == 2


async def test_concurrent_duplicates_are_answered_once(
    gateway: Gateway, database: Database, fake_rasa: FakeRasa
) -> None:
    fake_rasa.delay_seconds = 0.3  # the duplicates arrive while the first delivery is being answered

    results = await asyncio.gather(
        *(
            gateway.handle_inbound("whatsapp", "6281200000001", KTP_QUESTION, message_id="wamid.X1")
            for _ in range(3)
        )
    )

    assert len(fake_rasa.webhook_calls) == 1
    assert results[0] == results[1] == results[2]
    assert len(results[0]) == 2
    inbound, outbound, _ = stored(database)
    assert len(inbound) == 1 and len(outbound) == 2


async def test_the_same_platform_id_on_another_channel_is_a_different_message(
    gateway: Gateway, database: Database, fake_rasa: FakeRasa
) -> None:
    await gateway.handle_inbound("telegram", "u1", "halo", message_id="42")
    await gateway.handle_inbound("whatsapp", "u1", "halo", message_id="42")

    assert len(fake_rasa.webhook_calls) == 2
    inbound, _, conversations = stored(database)
    assert len(inbound) == 2 and len(conversations) == 2


async def test_messages_without_an_id_are_never_deduplicated(
    gateway: Gateway, database: Database, fake_rasa: FakeRasa
) -> None:
    await gateway.handle_inbound("web", "warga-3", "halo")
    await gateway.handle_inbound("web", "warga-3", "halo")

    assert len(fake_rasa.webhook_calls) == 2
    inbound, outbound, conversations = stored(database)
    assert len(inbound) == 2 and len(outbound) == 4 and len(conversations) == 1


async def test_a_message_id_reused_by_another_sender_gets_no_replies(
    gateway: Gateway, database: Database, fake_rasa: FakeRasa
) -> None:
    await gateway.handle_inbound("web", "warga-a", KTP_QUESTION, message_id="shared-id")

    with pytest.raises(MessageIdConflictError):
        await gateway.handle_inbound("web", "warga-b", "halo", message_id="shared-id")

    assert len(fake_rasa.webhook_calls) == 1
    inbound, _, _ = stored(database)
    assert [m.sender_id for m in inbound] == ["warga-a"]


async def test_a_duplicate_gives_up_with_in_progress_when_the_original_takes_too_long(
    make_gateway: GatewayFactory, fake_rasa: FakeRasa
) -> None:
    gateway = make_gateway(duplicate_wait=0.3)
    fake_rasa.delay_seconds = 0.8
    original = asyncio.create_task(gateway.handle_inbound("web", "warga-4", "halo", message_id="slow"))
    await asyncio.sleep(0.2)  # the original is stored and waiting for Rasa

    started = time.monotonic()
    with pytest.raises(MessageInProgressError):
        await gateway.handle_inbound("web", "warga-4", "halo", message_id="slow")
    assert time.monotonic() - started < 0.7

    assert len(await original) == 2
    assert len(fake_rasa.webhook_calls) == 1


@pytest.mark.parametrize("failure", ["down", "error", "hang"])
async def test_rasa_failure_keeps_the_message_and_answers_politely(
    failure: str,
    make_gateway: GatewayFactory,
    database: Database,
    fake_rasa: FakeRasa,
    closed_port_url: str,
) -> None:
    gateway = make_gateway(rasa_url=closed_port_url if failure == "down" else None, timeout=0.5)
    if failure != "down":
        fake_rasa.mode = failure

    started = time.monotonic()
    replies = await gateway.handle_inbound("web", "warga-5", "jalan rusak di depan pasar", message_id="f-1")

    assert time.monotonic() - started < 3
    assert [r.text for r in replies] == [SERVICE_UNAVAILABLE_REPLY]
    inbound, outbound, conversations = stored(database)
    assert inbound[0].status == "failed"
    assert inbound[0].text == "jalan rusak di depan pasar"
    assert inbound[0].intent is None
    assert [(m.text, m.reply_to_id) for m in outbound] == [(SERVICE_UNAVAILABLE_REPLY, inbound[0].id)]
    assert conversations[0].last_inbound_at is not None

    # A redelivery while Rasa still fails gets the same apology, without another try at Rasa ...
    if failure == "hang":
        fake_rasa.release_hanging()
        fake_rasa.mode = "error"  # failing at once now: /status must not hang the test for its timeout
    fake_rasa.webhook_calls.clear()
    again = await gateway.handle_inbound("web", "warga-5", "jalan rusak di depan pasar", message_id="f-1")
    assert again == replies
    assert fake_rasa.webhook_calls == []

    # ... and once Rasa answers again, it is that message's retry (tests/channels/test_failed_retry.py).
    if failure != "down":
        fake_rasa.reset()
        answered = await gateway.handle_inbound(
            "web", "warga-5", "jalan rusak di depan pasar", message_id="f-1"
        )
        assert answered and SERVICE_UNAVAILABLE_REPLY not in [r.text for r in answered]
        assert [call["message"] for call in fake_rasa.webhook_calls] == ["jalan rusak di depan pasar"]


async def test_tracker_failure_keeps_the_replies_without_nlu(
    gateway: Gateway, database: Database, fake_rasa: FakeRasa
) -> None:
    fake_rasa.tracker_mode = "error"

    replies = await gateway.handle_inbound("web", "warga-6", KTP_QUESTION)

    assert len(replies) == 2
    inbound, outbound, _ = stored(database)
    assert inbound[0].status == "processed"
    assert (inbound[0].intent, inbound[0].faq_topic) == (None, None)
    assert len(outbound) == 2


async def test_nlu_of_another_turn_is_not_stored(
    gateway: Gateway, database: Database, fake_rasa: FakeRasa
) -> None:
    fake_rasa.tracker_mode = "other_turn"

    await gateway.handle_inbound("web", "warga-7", KTP_QUESTION)

    inbound, _, _ = stored(database)
    assert inbound[0].status == "processed"
    assert inbound[0].intent is None


async def test_turns_of_one_sender_are_serialised_but_senders_run_in_parallel(
    gateway: Gateway, fake_rasa: FakeRasa
) -> None:
    fake_rasa.delay_seconds = 0.2

    await asyncio.gather(
        gateway.handle_inbound("web", "warga-8", "halo"),
        gateway.handle_inbound("web", "warga-8", KTP_QUESTION),
        gateway.handle_inbound("web", "warga-9", "halo"),
    )

    assert fake_rasa.max_in_flight_per_sender == 1
    assert fake_rasa.max_in_flight == 2


async def test_a_sender_id_that_is_not_url_safe_gets_a_hashed_key(
    gateway: Gateway, database: Database, fake_rasa: FakeRasa
) -> None:
    sender = "Ibu Sari / RT 05?#"

    await gateway.handle_inbound("web", sender, KTP_QUESTION)

    key = conversation_key("web", sender)
    assert key.startswith("web:h-") and key == conversation_key("web", sender)
    assert fake_rasa.webhook_calls[0]["sender"] == key
    assert fake_rasa.webhook_calls[0]["metadata"]["sender_id"] == sender
    inbound, _, _ = stored(database)
    assert inbound[0].sender_id == sender
    assert inbound[0].intent == "faq"  # the tracker was found under the same key


async def test_log_lines_mask_nik_and_phone_numbers(
    gateway: Gateway, caplog: pytest.LogCaptureFixture, fake_rasa: FakeRasa
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    text = "NIK saya 3201010101900001, hp 081234567890, jalan rusak"

    await gateway.handle_inbound("whatsapp", "6281298765432", text)

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "3201********0001" in logged  # the text was logged, masked
    assert "3201010101900001" not in logged
    assert "081234567890" not in logged
    assert "6281298765432" not in logged
