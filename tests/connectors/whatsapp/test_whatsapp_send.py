"""Sending, downloading and marking read against the fake Graph API on loopback; error classification."""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket

import httpx
import pytest

from bot.gateway.gateway import OutboundMessage
from bot.gateway.rasa_client import Button
from connectors.base import Attachment, AttachmentKind, EventKind, InboundEvent, SendError
from connectors.whatsapp import WhatsAppConnector, sha256_matches, signature, signature_valid
from tests.channels.helpers import JPEG
from tests.connectors.whatsapp.fake_graph_api import (
    APP_SECRET,
    FakeGraphApi,
    envelope,
    reply_message,
)

CITIZEN = "6281234567890"


def text(body: str, buttons: tuple[Button, ...] = (), message_id: int = 1) -> OutboundMessage:
    return OutboundMessage(id=message_id, text=body, buttons=buttons)


async def test_a_text_goes_to_the_citizens_number_and_returns_its_wamid(
    connector: WhatsAppConnector, fake_graph_api: FakeGraphApi
) -> None:
    wamids = await connector.send(CITIZEN, text("Halo! Ada yang bisa kami bantu?"))

    (sent,) = fake_graph_api.sent
    assert wamids == [sent.wamid]
    assert sent.to == CITIZEN
    assert sent.body["messaging_product"] == "whatsapp" and sent.body["recipient_type"] == "individual"
    assert sent.text == "Halo! Ada yang bisa kami bantu?"
    assert fake_graph_api.unauthorized == 0  # the bearer token went along


async def test_a_long_text_is_several_messages_in_order(
    connector: WhatsAppConnector, fake_graph_api: FakeGraphApi
) -> None:
    # Four paragraphs of ~2,900 characters: no two fit in one message, so one message each.
    paragraphs = [f"Bagian {n}. " + "Informasi layanan. " * 150 for n in range(1, 5)]
    wamids = await connector.send(CITIZEN, text("\n\n".join(paragraphs)))

    assert wamids == [sent.wamid for sent in fake_graph_api.sent]
    assert [sent.text for sent in fake_graph_api.sent] == [p.strip() for p in paragraphs]


async def test_button_ids_are_the_payloads_and_a_long_one_round_trips_through_a_short_id(
    connector: WhatsAppConnector, fake_graph_api: FakeGraphApi
) -> None:
    long_payload = '/inform{"detail":"' + "lampu jalan mati " * 20 + '"}'  # > 200 characters
    buttons = (
        Button("Ya", "/affirm"),
        Button("Detail", long_payload),
        Button("FAQ SIM", '/faq{"faq_topic":"sim"}'),
    )
    await connector.send(CITIZEN, text("Benar begitu?", buttons))

    (sent,) = fake_graph_api.sent
    ids = [id_ for _, id_ in sent.choices]
    assert ids[0] == "/affirm" and ids[2] == '/faq{"faq_topic":"sim"}'
    assert ids[1].startswith("p:") and len(ids[1]) < 30

    # The citizen taps each button: the bot gets each payload back.
    for index, payload in enumerate(b.payload for b in buttons):
        body = envelope([reply_message(CITIZEN, f"wamid.tap{index}", sent, ids[index])])
        (event,) = connector.parse_webhook(body)
        assert isinstance(event, InboundEvent) and event.kind is EventKind.MESSAGE
        assert event.text == payload


@pytest.mark.parametrize(
    ("code", "retry_after_header", "expected"),
    [
        (131047, None, {"outside_window": True, "permanent": False, "retry_after": None}),
        (130429, None, {"outside_window": False, "permanent": False, "retry_after": 5.0, "per_chat": False}),
        (130429, "7", {"outside_window": False, "permanent": False, "retry_after": 7.0}),
        # The pair rate limit holds back that one chat; 130429 (the number's throughput) every chat.
        (131056, None, {"outside_window": False, "permanent": False, "retry_after": 6.0, "per_chat": True}),
        (500, None, {"outside_window": False, "permanent": False, "retry_after": None}),
        (131000, None, {"outside_window": False, "permanent": False, "retry_after": None}),
        (131026, None, {"outside_window": False, "permanent": True, "retry_after": None}),
        (100, None, {"outside_window": False, "permanent": True, "retry_after": None}),
        (190, None, {"outside_window": False, "permanent": True, "retry_after": None}),
    ],
)
async def test_errors_are_classified_for_the_delivery_retries(
    connector: WhatsAppConnector,
    fake_graph_api: FakeGraphApi,
    code: int,
    retry_after_header: str | None,
    expected: dict[str, object],
) -> None:
    fake_graph_api.fail(code, retry_after=retry_after_header)
    with pytest.raises(SendError) as raised:
        await connector.send(CITIZEN, text("Halo"))
    error = raised.value
    assert error.code == code
    assert {key: getattr(error, key) for key in expected} == expected
    assert fake_graph_api.sent == []
    assert "EAAG" not in str(error)  # the token never appears in an error


async def test_a_network_failure_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    connector = WhatsAppConnector("token", "1", api_base_url=f"http://127.0.0.1:{port}/v21.0")
    with pytest.raises(SendError) as raised:
        await connector.send(CITIZEN, text("Halo"))
    assert not raised.value.permanent and not raised.value.outside_window
    await connector.aclose()


