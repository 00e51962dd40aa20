"""A complaint filed on Telegram, end to end: webhook → inbox → trained Rasa model → actions → ticket API,
replies delivered to a fake Telegram Bot API.

The citizen starts with /start, presses inline buttons (callback queries carrying short ids), types the
description, shares a location and a contact with Telegram's own buttons, sends a photo, and receives the
tracking code in a sendMessage. The ticket then carries the photo and the coordinates.
"""

from __future__ import annotations

import itertools
import random
import re
import time
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.connectors.telegram.fake_bot_api import Call, FakeBotApi
from tests.e2e.conftest import TELEGRAM_WEBHOOK_SECRET, Stack
from tests.e2e.test_complaint_flow import days_ago

CODE = re.compile(r"ADU-[0-9A-Z]{8}")
TURN_TIMEOUT_SECONDS = 90
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 16
LATITUDE, LONGITUDE = -6.2, 106.816666
DESCRIPTION = "Tiang listrik roboh menimpa pagar rumah warga, kabelnya menjuntai dan berbahaya"


class TelegramCitizen:
    """One Telegram user talking to the bot through the stack's webhook, reading replies from the fake."""

    def __init__(self, stack: Stack, fake: FakeBotApi) -> None:
        self.stack = stack
        self.fake = fake
        self.chat_id = random.randint(10**9, 2 * 10**9)
        self.user = {"id": self.chat_id, "is_bot": False, "first_name": "Sari", "language_code": "id"}
        self.chat = {"id": self.chat_id, "type": "private", "first_name": "Sari"}
        self._update_ids = itertools.count(random.randint(10**6, 10**8))
        self._message_ids = itertools.count(1)
        self._read = 0
        self.last: list[Call] = []  # the bot's messages of the latest turn
        self.pressed: list[str] = []  # callback query ids
        self.chosen_category = ""  # the title of the category button pressed, less "Ya, "

    # --- what the citizen does ---

    def say(self, words: str) -> list[Call]:
        return self._message({"text": words})

    def share_location(self) -> list[Call]:
        return self._message({"location": {"latitude": LATITUDE, "longitude": LONGITUDE}})

    def share_contact(self) -> list[Call]:
        contact = {"phone_number": "6281234567890", "first_name": "Sari", "user_id": self.chat_id}
        return self._message({"contact": contact})

    def send_photo(self, file_id: str) -> list[Call]:
        sizes = [
            {
                "file_id": f"{file_id}-small",
                "file_unique_id": "s",
                "file_size": 900,
                "width": 90,
                "height": 90,
            },
            {"file_id": file_id, "file_unique_id": "l", "file_size": len(JPEG), "width": 800, "height": 600},
        ]
        return self._message({"photo": sizes})

    def press(self, title: str) -> list[Call]:
        """Presses the inline button titled `title` under the bot's latest messages."""
        for call in reversed(self.last):
            for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if button["text"] == title:
                        assert len(button["callback_data"].encode()) <= 64
                        query_id = f"q{next(self._update_ids)}"
                        self.pressed.append(query_id)
                        update = {
                            "callback_query": {
                                "id": query_id,
                                "from": self.user,
                                "chat_instance": "42",
                                "data": button["callback_data"],
                                "message": {
                                    "message_id": 1,
                                    "date": int(time.time()),
                                    "chat": self.chat,
                                    "text": call.params["text"],
                                },
                            }
                        }
                        self._post(update)
                        return self._wait_turn(f"cb:{query_id}")
        raise AssertionError(f"no button {title!r} in {self.texts()}")

    # --- what the citizen sees ---

    def texts(self) -> str:
        return "\n".join(str(call.params.get("text", "")) for call in self.last)

    def question(self) -> str:
        """The bot's latest message of the turn: the question it is waiting an answer to."""
        return str(self.last[-1].params.get("text", "")) if self.last else ""

    def buttons(self) -> list[str]:
        """Titles of the inline buttons under the latest message."""
        last = self.last[-1:] or []
        return [
            button["text"]
            for call in last
            for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", [])
            for button in row
        ]

    # --- plumbing ---

    def _message(self, content: dict[str, Any]) -> list[Call]:
        message_id = next(self._message_ids)
        message = {"message_id": message_id, "from": self.user, "chat": self.chat, "date": int(time.time())}
        self._post({"message": message | content})
        return self._wait_turn(f"{self.chat_id}:{message_id}")

    def _post(self, update: dict[str, Any]) -> None:
        response = httpx.post(
            f"{self.stack.service_url}/webhooks/telegram",
            json={"update_id": next(self._update_ids), **update},
            headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_WEBHOOK_SECRET},
            timeout=30,
        )
        assert response.status_code == 200, response.text

    def _wait_turn(self, platform_message_id: str) -> list[Call]:
        """Waits until the turn is answered and every reply was handed to the Bot API; those replies."""
        engine = create_engine(self.stack.database_url, poolclass=NullPool)
        deadline = time.monotonic() + TURN_TIMEOUT_SECONDS
        try:
            while time.monotonic() < deadline:
                with engine.connect() as connection:
                    inbound = connection.execute(
                        text(
                            "SELECT status FROM messages WHERE channel = 'telegram' AND platform_message_id = :id"
                        ),
                        {"id": platform_message_id},
                    ).scalar()
                    pending = connection.execute(
                        text(
                            "SELECT count(*) FROM messages WHERE channel = 'telegram' AND sender_id = :sender "
                            "AND direction = 'out' AND status IN ('queued', 'sending')"
                        ),
                        {"sender": str(self.chat_id)},
                    ).scalar()
                if inbound not in (None, "received", "processing") and pending == 0:
                    break
                time.sleep(0.2)
            else:
                raise AssertionError(f"turn {platform_message_id} not answered in {TURN_TIMEOUT_SECONDS} s")
        finally:
            engine.dispose()
        mine = [
            call
            for call in self.fake.calls_of("sendMessage")
            if call.params.get("chat_id") == str(self.chat_id)
        ]
        self.last, self._read = mine[self._read :], len(mine)
        return self.last


