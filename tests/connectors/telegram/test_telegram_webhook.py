"""POST /webhooks/telegram and polling, through the real app: secret check, inbox, fake Rasa, fake Bot API.

The app is the one `bot serve` runs (create_app with its lifespan: inbox and delivery workers); Rasa and the
Bot API are fakes on loopback. Nothing is mocked in between.
"""

from __future__ import annotations

import asyncio
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
from bot.conversations.models import Direction, InboundStatus, Message
from bot.db import Database
from bot.settings import Settings
from connectors.base import InboundEvent
from connectors.telegram import TelegramConnector, TelegramPoller
from tests.connectors.telegram.conftest import load_payload
from tests.connectors.telegram.fake_bot_api import FakeBotApi
from tests.service.fake_rasa import FakeRasa

# The poller reads raw updates through do_api_request on purpose; PTB suggests get_updates (pytest shows it).
pytestmark = pytest.mark.filterwarnings("ignore:Please use 'Bot.getUpdates'")

SECRET = "s3cret-Token_0123456789"
CHAT = 1760450482
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


@dataclass
class TelegramService:
    app: FastAPI
    client: httpx.AsyncClient
    database: Database
    fake: FakeBotApi
    rasa: FakeRasa

    async def post(self, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.post(
            "/webhooks/telegram", json=body, headers=HEADERS if headers is None else headers
        )

    async def wait_for(self, predicate: Callable[[FakeBotApi], Any], timeout: float = 15.0) -> Any:
        """Waits for the fake Bot API to see something, while the app's workers run on this event loop."""
        return await asyncio.to_thread(self.fake.wait_for, predicate, timeout)

    def inbound(self) -> list[Message]:
        with self.database.session() as session:
            query = select(Message).where(Message.direction == Direction.IN).order_by(Message.id)
            return list(session.scalars(query))

    def count_messages(self) -> int:
        with self.database.session() as session:
            return int(session.scalar(select(func.count()).select_from(Message)) or 0)

    @property
    def connector(self) -> TelegramConnector:
        connector: TelegramConnector = self.app.state.connectors["telegram"]
        return connector


def service_settings(
    database: Database, fake: FakeBotApi, rasa: FakeRasa, tmp_path: Path, **extra: Any
) -> Settings:
    values: dict[str, Any] = {
        "database_url": database.engine.url.render_as_string(hide_password=False),
        "rasa_url": rasa.url,
        "rasa_timeout_seconds": 5.0,
        "attachments_dir": tmp_path / "attachments",
        "telegram_bot_token": fake.token,
        "telegram_webhook_secret": SECRET,
        "telegram_api_base_url": fake.url,
        "delivery_min_interval_seconds": 0.0,
        "delivery_backoff_seconds": 0.05,
        "delivery_poll_seconds": 0.05,
    }
    return Settings(_env_file=None, **(values | extra))  # type: ignore[call-arg]


@pytest.fixture
def make_service(
    database: Database, fake_bot_api: FakeBotApi, fake_rasa: FakeRasa, tmp_path: Path
) -> Callable[..., Any]:
    def make(**extra: Any) -> Any:
        @asynccontextmanager
        async def running() -> AsyncIterator[TelegramService]:
            app = create_app(service_settings(database, fake_bot_api, fake_rasa, tmp_path, **extra), database)
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://bot.test"
                ) as client,
            ):
                yield TelegramService(app, client, database, fake_bot_api, fake_rasa)

        return running()

    return make


@pytest.fixture
async def service(make_service: Callable[..., Any]) -> AsyncIterator[TelegramService]:
    async with make_service() as running:
        yield running


# --- the secret ---


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Telegram-Bot-Api-Secret-Token": ""},
        {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
        {"X-Telegram-Bot-Api-Secret-Token": SECRET[:-1]},  # a prefix
        {"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"},
        {"X-Telegram-Bot-Api-Secret-Token": SECRET.upper()},
    ],
)
async def test_missing_or_wrong_secret_is_rejected_and_nothing_stored(
    service: TelegramService, headers: dict[str, str]
) -> None:
    response = await service.post(load_payload("message_text.json"), headers=headers)
    assert response.status_code == (401 if not headers else 403)
    assert response.json()["error"] in {"unauthorized", "forbidden"}
    await asyncio.sleep(0.2)
    assert service.count_messages() == 0
    assert service.rasa.webhook_calls == []
    assert service.fake.calls == []


