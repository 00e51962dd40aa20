"""Messages the service starts itself, picked up by the web chat; and the category list."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.api.app import create_app
from bot.db import Database
from bot.settings import Settings
from bot.webchat.models import WebChatSession
from bot.webchat.sessions import token_hash
from tests.contract import CATEGORIES
from tests.service.fake_rasa import FakeRasa

TOKEN = "notify-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(database: Database, fake_rasa: FakeRasa) -> Iterator[TestClient]:
    app = create_app(
        Settings(database_url="sqlite://", rasa_url=fake_rasa.url, service_token=TOKEN), database
    )
    with TestClient(app) as test_client:
        yield test_client


def notification(
    key: str = "chat:abc12345:filed", sender: str = "web-9", text: str = "Kode ADU-7KQ2M9XP"
) -> dict:
    return {"channel": "web", "sender_id": sender, "text": text, "idempotency_key": key}


def relay_updates(client: TestClient, sender: str, after: int = 0) -> dict[str, Any]:
    response = client.post(
        "/api/v1/chat/relay/updates", json={"sender": sender, "after": after}, headers=AUTH
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_notification_needs_the_service_token(client: TestClient) -> None:
    assert client.post("/api/v1/notifications", json=notification()).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.post("/api/v1/notifications", json=notification(), headers=wrong).status_code == 401


def test_notification_is_stored_once_and_reaches_the_web_chat(client: TestClient) -> None:
    first = client.post("/api/v1/notifications", json=notification(), headers=AUTH)
    again = client.post("/api/v1/notifications", json=notification(), headers=AUTH)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]

    updates = relay_updates(client, "web-9")
    assert [message["text"] for message in updates["messages"]] == ["Kode ADU-7KQ2M9XP"]
    assert relay_updates(client, "web-9", after=updates["last_id"])["messages"] == []


def test_a_notification_reaches_the_sessions_own_updates_only(client: TestClient, database: Database) -> None:
    owner = client.post("/api/v1/chat/sessions").json()["token"]
    other = client.post("/api/v1/chat/sessions").json()["token"]
    client.cookies.clear()
    with database.session() as session:
        sender = session.get_one(WebChatSession, token_hash(owner)).sender_id

    client.post("/api/v1/notifications", json=notification(sender=sender), headers=AUTH)

    mine = client.get("/api/v1/chat/updates", headers={"Authorization": f"Bearer {owner}"}).json()
    theirs = client.get("/api/v1/chat/updates", headers={"Authorization": f"Bearer {other}"}).json()
    assert [message["text"] for message in mine["messages"]] == ["Kode ADU-7KQ2M9XP"]
    assert theirs == {"messages": [], "last_id": 0}


def test_updates_only_show_the_senders_own_messages(client: TestClient) -> None:
    client.post("/api/v1/notifications", json=notification(sender="web-owner"), headers=AUTH)
    assert relay_updates(client, "web-other") == {"messages": [], "last_id": 0}


def test_updates_include_chat_replies_in_order(client: TestClient) -> None:
    client.post("/api/v1/chat/relay", json={"sender": "web-5", "text": "halo"}, headers=AUTH)
    client.post("/api/v1/notifications", json=notification(sender="web-5", key="k-later-0001"), headers=AUTH)
    messages = relay_updates(client, "web-5")["messages"]
    assert messages[-1]["text"] == "Kode ADU-7KQ2M9XP"
    assert [m["id"] for m in messages] == sorted(m["id"] for m in messages)


@pytest.mark.parametrize(
    "body",
    [
        {**notification(), "text": ""},
        {**notification(), "idempotency_key": "short"},
        {**notification(), "channel": "Web Chat"},
        {k: v for k, v in notification().items() if k != "sender_id"},
    ],
)
def test_bad_notifications_are_refused(client: TestClient, body: dict) -> None:
    assert client.post("/api/v1/notifications", json=body, headers=AUTH).status_code == 422


def test_categories_list_every_contract_category_with_its_unit(client: TestClient) -> None:
    categories = client.get("/api/v1/categories").json()["categories"]
    assert {c["code"] for c in categories} == set(CATEGORIES)
    assert all(c["label"] and c["unit"] for c in categories)