def next_step(citizen: TelegramCitizen, asked: list[str], photo_id: str) -> None:
    """What a cooperative citizen does with the bot's question (its latest message), preferring buttons."""
    said = citizen.question().lower()
    if "ringkasan" in said:
        asked.append("confirm")
        citizen.press("Kirim")
    elif "Setuju" in citizen.buttons():
        asked.append("consent")
        citizen.press("Setuju")
    elif "nomor hp" in said:
        asked.append("contact")
        citizen.share_contact()
    elif "anonim" in said:
        asked.append("anonymous")
        citizen.press("Tidak")
    elif "foto" in said:
        asked.append("photo")
        citizen.send_photo(photo_id)
    elif "kategori" in said:
        asked.append("category")
        suggested = citizen.buttons()[0]  # the suggested category comes first: "Ya, <label>"
        citizen.chosen_category = suggested.removeprefix("Ya, ")
        citizen.press(suggested)
    elif "kapan kejadiannya" in said:
        asked.append("date")
        citizen.press("Kemarin")
    elif "di mana lokasinya" in said:
        asked.append("location")
        citizen.share_location()
    elif "apa yang terjadi" in said:
        asked.append("description")
        citizen.say(DESCRIPTION)
    else:
        raise AssertionError(f"unexpected bot turn: {citizen.texts()}")


def test_complaint_on_telegram_with_buttons_photo_and_shared_location(
    stack: Stack, telegram_bot_api: FakeBotApi
) -> None:
    citizen = TelegramCitizen(stack, telegram_bot_api)
    photo_id = f"AgACAgUAAxkBAAIBW2V-{citizen.chat_id}"
    telegram_bot_api.add_file(photo_id, JPEG, f"photos/file_{citizen.chat_id}.jpg")

    citizen.say("/start")
    assert "Buat pengaduan" in citizen.buttons()
    citizen.press("Buat pengaduan")

    asked: list[str] = []
    for _ in range(14):
        if CODE.search(citizen.texts()):
            break
        next_step(citizen, asked, photo_id)
    else:
        raise AssertionError(f"no tracking code after 14 turns; asked {asked}; last: {citizen.texts()}")

    assert {"description", "location", "date", "category", "photo", "consent", "confirm"} <= set(asked)
    assert asked[-1] == "confirm"
    code = CODE.search(citizen.texts()).group(0)  # type: ignore[union-attr]
    # The photo was fetched from Telegram (getFile, then the file URL) and every button press answered.
    assert f"photos/file_{citizen.chat_id}.jpg" in telegram_bot_api.file_downloads
    assert any(c.params.get("file_id") == photo_id for c in telegram_bot_api.calls_of("getFile"))
    answered = {c.params["callback_query_id"] for c in telegram_bot_api.calls_of("answerCallbackQuery")}
    assert len(citizen.pressed) >= 4 and set(citizen.pressed) <= answered

    ticket = stack.api(
        "GET", f"/api/v1/tickets/{code}", params={"channel": "telegram", "sender_id": str(citizen.chat_id)}
    )
    assert ticket.status_code == 200, ticket.text
    body = ticket.json()
    assert body["attachments_count"] == 1
    assert "-6.20000" in body["location_text"] and "106.81667" in body["location_text"]
    assert body["description"] == DESCRIPTION
    assert body["incident_date"] == days_ago(1)  # pressed "Kemarin"
    assert body["category_label"].startswith(citizen.chosen_category)  # button titles are cut to 20
    engine = create_engine(stack.database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            latitude, longitude, phone = connection.execute(
                text("SELECT latitude, longitude, reporter_phone FROM tickets WHERE code = :code"),
                {"code": code},
            ).one()
    finally:
        engine.dispose()
    assert (latitude, longitude) == (LATITUDE, LONGITUDE)
    if "contact" in asked:
        assert phone == "+6281234567890"

    # Status questions on Telegram reach the same ticket, for this chat only.
    citizen.say(f"cek status {code}")
    assert code in citizen.texts()