async def test_a_forged_update_with_a_valid_shape_but_no_secret_never_reaches_the_bot(
    service: TelegramService,
) -> None:
    forged = load_payload("callback_query.json")
    forged["callback_query"]["data"] = "/request_human"
    response = await service.client.post(
        "/webhooks/telegram", json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
    )
    assert response.status_code == 403
    assert service.count_messages() == 0 and service.fake.calls_of("answerCallbackQuery") == []


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe", b"[1, 2]", b'"text"'])
async def test_malformed_body_is_400(service: TelegramService, body: bytes) -> None:
    response = await service.client.post(
        "/webhooks/telegram", content=body, headers={**HEADERS, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert service.count_messages() == 0


async def test_a_huge_body_is_refused(service: TelegramService) -> None:
    response = await service.client.post(
        "/webhooks/telegram", content=b"{" + b" " * 2_000_000 + b"}", headers=HEADERS
    )
    assert response.status_code == 413


@pytest.mark.parametrize("depth", [65, 2_000, 100_000])
async def test_json_nested_too_deeply_is_400_not_a_crash(service: TelegramService, depth: int) -> None:
    # 2,000 levels made json.loads raise RecursionError: a 500, and Telegram redelivers the update.
    body = b'{"update_id":1,"a":' + b'{"a":' * depth + b"1" + b"}" * (depth + 1)
    response = await service.client.post("/webhooks/telegram", content=body, headers=HEADERS)
    assert response.status_code == 400
    assert response.json() == {"error": "json_too_deep", "detail": "Isi permintaan terlalu bertingkat."}
    assert service.count_messages() == 0


@pytest.mark.parametrize(
    "settings",
    [{"telegram_bot_token": ""}, {"telegram_webhook_secret": ""}, {"telegram_mode": "polling"}],
)
async def test_webhook_is_off_unless_configured(
    make_service: Callable[..., Any], settings: dict[str, str]
) -> None:
    async with make_service(**settings) as service:
        response = await service.post(load_payload("message_text.json"))
        assert response.status_code == 404
        assert service.count_messages() == 0


# --- updates through the pipeline ---


async def test_text_update_is_stored_answered_and_replied_through_the_bot_api(
    service: TelegramService,
) -> None:
    response = await service.post(load_payload("message_text.json"))
    assert response.status_code == 200 and response.json() == {"ok": True}
    [reply] = await service.wait_for(lambda fake: fake.calls_of("sendMessage"))
    assert reply.params == {"chat_id": str(CHAT), "text": "Mohon maaf, saya belum mengerti."}
    [turn] = service.rasa.webhook_calls
    assert turn["sender"] == f"telegram:{CHAT}"
    assert turn["message"] == "Saya mau lapor, listrik mati sejak pagi"
    assert turn["metadata"]["platform_message_id"] == f"{CHAT}:600"
    [inbound] = service.inbound()
    assert (inbound.channel, inbound.sender_id, inbound.platform_message_id) == (
        "telegram",
        str(CHAT),
        f"{CHAT}:600",
    )


async def test_the_same_update_three_times_and_concurrently_is_one_message_and_one_turn(
    service: TelegramService,
) -> None:
    service.rasa.delay_seconds = 0.3  # the copies arrive while the first is still being answered
    update = load_payload("message_text.json")
    sequential = [(await service.post(update)).status_code for _ in range(3)]
    other = load_payload("location.json")
    concurrent = await asyncio.gather(*(service.post(other) for _ in range(3)))
    await service.wait_for(lambda fake: len(fake.calls_of("sendMessage")) >= 2)
    await asyncio.sleep(0.5)  # time for any wrong second turn to show up

    assert sequential == [200, 200, 200]
    assert [r.status_code for r in concurrent] == [200, 200, 200]
    assert [m.platform_message_id for m in service.inbound()] == [f"{CHAT}:600", f"{CHAT}:604"]
    assert [call["message"] for call in service.rasa.webhook_calls] == [
        "Saya mau lapor, listrik mati sejak pagi",
        "[lokasi]",
    ]
    assert len(service.fake.calls_of("sendMessage")) == 2


async def test_button_press_is_answered_and_sends_the_stored_payload(service: TelegramService) -> None:
    payload = '/inform{"category":"infrastruktur","detail":"jalan berlubang di depan SD Negeri 3 Sukamaju"}'
    [data] = service.connector.callbacks.register([payload])
    press = load_payload("callback_query.json")
    press["callback_query"]["data"] = data
    for _ in range(2):  # Telegram redelivers when our answer is slow: still one turn
        assert (await service.post(press)).status_code == 200
    await service.wait_for(lambda fake: fake.calls_of("sendMessage"))
    [answer] = service.fake.calls_of("answerCallbackQuery")
    assert answer.params == {"callback_query_id": "4382bfdwdsb323b2d9"}
    [turn] = service.rasa.webhook_calls
    assert turn["message"] == payload
    assert [m.platform_message_id for m in service.inbound()] == ["cb:4382bfdwdsb323b2d9"]


async def test_start_photo_and_location_reach_rasa_as_the_actions_expect(service: TelegramService) -> None:
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8
    service.fake.add_file("AgACAgUAAxkBAAIBW2VfakeLarge", jpeg, "photos/file_9.jpg")
    for name in ("message_command_start.json", "photo.json", "location.json", "contact.json"):
        assert (await service.post(load_payload(name))).status_code == 200
    await service.wait_for(lambda fake: len(fake.calls_of("sendMessage")) >= 4)
    turns = service.rasa.webhook_calls
    assert [t["message"] for t in turns] == ["/greet", "Foto tiang listrik roboh", "[lokasi]", "[kontak]"]
    [attachment] = turns[1]["metadata"]["attachments"]
    assert attachment["kind"] == "image" and attachment["id"]
    assert service.fake.file_downloads == ["photos/file_9.jpg"]
    assert turns[2]["metadata"]["location"] == {"latitude": -6.2, "longitude": 106.816666}
    assert turns[3]["metadata"]["contact"]["phone_number"] == "6281234567890"
    assert all(m.status == InboundStatus.PROCESSED for m in service.inbound())


async def test_flood_control_on_a_reply_is_retried_after_the_time_telegram_asks(
    service: TelegramService,
) -> None:
    service.fake.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    await service.post(load_payload("message_text.json"))
    await service.wait_for(lambda fake: len(fake.calls_of("sendMessage")) == 2, timeout=10)
    first, second = service.fake.calls_of("sendMessage")
    assert first.params == second.params


# --- polling ---


async def test_polling_feeds_the_same_inbox(service: TelegramService) -> None:
    service.fake.push_update(load_payload("message_text.json"))
    service.fake.push_update(load_payload("message_text.json"))  # a redelivery of the same update
    service.fake.push_update(load_payload("location.json"))
    poller = TelegramPoller(service.connector, service.app.state.inbox.accept)
    assert await poller.poll_once(timeout=0) == 3
    assert poller.offset == 280069305
    assert await poller.poll_once(timeout=0) == 0  # the offset confirmed them: Telegram forgets them
    await service.wait_for(lambda fake: len(fake.calls_of("sendMessage")) >= 2)
    assert [m.platform_message_id for m in service.inbound()] == [f"{CHAT}:600", f"{CHAT}:604"]
    assert [c["message"] for c in service.rasa.webhook_calls] == [
        "Saya mau lapor, listrik mati sejak pagi",
        "[lokasi]",
    ]
    getupdates = service.fake.calls_of("getUpdates")
    assert getupdates[0].params["allowed_updates"] == ["message", "edited_message", "callback_query"]
    assert getupdates[1].params["offset"] == "280069305"


async def test_polling_does_not_skip_an_update_it_could_not_store(service: TelegramService) -> None:
    accepted: list[str] = []
    failures = iter([True])

    async def flaky_accept(event: InboundEvent) -> bool:
        if next(failures, False):
            raise RuntimeError("database unavailable")
        accepted.append(event.platform_message_id)
        result: bool = await service.app.state.inbox.accept(event)
        return result

    service.fake.push_update(load_payload("message_text.json"))
    poller = TelegramPoller(service.connector, flaky_accept)
    with pytest.raises(RuntimeError):
        await poller.poll_once(timeout=0)
    assert poller.offset is None
    assert await poller.poll_once(timeout=0) == 1
    assert accepted == [f"{CHAT}:600"]


async def test_poller_run_deletes_the_webhook_and_stops_promptly(service: TelegramService) -> None:
    await service.connector.set_webhook("https://aduan.example.go.id/webhooks/telegram", SECRET)
    stop = asyncio.Event()
    poller = TelegramPoller(service.connector, service.app.state.inbox.accept, timeout_seconds=5)
    task = asyncio.create_task(poller.run(stop))
    service.fake.push_update(load_payload("message_text.json"))
    await asyncio.to_thread(service.fake.wait_for, lambda fake: fake.calls_of("sendMessage"))
    assert service.fake.calls_of("deleteWebhook") and not service.fake.webhook
    stop.set()
    await asyncio.wait_for(task, timeout=3)  # in the middle of a 5 s long poll
    assert [m.platform_message_id for m in service.inbound()] == [f"{CHAT}:600"]


async def test_poller_waits_out_flood_control(service: TelegramService) -> None:
    service.fake.fail("getUpdates", 429, "Too Many Requests: retry after 1", retry_after=1)
    service.fake.push_update(load_payload("message_text.json"))
    stop = asyncio.Event()
    task = asyncio.create_task(TelegramPoller(service.connector, service.app.state.inbox.accept, 1).run(stop))
    await asyncio.to_thread(service.fake.wait_for, lambda fake: fake.calls_of("sendMessage"), 10)
    stop.set()
    await asyncio.wait_for(task, timeout=3)
    assert len(service.fake.calls_of("getUpdates")) >= 2
