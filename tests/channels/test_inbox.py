"""The inbox: persist first and answer at once, deduplicate, process in order, notes, media, metadata."""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from sqlalchemy import select

from bot.conversations.models import Conversation, Direction, InboundStatus, OutboundStatus
from bot.conversations.repository import as_utc
from bot.db import Database
from bot.gateway.inbox import MEDIA_NOTES, RATE_LIMIT_NOTE, UNSUPPORTED_NOTE, InboxConfig
from bot.media.models import Media
from connectors.base import Attachment, AttachmentKind, EventKind
from tests.channels.fake_connector import FakeConnector
from tests.channels.helpers import JPEG, Pipeline, event, make_pipeline, photo_event
from tests.service.fake_rasa import CANNED, KTP_QUESTION, FakeRasa

KTP_REPLIES = [reply["text"] for reply in CANNED[KTP_QUESTION].replies]


async def test_accept_returns_at_once_and_the_replies_are_sent_in_the_background(pipeline: Pipeline) -> None:
    pipeline.rasa.delay_seconds = 0.6  # a slow turn must not delay the platform's 200

    started = time.monotonic()
    accepted = await pipeline.inbox.accept(event(KTP_QUESTION))
    elapsed = time.monotonic() - started

    assert accepted is True
    assert elapsed < 0.4
    inbound = pipeline.rows(Direction.IN)
    assert [(m.text, m.platform_message_id) for m in inbound] == [(KTP_QUESTION, "5550001:1")]
    assert pipeline.connector.sent == []  # nothing sent yet: Rasa is still thinking

    await pipeline.settle()

    assert pipeline.connector.texts("5550001") == KTP_REPLIES
    assert [b.payload for b in pipeline.connector.sent[1].message.buttons] == [
        "/file_complaint",
        "/check_status",
    ]
    assert pipeline.rows(Direction.IN)[0].status == InboundStatus.PROCESSED
    outbound = pipeline.rows(Direction.OUT)
    assert [(m.status, m.attempts) for m in outbound] == [(OutboundStatus.SENT, 1)] * 2
    assert all(m.sent_at is not None for m in outbound)
    call = pipeline.rasa.webhook_calls[0]
    assert call["sender"] == "telegram:5550001"
    assert call["metadata"]["platform_message_id"] == "5550001:1"
    assert pipeline.connector.acknowledged == ["5550001:1"]


async def test_a_redelivered_event_is_one_turn_and_one_set_of_sends(pipeline: Pipeline) -> None:
    first = event(KTP_QUESTION, message_id="5550001:10")
    sequential = [await pipeline.inbox.accept(first) for _ in range(3)]
    second = event("halo", message_id="5550001:11")
    concurrent = await asyncio.gather(*(pipeline.inbox.accept(second) for _ in range(3)))
    await pipeline.settle()
    again = await pipeline.inbox.accept(first)  # a redelivery after everything was answered
    await pipeline.settle()

    assert sequential == [True, False, False]
    assert sorted(concurrent) == [False, False, True]
    assert again is False
    assert [call["message"] for call in pipeline.rasa.webhook_calls] == [KTP_QUESTION, "halo"]
    assert pipeline.connector.texts() == [*KTP_REPLIES, "Halo! Ada yang bisa kami bantu?", ""]
    assert len(pipeline.rows(Direction.IN)) == 2
    assert pipeline.connector.acknowledged == ["5550001:10", "5550001:11"]


async def test_messages_of_one_sender_are_processed_in_order_one_at_a_time(pipeline: Pipeline) -> None:
    pipeline.rasa.delay_seconds = 0.3
    texts = ["pesan satu", "pesan dua", "pesan tiga", "pesan empat"]
    for number, text in enumerate(texts):
        await pipeline.inbox.accept(event(text, message_id=f"5550001:{100 + number}"))
        if number == 0:  # another citizen writes while the first turn is running
            await pipeline.inbox.accept(event("halo", message_id="777:1", sender_id="777"))
    await pipeline.settle()

    own_turns = [c["message"] for c in pipeline.rasa.webhook_calls if c["sender"] == "telegram:5550001"]
    assert own_turns == texts
    assert pipeline.rasa.max_in_flight_per_sender == 1
    assert pipeline.rasa.max_in_flight == 2  # the other sender is not kept waiting
    assert pipeline.connector.texts("5550001") == ["Mohon maaf, saya belum mengerti."] * 4


