"""The connector's outbound side against the fake Bot API on loopback: send, errors, download, acknowledge."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from bot.gateway.gateway import OutboundMessage
from bot.gateway.rasa_client import Button
from connectors.base import Attachment, AttachmentKind, EventKind, InboundEvent, SendError
from connectors.callback_store import CallbackStore
from connectors.telegram import TelegramConnector
from tests.connectors.telegram.conftest import load_payload
from tests.connectors.telegram.fake_bot_api import FakeBotApi

CHAT = "1760450482"
LONG_PAYLOAD = '/inform{"category":"infrastruktur","detail":"jalan berlubang di depan SD Negeri 3 Sukamaju"}'


async def test_text_with_buttons_uses_short_callback_ids(
    connector: TelegramConnector, fake_bot_api: FakeBotApi, callbacks: CallbackStore
) -> None:
    buttons = (Button("Infrastruktur", LONG_PAYLOAD), Button("Lainnya", '/inform{"category":"lainnya"}'))
    ids = await connector.send(CHAT, OutboundMessage(id=1, text="Pilih kategori:", buttons=buttons))
    [call] = fake_bot_api.calls_of("sendMessage")
    assert len(ids) == 1 and ids[0].startswith(f"{CHAT}:")
    assert call.params["chat_id"] == CHAT and call.params["text"] == "Pilih kategori:"
    keyboard = call.params["reply_markup"]["inline_keyboard"]
    data = [button["callback_data"] for row in keyboard for button in row]
    assert [button["text"] for row in keyboard for button in row] == ["Infrastruktur", "Lainnya"]
    assert len(LONG_PAYLOAD.encode()) > 64
    assert all(len(d.encode()) <= 64 for d in data)
    # A press of the button comes back as the payload itself.
    assert [callbacks.resolve(d) for d in data] == [b.payload for b in buttons]
    press = load_payload("callback_query.json")
    press["callback_query"]["data"] = data[0]
    [event] = connector.parse_webhook(press)
    assert isinstance(event, InboundEvent) and event.text == LONG_PAYLOAD


async def test_same_payload_same_id_and_resolved_by_another_replica(
    connector: TelegramConnector, fake_bot_api: FakeBotApi, callbacks: CallbackStore
) -> None:
    message = OutboundMessage(id=1, text="Lanjut?", buttons=(Button("Ya", LONG_PAYLOAD),))
    await connector.send(CHAT, message)
    await connector.send(CHAT, OutboundMessage(id=2, text="Lanjut?", buttons=message.buttons))
    first, second = fake_bot_api.calls_of("sendMessage")
    data = first.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert second.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == data
    other_replica = CallbackStore(callbacks.database)  # empty cache: reads the table
    assert other_replica.resolve(data) == LONG_PAYLOAD


async def test_long_text_is_split_and_ids_returned(
    connector: TelegramConnector, fake_bot_api: FakeBotApi
) -> None:
    text = "\n\n".join(["Persyaratan " * 300] * 3)  # ~10,800 characters
    ids = await connector.send(CHAT, OutboundMessage(id=3, text=text, buttons=(Button("Ya", "/affirm"),)))
    calls = fake_bot_api.calls_of("sendMessage")
    assert len(ids) == len(calls) == 3
    assert len(set(ids)) == 3 and all(i.startswith(f"{CHAT}:") for i in ids)
    assert all(len(c.params["text"]) <= 4096 for c in calls)
    assert [("reply_markup" in c.params) for c in calls] == [False, False, True]


async def test_retry_after_a_failure_halfway_sends_only_the_rest(
    connector: TelegramConnector, fake_bot_api: FakeBotApi
) -> None:
    paragraphs = [f"Bagian {i}. " + "kata " * 600 for i in range(3)]  # ~3,000 characters each
    message = OutboundMessage(id=4, text="\n\n".join(paragraphs))
    fake_bot_api.fail("sendMessage", 502, "Bad Gateway", after=1)  # the second piece fails
    with pytest.raises(SendError) as failure:
        await connector.send(CHAT, message)
    assert not failure.value.permanent
    ids = await connector.send(CHAT, message)
    calls = fake_bot_api.calls_of("sendMessage")
    texts = [c.params["text"] for c in calls]
    assert [t.split(".")[0] for t in texts] == ["Bagian 0", "Bagian 1", "Bagian 1", "Bagian 2"]
    assert len(ids) == 3 and len(set(ids)) == 3
    # The next send of the same message id starts afresh (it was completed).
    assert len(await connector.send(CHAT, message)) == 3


async def test_permanent_failure_forgets_the_pieces_sent(
    connector: TelegramConnector, fake_bot_api: FakeBotApi
) -> None:
    message = OutboundMessage(id=6, text="\n\n".join(["kata " * 600] * 2))
    fake_bot_api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user", after=1)
    with pytest.raises(SendError) as failure:
        await connector.send(CHAT, message)
    assert failure.value.permanent
    assert len(await connector.send(CHAT, message)) == 2  # sent whole when retried by hand


async def test_flood_control_gives_retry_after(
    connector: TelegramConnector, fake_bot_api: FakeBotApi
) -> None:
    fake_bot_api.fail("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
    with pytest.raises(SendError) as error:
        await connector.send(CHAT, OutboundMessage(id=1, text="Halo"))
    assert (error.value.retry_after, error.value.permanent, error.value.code) == (3.0, False, 429)
    assert await connector.send(CHAT, OutboundMessage(id=1, text="Halo"))


@pytest.mark.parametrize(
    ("status", "description", "permanent"),
    [
        (403, "Forbidden: bot was blocked by the user", True),
        (400, "Bad Request: chat not found", True),
        (401, "Unauthorized", True),
        (500, "Internal Server Error", False),
        (409, "Conflict: terminated by other getUpdates request", False),
    ],
)
async def test_error_classification(
    connector: TelegramConnector, fake_bot_api: FakeBotApi, status: int, description: str, permanent: bool
) -> None:
    fake_bot_api.fail("sendMessage", status, description)
    with pytest.raises(SendError) as error:
        await connector.send(CHAT, OutboundMessage(id=1, text="Halo"))
    assert error.value.permanent is permanent
    assert error.value.retry_after is None


@pytest.fixture
async def slow_connector(
    fake_bot_api: FakeBotApi, callbacks: CallbackStore
) -> AsyncIterator[TelegramConnector]:
    telegram = TelegramConnector(fake_bot_api.token, callbacks, fake_bot_api.url, timeout_seconds=0.5)
    yield telegram
    await telegram.aclose()


async def test_timeout_and_refused_connection_are_retryable(
    slow_connector: TelegramConnector, fake_bot_api: FakeBotApi, callbacks: CallbackStore
) -> None:
    fake_bot_api.fail("sendMessage", 200, hang_seconds=1.5)
    with pytest.raises(SendError) as error:
        await slow_connector.send(CHAT, OutboundMessage(id=1, text="Halo"))
    assert not error.value.permanent
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    nobody = TelegramConnector(fake_bot_api.token, callbacks, closed)
    try:
        with pytest.raises(SendError) as error:
            await nobody.send(CHAT, OutboundMessage(id=1, text="Halo"))
        assert not error.value.permanent
    finally:
        await nobody.aclose()


async def test_image_is_sent_before_the_text(connector: TelegramConnector, fake_bot_api: FakeBotApi) -> None:
    ids = await connector.send(
        CHAT, OutboundMessage(id=1, text="Peta lokasi kantor", image="https://x.test/p.png")
    )
    assert [c.method for c in fake_bot_api.calls if c.method.startswith("send")] == [
        "sendPhoto",
        "sendMessage",
    ]
    assert fake_bot_api.calls_of("sendPhoto")[0].params["photo"] == "https://x.test/p.png"
    assert len(ids) == 2


async def test_request_keyboard_then_closed(connector: TelegramConnector, fake_bot_api: FakeBotApi) -> None:
    ask = OutboundMessage(
        id=1, text="Di mana lokasinya?", buttons=(Button("Lewati", "lewati"),), custom={"request": "location"}
    )
    await connector.send(CHAT, ask)
    await connector.send(
        CHAT, OutboundMessage(id=2, text="Kapan kejadiannya?", buttons=(Button("Kemarin", "kemarin"),))
    )
    await connector.send(CHAT, OutboundMessage(id=3, text="Terima kasih."))
    await connector.send(CHAT, OutboundMessage(id=4, text="Ada lagi?"))
    markups = [c.params.get("reply_markup") for c in fake_bot_api.calls_of("sendMessage")]
    assert markups[0]["keyboard"][0][0] == {"text": "📍 Bagikan lokasi", "request_location": True}
    assert markups[0]["one_time_keyboard"] is True
    assert "inline_keyboard" in markups[1]
    assert markups[2] == {"remove_keyboard": True}
    assert markups[3] is None


async def test_nothing_sent_for_an_empty_custom_message(
    connector: TelegramConnector, fake_bot_api: FakeBotApi
) -> None:
    assert await connector.send(CHAT, OutboundMessage(id=1, text="", custom={"x": 1})) == []
    assert fake_bot_api.calls == []


PHOTO = Attachment(AttachmentKind.IMAGE, "AgACAgUAAxkBAAIBW2VfakeLarge", "image/jpeg", size_bytes=None)


async def test_download(connector: TelegramConnector, fake_bot_api: FakeBotApi) -> None:
    content = b"\xff\xd8\xff" + bytes(range(256)) * 40
    fake_bot_api.add_file(PHOTO.platform_file_id, content, "photos/file_7.jpg")
    downloaded = await connector.download(PHOTO, max_bytes=1_000_000)
    assert downloaded.content == content
    assert (downloaded.mime_type, downloaded.filename) == ("image/jpeg", "file_7.jpg")
    assert fake_bot_api.calls_of("getFile")[0].params["file_id"] == PHOTO.platform_file_id
    assert fake_bot_api.file_downloads == ["photos/file_7.jpg"]


async def test_download_keeps_the_document_name(
    connector: TelegramConnector, fake_bot_api: FakeBotApi
) -> None:
    fake_bot_api.add_file("doc", b"%PDF-1.4 ...", "documents/file_3.pdf")
    document = Attachment(AttachmentKind.DOCUMENT, "doc", "application/pdf", "bukti_tagihan.pdf", 12)
    downloaded = await connector.download(document, max_bytes=100)
    assert (downloaded.filename, downloaded.mime_type) == ("bukti_tagihan.pdf", "application/pdf")


async def test_download_size_cap(connector: TelegramConnector, fake_bot_api: FakeBotApi) -> None:
    fake_bot_api.add_file(PHOTO.platform_file_id, b"x" * 5000)
    # Announced by the update: refused before any request.
    announced = Attachment(AttachmentKind.IMAGE, PHOTO.platform_file_id, size_bytes=5000)
    with pytest.raises(SendError) as error:
        await connector.download(announced, max_bytes=4000)
    assert (error.value.code, error.value.permanent) == (413, True)
    assert fake_bot_api.calls == []
    # Announced by getFile.
    with pytest.raises(SendError):
        await connector.download(PHOTO, max_bytes=4000)
    assert fake_bot_api.file_downloads == []
    # Announced by nobody: the stream is cut off.
    fake_bot_api.hide_file_sizes = True
    with pytest.raises(SendError) as error:
        await connector.download(PHOTO, max_bytes=4000)
    assert error.value.code == 413
    assert fake_bot_api.file_downloads == [f"photos/{PHOTO.platform_file_id}.jpg"]


async def test_download_of_an_unknown_file(connector: TelegramConnector, fake_bot_api: FakeBotApi) -> None:
    with pytest.raises(SendError) as error:
        await connector.download(PHOTO, max_bytes=4000)
    assert error.value.permanent  # Bad Request: invalid file_id


async def test_acknowledge_answers_callback_queries_only(
    connector: TelegramConnector, fake_bot_api: FakeBotApi
) -> None:
    [press] = connector.parse_webhook(load_payload("callback_query.json"))
    [text] = connector.parse_webhook(load_payload("message_text.json"))
    assert isinstance(press, InboundEvent) and isinstance(text, InboundEvent)
    await connector.acknowledge(text)
    assert fake_bot_api.calls == []
    await connector.acknowledge(press)
    [call] = fake_bot_api.calls_of("answerCallbackQuery")
    assert call.params["callback_query_id"] == "4382bfdwdsb323b2d9"
    # Best effort: an expired query does not raise.
    fake_bot_api.fail(
        "answerCallbackQuery", 400, "Bad Request: query is too old and response timeout expired"
    )
    await connector.acknowledge(press)
    unknown = InboundEvent("telegram", CHAT, "cb:x", EventKind.UNSUPPORTED, "", callback_id="x")
    await connector.acknowledge(unknown)
    assert len(fake_bot_api.calls_of("answerCallbackQuery")) == 3


async def test_set_webhook_registers_url_secret_and_update_types(
    connector: TelegramConnector, fake_bot_api: FakeBotApi
) -> None:
    await connector.set_webhook("https://aduan.example.go.id/webhooks/telegram", "s3cret-token")
    assert fake_bot_api.webhook["url"] == "https://aduan.example.go.id/webhooks/telegram"
    assert fake_bot_api.webhook["secret_token"] == "s3cret-token"
    assert fake_bot_api.webhook["allowed_updates"] == ["message", "edited_message", "callback_query"]
    commands = fake_bot_api.calls_of("setMyCommands")[0].params["commands"]
    assert {"command": "start", "description": "Mulai dan tampilkan menu utama"} in commands


async def test_logs_never_carry_the_token(
    connector: TelegramConnector, fake_bot_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    fake_bot_api.add_file(PHOTO.platform_file_id, b"\xff\xd8\xff" + b"x" * 100)
    await connector.send(CHAT, OutboundMessage(id=1, text="Halo", buttons=(Button("Ya", "/affirm"),)))
    await connector.download(PHOTO, max_bytes=10_000)
    fake_bot_api.fail("sendMessage", 500, "Internal Server Error")
    with pytest.raises(SendError) as error:
        await connector.send(CHAT, OutboundMessage(id=2, text="Halo"))
    assert "HTTP Request" in caplog.text  # httpx did log the calls ...
    assert fake_bot_api.token not in caplog.text  # ... without the token
    assert fake_bot_api.token not in str(error.value)