async def test_a_retry_after_a_failure_halfway_sends_only_the_rest(
    connector: WhatsAppConnector, fake_graph_api: FakeGraphApi
) -> None:
    long = text("\n\n".join(f"Bagian {n}. " + "Informasi. " * 300 for n in range(1, 4)), message_id=7)
    fake_graph_api.fail(131056, after=1)
    with pytest.raises(SendError):
        await connector.send(CITIZEN, long)
    assert len(fake_graph_api.sent) == 1

    wamids = await connector.send(CITIZEN, long)

    assert [sent.text.split(".")[0] for sent in fake_graph_api.sent] == ["Bagian 1", "Bagian 2", "Bagian 3"]
    assert wamids == [sent.wamid for sent in fake_graph_api.sent]


# --- media ---


def photo(media_id: str, sha256: str | None) -> Attachment:
    return Attachment(
        kind=AttachmentKind.IMAGE, platform_file_id=media_id, mime_type="image/jpeg", sha256=sha256
    )


async def test_download_fetches_the_media_with_the_token_and_checks_its_checksum(
    connector: WhatsAppConnector, fake_graph_api: FakeGraphApi
) -> None:
    announced = fake_graph_api.add_media("media-1", JPEG)
    downloaded = await connector.download(photo("media-1", announced), max_bytes=1024 * 1024)

    assert downloaded.content == JPEG and downloaded.mime_type == "image/jpeg"
    assert fake_graph_api.media_downloads == ["media-1"]
    assert fake_graph_api.unauthorized == 0


async def test_the_media_url_refuses_a_download_without_the_token(fake_graph_api: FakeGraphApi) -> None:
    fake_graph_api.add_media("media-1", JPEG)
    response = httpx.get(f"{fake_graph_api.url}/media-files/media-1")
    assert response.status_code == 401 and fake_graph_api.media_downloads == []


async def test_download_without_an_announced_checksum_uses_the_media_infos(
    connector: WhatsAppConnector, fake_graph_api: FakeGraphApi
) -> None:
    fake_graph_api.add_media("media-2", JPEG)
    assert (await connector.download(photo("media-2", None), max_bytes=10**6)).content == JPEG


@pytest.mark.parametrize("announced", ["4654+8g=", hashlib.sha256(b"other").hexdigest(), "not base64 !"])
async def test_a_checksum_mismatch_is_an_error(
    connector: WhatsAppConnector, fake_graph_api: FakeGraphApi, announced: str
) -> None:
    fake_graph_api.add_media("media-3", JPEG)
    with pytest.raises(SendError) as raised:
        await connector.download(photo("media-3", announced), max_bytes=10**6)
    assert raised.value.permanent and "SHA-256" in str(raised.value)


async def test_a_file_over_the_cap_is_refused(
    connector: WhatsAppConnector, fake_graph_api: FakeGraphApi
) -> None:
    announced = fake_graph_api.add_media("media-4", JPEG)
    with pytest.raises(SendError) as raised:
        await connector.download(photo("media-4", announced), max_bytes=len(JPEG) - 1)
    assert raised.value.code == 413 and raised.value.permanent
    assert fake_graph_api.media_downloads == []  # the announced size was enough to refuse it


async def test_an_unknown_media_id_is_a_permanent_error(connector: WhatsAppConnector) -> None:
    with pytest.raises(SendError) as raised:
        await connector.download(photo("nope", None), max_bytes=10**6)
    assert raised.value.permanent


def test_sha256_forms() -> None:
    digest = hashlib.sha256(JPEG)
    assert sha256_matches(JPEG, base64.b64encode(digest.digest()).decode())
    assert sha256_matches(JPEG, base64.b64encode(digest.digest()).decode().rstrip("="))
    assert sha256_matches(JPEG, digest.hexdigest())
    assert sha256_matches(JPEG, digest.hexdigest().upper())
    assert not sha256_matches(JPEG + b"x", digest.hexdigest())
    assert not sha256_matches(JPEG, "")


# --- read receipts, signatures ---


async def test_acknowledge_marks_the_message_read(
    connector: WhatsAppConnector, fake_graph_api: FakeGraphApi
) -> None:
    event = InboundEvent(
        channel="whatsapp",
        sender_id=CITIZEN,
        platform_message_id="wamid.in1",
        kind=EventKind.MESSAGE,
        text="halo",
    )
    await connector.acknowledge(event)
    assert fake_graph_api.read_receipts == ["wamid.in1"] and fake_graph_api.sent == []
    fake_graph_api.fail(500)
    await connector.acknowledge(event)  # best effort: a failure is not raised


def test_signature_is_the_hmac_of_the_exact_bytes() -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    good = signature(APP_SECRET, body)
    assert good == "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert signature_valid(APP_SECRET, body, good)
    assert signature_valid(APP_SECRET, body, "SHA256=" + good[7:].upper())
    assert not signature_valid(APP_SECRET, body + b" ", good)  # same JSON, other bytes
    assert not signature_valid("other-secret", body, good)
    assert not signature_valid(APP_SECRET, body, good[7:])  # no "sha256=" prefix
    assert not signature_valid(APP_SECRET, body, "sha256=")
    assert not signature_valid(APP_SECRET, body, "sha256=ünïcode")
