"""A complaint filed on WhatsApp, end to end: signed webhook → inbox → trained Rasa model → actions → ticket
API, replies delivered to a fake WhatsApp Cloud (Graph) API.

The citizen greets the bot, picks "Buat pengaduan" from the menu (an interactive reply), types the
description, shares a location, taps reply buttons and list rows, answers a numbered menu with a number when
the bot offers more options than a list holds, sends a photo (downloaded from the fake's media URL and
checked against its SHA-256), and receives the tracking code in a message sent to the fake. The ticket then
carries the photo and the coordinates.
"""

from __future__ import annotations

import itertools
import random
import re
import time
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.connectors.whatsapp.fake_graph_api import (
    FakeGraphApi,
    Sent,
    envelope,
    image_message,
    location_message,
    post_webhook,
    reply_message,
    text_message,
)
from tests.e2e.conftest import Stack
from tests.e2e.test_complaint_flow import days_ago

CODE = re.compile(r"ADU-[0-9A-Z]{8}")
TURN_TIMEOUT_SECONDS = 90
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 16
LATITUDE, LONGITUDE = -6.175392, 106.827153
DESCRIPTION = "Jalan berlubang besar dan dalam, sudah ada dua motor jatuh minggu ini"


class WhatsAppCitizen:
    """One WhatsApp user talking to the bot through the stack's signed webhook, reading the fake's sends."""

    def __init__(self, stack: Stack, fake: FakeGraphApi) -> None:
        self.stack = stack
        self.fake = fake
        self.phone = f"62812{random.randint(10**7, 10**8 - 1)}"
        self._ids = itertools.count(1)
        self._read = 0
        self.last: list[Sent] = []  # the bot's messages of the latest turn
        self.wamids: list[str] = []  # of the citizen's messages
        self.tapped: list[str] = []  # interactive types of the bot messages whose options were used

    # --- what the citizen does ---

    def say(self, words: str) -> list[Sent]:
        return self._send(lambda wamid: text_message(self.phone, wamid, words))

    def share_location(self) -> list[Sent]:
        return self._send(lambda wamid: location_message(self.phone, wamid, LATITUDE, LONGITUDE))

    def send_photo(self, media_id: str, sha256: str) -> list[Sent]:
        return self._send(lambda wamid: image_message(self.phone, wamid, media_id, sha256))

    def tap(self, payload: str) -> list[Sent]:
        """Taps the reply button or list row whose reply id is `payload` under the bot's latest message."""
        sent = next((s for s in reversed(self.last) if any(id_ == payload for _, id_ in s.choices)), None)
        if sent is None:
            raise AssertionError(f"no option {payload!r} in {self.texts()}")
        self.tapped.append(str(sent.interactive_type))
        return self._send(lambda wamid: reply_message(self.phone, wamid, sent, payload))

    # --- what the citizen sees ---

    def texts(self) -> str:
        return "\n".join(sent.text for sent in self.last)

    def question(self) -> str:
        return self.last[-1].text if self.last else ""

    def options(self) -> list[str]:
        """Reply ids (the payloads) of the buttons or list rows under the latest message."""
        return [id_ for _, id_ in self.last[-1].choices] if self.last else []

    def numbered(self) -> dict[str, int]:
        """A numbered menu among the bot's messages of the latest turn: option title -> number."""
        return {title: int(n) for n, title in re.findall(r"^(\d+)\. (.+)$", self.texts(), re.MULTILINE)}

    # --- plumbing ---

    def _send(self, build: Any) -> list[Sent]:
        wamid = f"wamid.E2E{self.phone}{next(self._ids):04d}"
        self.wamids.append(wamid)
        response = post_webhook(self.stack.service_url, envelope([build(wamid)], sender=self.phone))
        assert response.status_code == 200, response.text
        return self._wait_turn(wamid)

    def _wait_turn(self, wamid: str) -> list[Sent]:
        """Waits until the turn is answered and every reply was handed to the Graph API; those replies."""
        engine = create_engine(self.stack.database_url, poolclass=NullPool)
        deadline = time.monotonic() + TURN_TIMEOUT_SECONDS
        try:
            while time.monotonic() < deadline:
                with engine.connect() as connection:
                    inbound = connection.execute(
                        text(
                            "SELECT status FROM messages WHERE channel = 'whatsapp' AND platform_message_id = :id"
                        ),
                        {"id": wamid},
                    ).scalar()
                    pending = connection.execute(
                        text(
                            "SELECT count(*) FROM messages WHERE channel = 'whatsapp' AND sender_id = :sender "
                            "AND direction = 'out' AND status IN ('queued', 'sending')"
                        ),
                        {"sender": self.phone},
                    ).scalar()
                if inbound not in (None, "received", "processing") and pending == 0:
                    break
                time.sleep(0.2)
            else:
                raise AssertionError(f"turn {wamid} not answered in {TURN_TIMEOUT_SECONDS} s")
        finally:
            engine.dispose()
        mine = self.fake.sent_to(self.phone)
        self.last, self._read = mine[self._read :], len(mine)
        return self.last