async def test_an_edit_is_stored_linked_to_the_original_and_is_never_a_turn(pipeline: Pipeline) -> None:
    await pipeline.inbox.accept(event("jalan rusak", message_id="5550001:20"))
    await pipeline.settle()
    edit = event(
        "jalan rusak parah",
        message_id="5550001:20:edit:1",
        kind=EventKind.EDITED,
        original_message_id="5550001:20",
    )
    assert await pipeline.inbox.accept(edit) is True
    await pipeline.settle()

    original, edited = pipeline.rows(Direction.IN)
    assert (edited.status, edited.status_reason) == (InboundStatus.SKIPPED, "edited")
    assert edited.payload is not None and edited.payload["edit_of"] == original.id
    assert [c["message"] for c in pipeline.rasa.webhook_calls] == ["jalan rusak"]
    assert len(pipeline.connector.sent) == 1


async def test_an_unsupported_message_gets_one_polite_note_and_no_turn(pipeline: Pipeline) -> None:
    sticker = event("", message_id="5550001:30", kind=EventKind.UNSUPPORTED, raw_type="sticker")
    await pipeline.inbox.accept(sticker)
    await pipeline.inbox.accept(sticker)  # redelivered: still one note
    await pipeline.settle()

    assert pipeline.rasa.webhook_calls == []
    assert pipeline.connector.texts() == [UNSUPPORTED_NOTE]
    for word in ("teks", "tombol", "foto", "dokumen", "lokasi", "kontak"):
        assert word in UNSUPPORTED_NOTE
    (inbound,) = pipeline.rows(Direction.IN)
    assert (inbound.status, inbound.status_reason) == (InboundStatus.SKIPPED, "unsupported")


async def test_over_the_rate_limit_one_note_and_the_extra_messages_are_stored_not_answered(
    database: Database,
    rasa_http: httpx.AsyncClient,
    fake_rasa: FakeRasa,
    tmp_path: Path,
    connector: FakeConnector,
) -> None:
    config = InboxConfig(attachments_dir=tmp_path, rate_limit=3, rate_window_seconds=60)
    pipeline = make_pipeline(database, rasa_http, fake_rasa, tmp_path, connector, inbox_config=config)
    try:
        for number in range(7):
            await pipeline.inbox.accept(event(f"pesan {number}", message_id=f"5550001:{200 + number}"))
        await pipeline.inbox.accept(event("halo", message_id="888:1", sender_id="888"))  # someone else
        await pipeline.settle()
    finally:
        await pipeline.inbox.close()
        await pipeline.delivery.close()

    own_turns = [c["message"] for c in fake_rasa.webhook_calls if c["sender"] == "telegram:5550001"]
    assert own_turns == ["pesan 0", "pesan 1", "pesan 2"]
    assert connector.texts("5550001") == ["Mohon maaf, saya belum mengerti."] * 3 + [RATE_LIMIT_NOTE]
    inbound = pipeline.rows(Direction.IN, sender_id="5550001")
    assert len(inbound) == 7
    assert [m.status_reason for m in inbound[3:]] == ["rate_limited"] * 4
    assert connector.texts("888") == ["Halo! Ada yang bisa kami bantu?", ""]


async def test_a_photo_without_caption_is_downloaded_staged_and_its_id_reaches_rasa(
    pipeline: Pipeline,
) -> None:
    pipeline.connector.files["photo-1"] = JPEG

    await pipeline.inbox.accept(photo_event("photo-1"))
    await pipeline.settle()

    with pipeline.database.session() as session:
        (media,) = session.scalars(select(Media)).all()
    assert media.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert (media.channel, media.sender_id, media.kind, media.mime_type) == (
        "telegram",
        "5550001",
        "image",
        "image/jpeg",
    )
    assert (pipeline.attachments_dir / media.storage_path).read_bytes() == JPEG
    assert media.size_bytes == len(JPEG) and media.ticket_id is None
    (call,) = pipeline.rasa.webhook_calls
    assert call["message"] == "[foto]"
    assert call["metadata"]["attachments"] == [{"id": media.id, "kind": "image", "mime_type": "image/jpeg"}]
    (inbound,) = pipeline.rows(Direction.IN)
    assert media.message_id == inbound.id
    assert inbound.payload is not None and inbound.payload["metadata"]["attachments"][0]["id"] == media.id


