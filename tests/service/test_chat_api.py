"""`POST /api/v1/chat` over HTTP (the ASGI app), with the fake Rasa on loopback and a SQLite file.

Every client here holds a web-chat session (`Authorization: Bearer <token>`); the sessions themselves are
tested in test_webchat_sessions.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.api.app import create_app
from bot.conversations.models import Message
from bot.db import Database
from bot.gateway.gateway import SERVICE_UNAVAILABLE_REPLY
from bot.settings import Settings
from bot.webchat.models import WebChatSession
from bot.webchat.sessions import token_hash
from tests.service.fake_rasa import KTP_QUESTION, FakeRasa

ClientFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(sqlite_database: Database, fake_rasa: FakeRasa) -> Iterator[ClientFactory]:
    clients: list[TestClient] = []

    def make(rasa_url: str | None = None, **settings: Any) -> TestClient:
        app = create_app(
            Settings(database_url="sqlite://", rasa_url=rasa_url or fake_rasa.url, **settings),
            sqlite_database,
        )
        client = TestClient(app)
        client.__enter__()  # runs the lifespan: the Rasa HTTP client is closed on exit
        clients.append(client)
        start_session(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client()


def start_session(client: TestClient) -> str:
    """Open a web-chat session and send its token with every later request of this client."""
    response = client.post("/api/v1/chat/sessions")
    assert response.status_code == 201
    token: str = response.json()["token"]
    client.cookies.clear()  # the bearer header only, as an API client sends it
    client.headers["Authorization"] = f"Bearer {token}"
    return token


def session_sender(database: Database, token: str) -> str:
    with database.session() as session:
        row = session.get_one(WebChatSession, token_hash(token))
        return row.sender_id


def message_count(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(Message)) or 0)


def test_chat_answers_with_texts_and_buttons(client: TestClient, sqlite_database: Database) -> None:
    response = client.post("/api/v1/chat", json={"text": KTP_QUESTION})

    assert response.status_code == 200
    assert response.json() == {
        "messages": [
            {"text": "Syarat KTP-el: berusia 17 tahun atau sudah menikah, membawa fotokopi Kartu Keluarga."},
            {
                "text": "Ada lagi yang bisa kami bantu?",
                "buttons": [
                    {"title": "Buat pengaduan", "payload": "/file_complaint"},
                    {"title": "Cek status laporan", "payload": "/check_status"},
                ],
            },
        ]
    }
    with sqlite_database.session() as session:
        inbound = session.scalars(select(Message).where(Message.direction == "in")).one()
    token = client.headers["Authorization"].removeprefix("Bearer ")
    assert (inbound.channel, inbound.sender_id, inbound.status, inbound.faq_topic) == (
        "web",
        session_sender(sqlite_database, token),
        "processed",
        "ktp_el",
    )


def test_custom_only_replies_are_stored_but_not_shown(client: TestClient, sqlite_database: Database) -> None:
    response = client.post("/api/v1/chat", json={"text": "halo"})

    assert response.json() == {"messages": [{"text": "Halo! Ada yang bisa kami bantu?"}]}
    assert message_count(sqlite_database) == 3  # inbound + 2 replies


def test_retry_with_the_same_message_id_is_answered_once(
    client: TestClient, sqlite_database: Database, fake_rasa: FakeRasa
) -> None:
    body = {"text": KTP_QUESTION, "message_id": "c-1"}

    first = client.post("/api/v1/chat", json=body)
    second = client.post("/api/v1/chat", json=body)

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert len(fake_rasa.webhook_calls) == 1
    assert message_count(sqlite_database) == 3


def test_message_id_of_another_sender_is_a_conflict(make_client: ClientFactory) -> None:
    first, second = make_client(), make_client()
    first.post("/api/v1/chat", json={"text": KTP_QUESTION, "message_id": "same"})

    response = second.post("/api/v1/chat", json={"text": "halo", "message_id": "same"})

    assert response.status_code == 409
    assert response.json()["error"] == "message_id_conflict"
    assert "Syarat" not in response.text


def test_rasa_down_gets_the_polite_reply_and_the_message_is_kept(
    make_client: ClientFactory, sqlite_database: Database, closed_port_url: str
) -> None:
    client = make_client(rasa_url=closed_port_url)

    response = client.post("/api/v1/chat", json={"text": "lampu jalan mati"})

    assert response.status_code == 200
    assert response.json() == {"messages": [{"text": SERVICE_UNAVAILABLE_REPLY}]}
    with sqlite_database.session() as session:
        inbound = session.scalars(select(Message).where(Message.direction == "in")).one()
    assert (inbound.text, inbound.status) == ("lampu jalan mati", "failed")


def test_retry_after_an_outage_gets_the_answer(
    client: TestClient, sqlite_database: Database, fake_rasa: FakeRasa
) -> None:
    body = {"text": KTP_QUESTION, "message_id": "c-9"}
    fake_rasa.mode = "error"
    first = client.post("/api/v1/chat", json=body)
    fake_rasa.mode = "ok"

    retry = client.post("/api/v1/chat", json=body)

    assert first.json() == {"messages": [{"text": SERVICE_UNAVAILABLE_REPLY}]}
    assert retry.status_code == 200
    assert retry.json()["messages"][0]["text"].startswith("Syarat KTP-el")
    with sqlite_database.session() as session:
        inbound = session.scalars(select(Message).where(Message.direction == "in")).one()
    assert (inbound.status, inbound.faq_topic) == ("processed", "ktp_el")


def test_html_and_emoji_are_stored_and_forwarded_as_written(
    client: TestClient, sqlite_database: Database, fake_rasa: FakeRasa
) -> None:
    text = "<b>Tolong</b> <script>alert(1)</script> jalan berlubang 😡🙏 — ñ 中文"

    response = client.post("/api/v1/chat", json={"text": text})

    assert response.status_code == 200
    assert fake_rasa.webhook_calls[0]["message"] == text
    with sqlite_database.session() as session:
        inbound = session.scalars(select(Message).where(Message.direction == "in")).one()
    assert inbound.text == text


def test_text_of_exactly_the_maximum_length_is_accepted(client: TestClient) -> None:
    response = client.post("/api/v1/chat", json={"text": "a" * 4000})

    assert response.status_code == 200


def test_the_maximum_length_comes_from_the_settings(make_client: ClientFactory) -> None:
    client = make_client(max_text_length=10)

    response = client.post("/api/v1/chat", json={"text": "a" * 11})

    assert response.status_code == 422
    assert response.json()["detail"] == "Pesan terlalu panjang. Panjang maksimal 10 karakter."


BAD_JSON_BODIES: list[tuple[str, Any, int, str, str | None]] = [
    # (case, JSON body, status, error code, field at fault)
    ("array body", ["halo"], 422, "invalid_body", None),
    ("string body", "halo", 422, "invalid_body", None),
    ("missing text", {"message_id": "m"}, 422, "missing_field", "text"),
    ("text null", {"text": None}, 422, "wrong_type", "text"),
    ("text a list", {"text": ["halo"]}, 422, "wrong_type", "text"),
    ("text an object", {"text": {"a": 1}}, 422, "wrong_type", "text"),
    ("empty text", {"text": ""}, 422, "empty_text", "text"),
    ("whitespace text", {"text": " \n\t "}, 422, "empty_text", "text"),
    ("text too long", {"text": "a" * 4001}, 422, "text_too_long", "text"),
    ("NUL in text", {"text": "halo\x00dunia"}, 422, "invalid_text", "text"),
    ("lone surrogate in text", {"text": "halo \ud800"}, 422, "invalid_text", "text"),
    (
        "empty message_id",
        {"text": "halo", "message_id": ""},
        422,
        "empty_message_id",
        "message_id",
    ),
    (
        "message_id a number",
        {"text": "halo", "message_id": 7},
        422,
        "wrong_type",
        "message_id",
    ),
]


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [case[1:] for case in BAD_JSON_BODIES],
    ids=[case[0] for case in BAD_JSON_BODIES],
)
def test_bad_input_gets_a_clear_error(
    client: TestClient,
    sqlite_database: Database,
    fake_rasa: FakeRasa,
    body: Any,
    status: int,
    code: str,
    field: str | None,
) -> None:
    # json.dumps escapes non-ASCII ("\\ud800"), so even a lone surrogate travels as valid JSON.
    raw = json.dumps(body).encode()
    response = client.post("/api/v1/chat", content=raw, headers={"Content-Type": "application/json"})

    assert response.status_code == status
    payload = response.json()
    assert payload["error"] == code
    assert isinstance(payload["detail"], str) and payload["detail"]
    if field is not None:
        assert payload["fields"] == [field]
        assert field in payload["detail"] or code in {"empty_text", "text_too_long", "invalid_text"}
    assert message_count(sqlite_database) == 0
    assert fake_rasa.webhook_calls == []


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"text": "halo"', "application/json"),
        (b"text=halo", "application/json"),
        (b'{"text": "\xff\xfe"}', "application/json"),
    ],
    ids=["truncated JSON", "form data as JSON", "invalid UTF-8"],
)
def test_malformed_json_is_a_400(client: TestClient, content: bytes, content_type: str) -> None:
    response = client.post("/api/v1/chat", content=content, headers={"Content-Type": content_type})

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_json", "detail": "Isi permintaan bukan JSON yang valid."}


def test_empty_body_is_rejected(client: TestClient) -> None:
    response = client.post("/api/v1/chat", content=b"", headers={"Content-Type": "application/json"})

    assert response.status_code == 422
    assert response.json()["error"] == "missing_body"


def test_several_faults_are_reported_together(client: TestClient) -> None:
    response = client.post("/api/v1/chat", json={"text": "", "message_id": ""})

    assert response.status_code == 422
    body = response.json()
    assert body["fields"] == ["text", "message_id"]
    assert "Pesan tidak boleh kosong." in body["detail"] and "message_id" in body["detail"]


def test_unknown_route_and_wrong_method_use_the_same_shape(client: TestClient) -> None:
    missing = client.get("/api/v1/tidak-ada")
    wrong_method = client.get("/api/v1/chat")

    assert missing.status_code == 404
    assert missing.json() == {"error": "not_found", "detail": "Alamat yang diminta tidak ditemukan."}
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"] == "method_not_allowed"