def choose_category(citizen: WhatsAppCitizen, asked: list[str]) -> None:
    """Prefers the long way: "Kategori lain" (in the suggestions), then Infrastruktur by its number."""
    menu = citizen.numbered()
    if menu:
        asked.append("category_number")
        number = next(n for title, n in menu.items() if title.lower().startswith("infrastruktur"))
        citizen.say(str(number))
    elif "kategori lain" in citizen.options():
        asked.append("category_other")
        citizen.tap("kategori lain")
    else:
        asked.append("category")
        citizen.tap("infrastruktur" if "infrastruktur" in citizen.options() else citizen.options()[0])


def next_step(citizen: WhatsAppCitizen, asked: list[str], media_id: str, sha256: str) -> None:
    """What a cooperative citizen does with the bot's question (its latest message), preferring buttons."""
    said = citizen.question().lower()
    if "ringkasan" in said:
        asked.append("confirm")
        citizen.tap("kirim")
    elif "setuju" in citizen.options():
        asked.append("consent")
        citizen.tap("setuju")
    elif "nomor hp" in said:
        asked.append("contact")
        citizen.tap("lewati")
    elif "anonim" in said:
        asked.append("anonymous")
        citizen.tap("tidak")
    elif "foto" in said:
        asked.append("photo")
        citizen.send_photo(media_id, sha256)
    elif "kategori" in said:
        choose_category(citizen, asked)
    elif "kapan kejadiannya" in said:
        asked.append("date")
        citizen.tap("kemarin")
    elif "di mana lokasinya" in said:
        asked.append("location")
        citizen.share_location()
    elif "apa yang terjadi" in said:
        asked.append("description")
        citizen.say(DESCRIPTION)
    else:
        raise AssertionError(f"unexpected bot turn: {citizen.texts()}")


def test_complaint_on_whatsapp_with_interactive_replies_photo_and_shared_location(
    stack: Stack, whatsapp_graph_api: FakeGraphApi
) -> None:
    citizen = WhatsAppCitizen(stack, whatsapp_graph_api)
    media_id = f"9{citizen.phone}"
    sha256 = whatsapp_graph_api.add_media(media_id, JPEG)

    citizen.say("halo")
    assert "/file_complaint" in citizen.options()
    citizen.tap("/file_complaint")

    asked: list[str] = []
    for _ in range(16):
        if CODE.search(citizen.texts()):
            break
        next_step(citizen, asked, media_id, sha256)
    else:
        raise AssertionError(f"no tracking code after 16 turns; asked {asked}; last: {citizen.texts()}")

    assert {"description", "location", "date", "photo", "consent", "confirm"} <= set(asked)
    assert asked[-1] == "confirm"
    assert {"button", "list"} <= set(citizen.tapped)  # both kinds of interactive reply were used
    code = CODE.search(citizen.texts()).group(0)  # type: ignore[union-attr]
    # Every bot message respected the Cloud API's limits; the photo came from the media URL; every message
    # of the citizen was marked read.
    assert [body for body in whatsapp_graph_api.refused if body.get("to") == citizen.phone] == []
    assert media_id in whatsapp_graph_api.media_downloads
    assert set(citizen.wamids) <= set(whatsapp_graph_api.read_receipts)

    ticket = stack.api(
        "GET", f"/api/v1/tickets/{code}", params={"channel": "whatsapp", "sender_id": citizen.phone}
    )
    assert ticket.status_code == 200, ticket.text
    body = ticket.json()
    assert body["attachments_count"] == 1
    assert "-6.17539" in body["location_text"] and "106.82715" in body["location_text"]
    assert body["description"] == DESCRIPTION
    assert body["incident_date"] == days_ago(1)  # tapped "kemarin"
    if "category_number" in asked:
        assert body["category"] == "infrastruktur"
    engine = create_engine(stack.database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            latitude, longitude = connection.execute(
                text("SELECT latitude, longitude FROM tickets WHERE code = :code"), {"code": code}
            ).one()
    finally:
        engine.dispose()
    assert (latitude, longitude) == (LATITUDE, LONGITUDE)

    # Status questions on WhatsApp reach the same ticket, for this number only.
    citizen.say(f"cek status {code}")
    assert code in citizen.texts()
