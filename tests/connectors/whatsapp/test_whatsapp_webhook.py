"""/webhooks/whatsapp through the real app: handshake, signature, inbox, fake Rasa, fake Graph API.

The app is the one `bot serve` runs (create_app with its lifespan: inbox and delivery workers); Rasa and the
Graph API are fakes on loopback. Nothing is mocked in between.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from bot.api.app import create_app
from bot.conversations.models import Direction, InboundStatus, Message, MessageDelivery, OutboundStatus
from bot.db import Database
from bot.settings import Settings
from tests.channels.helpers import JPEG
from tests.connectors.whatsapp.conftest import payload
from tests.connectors.whatsapp.fake_graph_api import (
    APP_SECRET,
    VERIFY_TOKEN,
    FakeGraphApi,
    Sent,
    envelope,
    image_message,
    location_message,
    reply_message,
    signed,
    status,
    text_message,
    wamid_number,
)
from tests.service import fake_rasa as fake_rasa_module
from tests.service.fake_rasa import FakeRasa, Turn

CITIZEN = "6281234567890"
DEFAULT_REPLY = "Mohon maaf, saya belum mengerti."


@dataclass
class WhatsAppService:
    app: FastAPI
    client: httpx.AsyncClient
    database: Database
    fake: FakeGraphApi
    rasa: FakeRasa

    async def post(
        self, body: dict[str, Any] | bytes, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        raw, signed_headers = signed(body)
        return await self.client.post(
            "/webhooks/whatsapp", content=raw, headers=signed_headers if headers is None else headers
        )

    async def settle(self, timeout: float = 15.0) -> None:
        """Until every accepted message is processed and every reply handed to the fake Graph API."""
        inbox, delivery = self.app.state.inbox, self.app.state.delivery
        deadline = time.monotonic() + timeout
        while inbox._tasks or delivery._tasks:
            if time.monotonic() > deadline:
                raise TimeoutError("pipeline still busy")
            await inbox.drain(timeout)
            await delivery.drain(timeout)
            await asyncio.sleep(0)

    async def wait_for(self, predicate: Callable[[FakeGraphApi], Any], timeout: float = 15.0) -> Any:
        return await asyncio.to_thread(self.fake.wait_for, predicate, timeout)

    def rows(self, direction: Direction) -> list[Message]:
        with self.database.session() as session:
            query = select(Message).where(Message.direction == direction).order_by(Message.id)
            return list(session.scalars(query))

    def count_messages(self) -> int:
        with self.database.session() as session:
            return int(session.scalar(select(func.count()).select_from(Message)) or 0)


def service_settings(
    database: Database, fake: FakeGraphApi, rasa: FakeRasa, tmp_path: Path, **extra: Any
) -> Settings:
    values: dict[str, Any] = {
        "database_url": database.engine.url.render_as_string(hide_password=False),
        "rasa_url": rasa.url,
        "rasa_timeout_seconds": 5.0,
        "attachments_dir": tmp_path / "attachments",
        "whatsapp_access_token": fake.token,
        "whatsapp_phone_number_id": fake.phone_number_id,
        "whatsapp_app_secret": APP_SECRET,
        "whatsapp_verify_token": VERIFY_TOKEN,
        "whatsapp_api_base_url": fake.url,
        "delivery_min_interval_seconds": 0.0,
        "delivery_backoff_seconds": 0.05,
        "delivery_poll_seconds": 0.05,
    }
    return Settings(_env_file=None, **(values | extra))


@pytest.fixture
def make_service(
    database: Database, fake_graph_api: FakeGraphApi, fake_rasa: FakeRasa, tmp_path: Path
) -> Callable[..., Any]:
    def make(**extra: Any) -> Any:
        @asynccontextmanager
        async def running() -> AsyncIterator[WhatsAppService]:
            app = create_app(
                service_settings(database, fake_graph_api, fake_rasa, tmp_path, **extra), database
            )
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://bot.test"
                ) as client,
            ):
                yield WhatsAppService(app, client, database, fake_graph_api, fake_rasa)

        return running()

    return make


@pytest.fixture
async def service(make_service: Callable[..., Any]) -> AsyncIterator[WhatsAppService]:
    async with make_service() as running:
        yield running


def texts_to(fake: FakeGraphApi, to: str = CITIZEN) -> list[str]:
    return [sent.text for sent in fake.sent_to(to)]


# --- verification handshake ---


async def test_the_verification_handshake_echoes_the_challenge(service: WhatsAppService) -> None:
    response = await service.client.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
    )
    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN[:-1], "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {},
    ],
)
async def test_a_wrong_handshake_is_403(service: WhatsAppService, params: dict[str, str]) -> None:
    response = await service.client.get("/webhooks/whatsapp", params=params)
    assert response.status_code == 403
    assert "1" not in response.text.replace("403", "")  # the challenge is not echoed


async def test_no_handshake_without_a_verify_token(make_service: Callable[..., Any]) -> None:
    async with make_service(whatsapp_verify_token="") as service:
        response = await service.client.get(
            "/webhooks/whatsapp",
            params={"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"},
        )
        assert response.status_code == 403


# --- the signature ---


def nothing_happened(service: WhatsAppService) -> None:
    assert service.count_messages() == 0
    assert service.rasa.webhook_calls == []
    assert service.fake.sent == [] and service.fake.read_receipts == []


async def test_a_body_without_signature_is_401_and_nothing_is_stored(service: WhatsAppService) -> None:
    body = json.dumps(envelope([text_message(CITIZEN, "wamid.a", "halo")])).encode()
    response = await service.client.post(
        "/webhooks/whatsapp", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"
    await asyncio.sleep(0.2)
    nothing_happened(service)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "sha256=",
        "sha256=0000000000000000000000000000000000000000000000000000000000000000",
        "md5=abc",
        "garbage",
    ],
)
async def test_a_wrong_signature_is_403_and_nothing_is_stored(service: WhatsAppService, header: str) -> None:
    raw, headers = signed(envelope([text_message(CITIZEN, "wamid.a", "halo")]))
    response = await service.client.post(
        "/webhooks/whatsapp", content=raw, headers=headers | {"X-Hub-Signature-256": header}
    )
    assert response.status_code == 403 and response.json()["error"] == "forbidden"
    await asyncio.sleep(0.2)
    nothing_happened(service)


async def test_a_forged_body_under_a_genuine_signature_is_403(service: WhatsAppService) -> None:
    genuine, headers = signed(envelope([text_message(CITIZEN, "wamid.a", "halo")]))
    forged = genuine.replace(b"halo", b"/request_human")
    response = await service.client.post("/webhooks/whatsapp", content=forged, headers=headers)
    assert response.status_code == 403
    # The same JSON with other whitespace is other bytes: the signature covers the raw body.
    reformatted = json.dumps(json.loads(genuine), indent=1).encode()
    response = await service.client.post("/webhooks/whatsapp", content=reformatted, headers=headers)
    assert response.status_code == 403
    # Signed with another app's secret.
    raw, other = signed(envelope([text_message(CITIZEN, "wamid.a", "halo")]), "another-apps-secret")
    assert (await service.client.post("/webhooks/whatsapp", content=raw, headers=other)).status_code == 403
    await asyncio.sleep(0.2)
    nothing_happened(service)


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe", b"[1, 2]", b'"text"'])
async def test_malformed_json_with_a_valid_signature_is_400(service: WhatsAppService, body: bytes) -> None:
    response = await service.post(body)
    assert response.status_code == 400
    await asyncio.sleep(0.2)
    nothing_happened(service)


async def test_a_huge_body_is_refused(service: WhatsAppService) -> None:
    response = await service.post(b"{" + b" " * 4_000_000 + b"}")
    assert response.status_code == 413
    nothing_happened(service)


async def test_json_nested_too_deeply_is_400_not_a_crash(service: WhatsAppService) -> None:
    # 2,000 levels made json.loads raise RecursionError: a 500 to Meta, which then redelivers it.
    for depth in (65, 2_000, 100_000):
        response = await service.post(b'{"a":' * depth + b"1" + b"}" * depth)
        assert response.status_code == 400, depth
        assert response.json() == {"error": "json_too_deep", "detail": "Isi permintaan terlalu bertingkat."}
    nothing_happened(service)
    # Brackets inside a citizen's text are not nesting.
    text = "[[{{" * 500 + " jalan rusak"
    response = await service.post(envelope([text_message(CITIZEN, "wamid.brackets", text)]))
    assert response.status_code == 200
    await service.settle()
    assert [m.text for m in service.rows(Direction.IN)] == [text]


@pytest.mark.parametrize(
    "settings",
    [{"whatsapp_access_token": ""}, {"whatsapp_phone_number_id": ""}, {"whatsapp_app_secret": ""}],
)
async def test_the_webhook_is_off_unless_configured(
    make_service: Callable[..., Any], settings: dict[str, str]
) -> None:
    async with make_service(**settings) as service:
        response = await service.post(envelope([text_message(CITIZEN, "wamid.a", "halo")]))
        assert response.status_code == 404
        assert service.count_messages() == 0
        # The connector itself (for sending) only needs the token and the phone number id.
        assert ("whatsapp" in service.app.state.connectors) == ("whatsapp_app_secret" in settings)


# --- messages through the pipeline ---


async def test_a_text_is_stored_marked_read_answered_and_the_reply_sent(service: WhatsAppService) -> None:
    response = await service.post(
        envelope([text_message(CITIZEN, "wamid.HBgM001", "jam buka kantor?")], sender=CITIZEN)
    )
    assert response.status_code == 200 and response.json() == {"ok": True}
    await service.settle()

    assert texts_to(service.fake) == [DEFAULT_REPLY]
    assert service.fake.read_receipts == ["wamid.HBgM001"]
    [turn] = service.rasa.webhook_calls
    assert turn["sender"] == f"whatsapp:{CITIZEN}"
    assert turn["message"] == "jam buka kantor?"
    assert turn["metadata"]["platform_message_id"] == "wamid.HBgM001"
    [inbound] = service.rows(Direction.IN)
    assert (inbound.channel, inbound.sender_id, inbound.platform_message_id, inbound.status) == (
        "whatsapp",
        CITIZEN,
        "wamid.HBgM001",
        InboundStatus.PROCESSED,
    )
    [outbound] = service.rows(Direction.OUT)
    assert outbound.status == OutboundStatus.SENT


async def test_the_same_webhook_three_times_and_concurrently_is_one_message_and_one_turn(
    service: WhatsAppService,
) -> None:
    service.rasa.delay_seconds = 0.3  # the copies arrive while the first is still being answered
    first = envelope([text_message(CITIZEN, "wamid.dup1", "lampu jalan mati")])
    sequential = [(await service.post(first)).status_code for _ in range(3)]
    second = envelope([text_message(CITIZEN, "wamid.dup2", "di gang mawar")])
    concurrent = await asyncio.gather(*(service.post(second) for _ in range(3)))
    await service.settle()
    await asyncio.sleep(0.3)  # time for a wrong second turn to show up

    assert sequential == [200, 200, 200]
    assert [r.status_code for r in concurrent] == [200, 200, 200]
    assert [m.platform_message_id for m in service.rows(Direction.IN)] == ["wamid.dup1", "wamid.dup2"]
    assert [call["message"] for call in service.rasa.webhook_calls] == ["lampu jalan mati", "di gang mawar"]
    assert texts_to(service.fake) == [DEFAULT_REPLY, DEFAULT_REPLY]
    assert sorted(service.fake.read_receipts) == ["wamid.dup1", "wamid.dup2"]


async def test_a_batch_from_several_citizens_is_stored_whole(service: WhatsAppService) -> None:
    other = "6289900001111"
    body = envelope([text_message(CITIZEN, "wamid.b1", "satu"), text_message(other, "wamid.b2", "dua")])
    body["entry"].append(envelope([text_message(CITIZEN, "wamid.b3", "tiga")])["entry"][0])
    assert (await service.post(body)).status_code == 200
    await service.settle()
    assert [m.platform_message_id for m in service.rows(Direction.IN)] == ["wamid.b1", "wamid.b2", "wamid.b3"]
    assert len(texts_to(service.fake, CITIZEN)) == 2 and len(texts_to(service.fake, other)) == 1


async def test_buttons_go_out_as_reply_buttons_and_a_tap_sends_the_payload(service: WhatsAppService) -> None:
    await service.post(envelope([text_message(CITIZEN, "wamid.q", fake_rasa_module.KTP_QUESTION)]))
    await service.settle()
    question: Sent = service.fake.sent_to(CITIZEN)[-1]
    assert question.interactive_type == "button"
    assert question.choices == [
        ("Buat pengaduan", "/file_complaint"),
        ("Cek status laporan", "/check_status"),
    ]

    await service.post(envelope([reply_message(CITIZEN, "wamid.tap", question, "/check_status")]))
    await service.settle()

    assert service.rasa.webhook_calls[-1]["message"] == "/check_status"


async def test_a_numbered_menu_answer_reaches_the_bot_as_the_options_payload(
    service: WhatsAppService, monkeypatch: pytest.MonkeyPatch
) -> None:
    categories = [
        "kependudukan",
        "infrastruktur",
        "lingkungan",
        "perhubungan",
        "ketertiban_umum",
        "kesehatan",
        "pendidikan",
        "sosial",
        "utilitas",
        "perizinan",
        "aparatur",
        "lainnya",
    ]
    menu = Turn(
        intent="file_complaint",
        confidence=0.9,
        replies=[
            {
                "text": "Silakan pilih kategori yang paling sesuai:",
                "buttons": [
                    {"title": code.replace("_", " ").title(), "payload": code} for code in categories
                ],
            }
        ],
    )
    monkeypatch.setitem(fake_rasa_module.CANNED, "kategori lain", menu)
    await service.post(envelope([text_message(CITIZEN, "wamid.m1", "kategori lain")]))
    await service.settle()
    shown = service.fake.sent_to(CITIZEN)[-1].text
    assert "Ketik angka pilihan Anda (1–12):" in shown and "2. Infrastruktur" in shown

    await service.post(envelope([text_message(CITIZEN, "wamid.m2", "2")]))
    await service.settle()
    assert service.rasa.webhook_calls[-1]["message"] == "infrastruktur"

    await service.post(envelope([text_message(CITIZEN, "wamid.m3", "2")]))  # the menu is no longer the latest
    await service.settle()
    assert service.rasa.webhook_calls[-1]["message"] == "2"


async def test_photo_and_location_reach_rasa_as_the_actions_expect(service: WhatsAppService) -> None:
    announced = service.fake.add_media("1476230523125", JPEG)
    await service.post(
        envelope([image_message(CITIZEN, "wamid.img", "1476230523125", announced, "tiang roboh")])
    )
    await service.post(envelope([location_message(CITIZEN, "wamid.loc", -6.2, 106.816666)]))
    await service.settle()

    photo_turn, location_turn = service.rasa.webhook_calls
    assert photo_turn["message"] == "tiang roboh"
    [attachment] = photo_turn["metadata"]["attachments"]
    assert attachment["kind"] == "image" and attachment["mime_type"] == "image/jpeg"
    assert service.fake.media_downloads == ["1476230523125"]
    assert location_turn["message"] == "[lokasi]"
    assert location_turn["metadata"]["location"] == {"latitude": -6.2, "longitude": 106.816666}


async def test_a_photo_whose_checksum_does_not_match_is_refused_politely(service: WhatsAppService) -> None:
    service.fake.add_media("1476230523126", JPEG)
    await service.post(envelope([image_message(CITIZEN, "wamid.bad", "1476230523126", "AAAA")]))
    await service.settle()
    assert service.rasa.webhook_calls == []  # only a file we could not take: the note is the whole answer
    assert any("gagal kami terima" in text for text in texts_to(service.fake))


async def test_a_reaction_gets_the_polite_unsupported_note(service: WhatsAppService) -> None:
    reaction = payload("message", "reaction")["entry"][0]["changes"][0]["value"]["messages"][0]
    reaction = reaction | {"from": CITIZEN, "timestamp": str(int(time.time()))}
    await service.post(envelope([reaction]))
    await service.settle()
    assert service.rasa.webhook_calls == []
    assert any("belum dapat kami proses" in text for text in texts_to(service.fake))


async def test_a_reply_outside_the_24_hour_window_is_not_sent_but_kept(service: WhatsAppService) -> None:
    service.fake.fail(131047)
    await service.post(envelope([text_message(CITIZEN, "wamid.late", "halo lagi")]))
    await service.settle()
    [outbound] = service.rows(Direction.OUT)
    assert outbound.status == OutboundStatus.NEEDS_TEMPLATE
    assert service.fake.sent == []


async def test_a_rate_limited_reply_is_retried_after_the_wait(service: WhatsAppService) -> None:
    service.fake.fail(130429, retry_after="0.2")
    await service.post(envelope([text_message(CITIZEN, "wamid.rl", "selamat pagi")]))
    await service.wait_for(lambda fake: fake.sent_to(CITIZEN))
    await service.settle()
    assert texts_to(service.fake) == [DEFAULT_REPLY] and len(service.fake.refused) == 1
    [outbound] = service.rows(Direction.OUT)
    # Flood control (130429) is a wait, not a failed attempt.
    assert outbound.status == OutboundStatus.SENT and outbound.attempts == 1


# --- delivery statuses ---


def delivery_of(database: Database, wamid: str) -> MessageDelivery | None:
    with database.session() as session:
        return session.scalars(
            select(MessageDelivery).where(MessageDelivery.platform_message_id == wamid)
        ).first()


async def test_statuses_out_of_order_end_at_the_most_advanced_state(service: WhatsAppService) -> None:
    await service.post(envelope([text_message(CITIZEN, "wamid.s", "selamat pagi")]))
    await service.settle()
    [reply] = service.fake.sent_to(CITIZEN)

    # Meta does not promise order: read first, then delivered, then sent, then a late failure.
    for state in ("read", "delivered", "sent"):
        assert (
            await service.post(envelope(statuses=[status(reply.wamid, state, CITIZEN)]))
        ).status_code == 200
    await service.post(envelope(statuses=[status(reply.wamid, "failed", CITIZEN, error_code=131026)]))

    [outbound] = service.rows(Direction.OUT)
    assert outbound.status == OutboundStatus.READ
    delivery = delivery_of(service.database, reply.wamid)
    assert delivery is not None and delivery.state == "read" and delivery.message_id == outbound.id


async def test_a_status_before_the_send_returned_is_adopted(service: WhatsAppService) -> None:
    expected = wamid_number(1)  # the id the fake will give the reply
    batch = envelope(statuses=[status(expected, "delivered", CITIZEN)])
    assert (await service.post(batch)).status_code == 200
    await service.post(envelope([text_message(CITIZEN, "wamid.early", "selamat pagi")]))
    await service.settle()

    [reply] = service.fake.sent_to(CITIZEN)
    assert reply.wamid == expected
    [outbound] = service.rows(Direction.OUT)
    assert outbound.status == OutboundStatus.DELIVERED


async def test_a_failed_status_marks_the_reply_failed(service: WhatsAppService) -> None:
    await service.post(envelope([text_message(CITIZEN, "wamid.f", "selamat pagi")]))
    await service.settle()
    [reply] = service.fake.sent_to(CITIZEN)
    await service.post(envelope(statuses=[status(reply.wamid, "failed", CITIZEN, error_code=131026)]))
    [outbound] = service.rows(Direction.OUT)
    assert outbound.status == OutboundStatus.FAILED
    delivery = delivery_of(service.database, reply.wamid)
    assert delivery is not None and delivery.error_code == 131026