async def test_location_and_contact_reach_rasa_under_the_keys_the_actions_read(pipeline: Pipeline) -> None:
    location = event("", message_id="5550001:40", latitude=-6.2, longitude=106.816666, raw_type="location")
    contact = event("", message_id="5550001:41", contact_phone="+6281234567890", contact_name="Siti")
    document = Attachment(kind=AttachmentKind.DOCUMENT, platform_file_id="doc-1", filename="surat.pdf")
    pipeline.connector.files["doc-1"] = b"%PDF-1.4 surat pengantar"
    captioned = event("ini suratnya", message_id="5550001:42", attachments=(document,))
    for item in (location, contact, captioned):
        await pipeline.inbox.accept(item)
    await pipeline.settle()

    calls = pipeline.rasa.webhook_calls
    assert [c["message"] for c in calls] == ["[lokasi]", "[kontak]", "ini suratnya"]
    assert calls[0]["metadata"]["location"] == {"latitude": -6.2, "longitude": 106.816666}
    assert calls[1]["metadata"]["contact"] == {"phone_number": "+6281234567890", "name": "Siti"}
    (attachment,) = calls[2]["metadata"]["attachments"]
    assert (attachment["kind"], attachment["mime_type"]) == ("document", "application/pdf")


async def test_a_file_we_cannot_take_gets_a_note_and_no_empty_turn(pipeline: Pipeline) -> None:
    pipeline.connector.files["big"] = JPEG + b"\x00" * (11 * 1024 * 1024)
    pipeline.connector.files["exe"] = b"MZ\x90\x00 not a picture"
    await pipeline.inbox.accept(photo_event("big", message_id="5550001:50"))
    await pipeline.inbox.accept(photo_event("exe", message_id="5550001:51", caption="foto jalan rusak"))
    await pipeline.settle()

    assert pipeline.connector.texts() == [
        MEDIA_NOTES["download_failed"],  # the connector refused the oversized download
        MEDIA_NOTES["unsupported_type"],
        "Mohon maaf, saya belum mengerti.",  # the caption still is a turn, without attachments
    ]
    (call,) = pipeline.rasa.webhook_calls
    assert call["message"] == "foto jalan rusak" and "attachments" not in call["metadata"]
    with pipeline.database.session() as session:
        assert session.scalars(select(Media)).all() == []
    assert list(pipeline.attachments_dir.rglob("*.*")) == []


async def test_an_announced_oversized_file_is_not_downloaded(pipeline: Pipeline) -> None:
    attachment = Attachment(kind=AttachmentKind.IMAGE, platform_file_id="huge", size_bytes=50 * 1024 * 1024)
    await pipeline.inbox.accept(event("", message_id="5550001:52", attachments=(attachment,)))
    await pipeline.settle()

    assert pipeline.connector.downloads == []
    assert pipeline.connector.texts() == [MEDIA_NOTES["too_large"].format(max_mb=10)]


async def test_a_button_press_is_acknowledged_even_when_rasa_fails(pipeline: Pipeline) -> None:
    pipeline.rasa.mode = "error"
    pressed = event("/check_status", message_id="cbq:991", callback_id="991", raw_type="callback_query")

    await pipeline.inbox.accept(pressed)
    await pipeline.settle()

    assert pipeline.connector.acknowledged == ["cbq:991"]
    (inbound,) = pipeline.rows(Direction.IN)
    assert inbound.status == InboundStatus.FAILED
    assert pipeline.connector.texts() == [
        "Mohon maaf, layanan kami sedang mengalami gangguan. "
        "Pesan Anda sudah kami simpan dan akan kami tindak lanjuti."
    ]


async def test_last_inbound_time_is_recorded_but_not_moved_by_an_edit(pipeline: Pipeline) -> None:
    sent = datetime.now(timezone.utc) - timedelta(minutes=5)
    await pipeline.inbox.accept(event("halo", message_id="5550001:60", received_at=sent))
    await pipeline.inbox.accept(
        event("halo!", message_id="5550001:60:e", kind=EventKind.EDITED, original_message_id="5550001:60")
    )
    await pipeline.settle()

    with pipeline.database.session() as session:
        (conversation,) = session.scalars(select(Conversation)).all()
        assert as_utc(conversation.last_inbound_at) == sent
