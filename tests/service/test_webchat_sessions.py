"""Server-issued web-chat identities: `POST /api/v1/chat/sessions`, the bearer token (or cookie) on every
web-chat call, `GET /api/v1/chat/updates`, revocation, expiry, the per-address creation limit, and the
service-token relay. An identity can no longer be chosen, guessed or reused by another client."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, update
from sqlalchemy.pool import NullPool

import bot.models  # noqa: F401  the full metadata
from bot.api.app import create_app
from bot.conversations.models import Message
from bot.db import Base, Database, utcnow
from bot.gateway.gateway import Gateway
from bot.settings import Settings
from bot.webchat.models import WebChatSession
from bot.webchat.sessions import client_key, token_hash
from tests.service.fake_rasa import KTP_QUESTION, FakeRasa

SERVICE_TOKEN = "webchat-test-service-token-0123456789"
CODE_NOTICE = "Pengaduan Anda sudah kami terima dengan kode ADU-7K3M9QXZ."
ClientFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(database: Database, fake_rasa: FakeRasa) -> Iterator[ClientFactory]:
    clients: list[TestClient] = []

    def make(address: str = "198.51.100.7", **settings: Any) -> TestClient:
        app = create_app(
            Settings(
                database_url="sqlite://", rasa_url=fake_rasa.url, service_token=SERVICE_TOKEN, **settings
            ),
            database,
        )
        client = TestClient(app, client=(address, 50000))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client()


def new_token(client: TestClient) -> str:
    response = client.post("/api/v1/chat/sessions")
    assert response.status_code == 201, response.text
    client.cookies.clear()  # each call below names its token explicitly
    token: str = response.json()["token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def service() -> dict[str, str]:
    return {"Authorization": f"Bearer {SERVICE_TOKEN}"}


def sender_of(database: Database, token: str) -> str:
    with database.session() as session:
        return session.get_one(WebChatSession, token_hash(token)).sender_id


def inbound_rows(database: Database) -> list[Message]:
    with database.session() as session:
        return list(session.scalars(select(Message).where(Message.direction == "in").order_by(Message.id)))


def notify(client: TestClient, sender_id: str, text: str) -> None:
    """A message no turn asked for (as the action server's outbox sends a tracking code later)."""
    gateway: Gateway = client.app.state.gateway  # type: ignore[attr-defined]
    client.portal.call(gateway.notify, "web", sender_id, text, f"test-{sender_id}")  # type: ignore[union-attr]


# --- issuing ---


def test_a_session_is_random_stored_hashed_and_bound_to_a_server_chosen_sender(
    client: TestClient, database: Database
) -> None:
    before = utcnow()
    response = client.post("/api/v1/chat/sessions", json={"sender": "warga-pilihan-sendiri"})

    assert response.status_code == 201
    body = response.json()
    token = body["token"]
    assert set(body) == {"token", "expires_at"}
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert timedelta(hours=71.9) < expires_at - before < timedelta(hours=72.1)
    with database.session() as session:
        rows = list(session.scalars(select(WebChatSession)))
    assert len(rows) == 1
    row = rows[0]
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.token_hash, row.sender_id, row.client_key)
    assert row.sender_id.startswith("ws-") and "warga" not in row.sender_id
    assert row.client_key == client_key("198.51.100.7", SERVICE_TOKEN) and "198.51" not in row.client_key
    assert row.expires_at == expires_at and row.revoked_at is None
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"layanan_chat={token};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/api/v1/chat" in cookie


def test_two_sessions_get_different_tokens_and_senders(client: TestClient, database: Database) -> None:
    first, second = new_token(client), new_token(client)

    assert first != second
    assert sender_of(database, first) != sender_of(database, second)


# --- chatting with a session ---


def test_the_turn_is_the_sessions_sender_and_carries_the_client_key(
    client: TestClient, database: Database, fake_rasa: FakeRasa
) -> None:
    token = new_token(client)

    response = client.post("/api/v1/chat", json={"text": KTP_QUESTION}, headers=bearer(token))

    assert response.status_code == 200
    assert response.json()["messages"][0]["text"].startswith("Syarat KTP-el")
    [inbound] = inbound_rows(database)
    assert (inbound.channel, inbound.sender_id) == ("web", sender_of(database, token))
    metadata = fake_rasa.webhook_calls[0]["metadata"]
    assert metadata["sender_id"] == inbound.sender_id
    assert metadata["client_key"] == client_key("198.51.100.7", SERVICE_TOKEN)


def test_sessions_from_one_address_share_the_client_key_the_action_server_counts_on(
    client: TestClient, make_client: ClientFactory, fake_rasa: FakeRasa
) -> None:
    for token in (new_token(client), new_token(client)):
        client.post("/api/v1/chat", json={"text": "halo"}, headers=bearer(token))
    elsewhere = make_client(address="203.0.113.50")
    elsewhere.post("/api/v1/chat", json={"text": "halo"}, headers=bearer(new_token(elsewhere)))

    keys = [call["metadata"]["client_key"] for call in fake_rasa.webhook_calls]
    senders = [call["metadata"]["sender_id"] for call in fake_rasa.webhook_calls]
    assert len(set(senders)) == 3
    assert keys[0] == keys[1] != keys[2]


def test_the_cookie_alone_is_accepted(client: TestClient, database: Database) -> None:
    created = client.post("/api/v1/chat/sessions")  # the client keeps the HttpOnly cookie

    response = client.post("/api/v1/chat", json={"text": "halo"})

    assert response.status_code == 200
    [inbound] = inbound_rows(database)
    assert inbound.sender_id == sender_of(database, created.json()["token"])


def test_a_sender_in_the_body_is_refused_and_nothing_is_stored(
    client: TestClient, database: Database, fake_rasa: FakeRasa
) -> None:
    victim = new_token(client)
    client.post("/api/v1/chat", json={"text": "halo"}, headers=bearer(victim))
    victim_sender = sender_of(database, victim)
    attacker = new_token(client)

    response = client.post(
        "/api/v1/chat",
        json={"sender": victim_sender, "text": "batalkan laporan saya"},
        headers=bearer(attacker),
    )

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "sender_not_allowed" and body["fields"] == ["sender"]
    assert "sesi" in body["detail"]
    assert [row.text for row in inbound_rows(database)] == ["halo"]
    assert len(fake_rasa.webhook_calls) == 1


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "session_required"),
        ({"Authorization": "Bearer not-a-session-token"}, "invalid_session"),
        ({"Authorization": "Bearer "}, "invalid_session"),
        ({"Authorization": "Basic d2FyZ2E6cmFoYXNpYQ=="}, "invalid_session"),
        ({"Authorization": f"Bearer {SERVICE_TOKEN}"}, "invalid_session"),
        ({"Authorization": "Bearer " + "x" * 5000}, "invalid_session"),
    ],
    ids=["no token", "unknown token", "empty token", "not bearer", "service token", "huge token"],
)
def test_calls_without_a_live_session_get_401(
    client: TestClient, database: Database, headers: dict[str, str], code: str
) -> None:
    chat = client.post("/api/v1/chat", json={"text": "halo"}, headers=headers)
    updates = client.get("/api/v1/chat/updates", headers=headers)
    end = client.delete("/api/v1/chat/sessions/current", headers=headers)

    for response in (chat, updates, end):
        assert response.status_code == 401
        assert response.json()["error"] == code
        assert "Silakan mulai percakapan baru" in response.json()["detail"]
        assert response.headers["www-authenticate"] == "Bearer"
    assert inbound_rows(database) == []


def test_a_wrong_bearer_header_is_not_replaced_by_the_cookie(client: TestClient) -> None:
    client.post("/api/v1/chat/sessions")  # valid cookie kept by the client

    response = client.post("/api/v1/chat", json={"text": "halo"}, headers={"Authorization": "Bearer salah"})

    assert response.status_code == 401


# --- updates ---


def test_a_code_sent_later_is_visible_only_through_its_own_session(
    client: TestClient, database: Database
) -> None:
    owner, other = new_token(client), new_token(client)
    client.post("/api/v1/chat", json={"text": "halo"}, headers=bearer(owner))
    owner_sender = sender_of(database, owner)
    notify(client, owner_sender, CODE_NOTICE)

    mine = client.get("/api/v1/chat/updates", headers=bearer(owner))
    theirs = client.get("/api/v1/chat/updates", headers=bearer(other))
    by_path = client.get(f"/api/v1/chat/{owner_sender}/updates", headers=bearer(other))

    assert mine.status_code == 200
    assert [m["text"] for m in mine.json()["messages"]][-1] == CODE_NOTICE
    assert theirs.status_code == 200 and theirs.json() == {"messages": [], "last_id": 0}
    assert by_path.status_code == 404 and "ADU-" not in by_path.text  # the per-sender route is gone
    later = client.get(
        "/api/v1/chat/updates", params={"after": mine.json()["last_id"]}, headers=bearer(owner)
    )
    assert later.json()["messages"] == []


def test_updates_reject_a_negative_after(client: TestClient) -> None:
    response = client.get("/api/v1/chat/updates", params={"after": -1}, headers=bearer(new_token(client)))

    assert response.status_code == 422
    assert response.json()["fields"] == ["after"]


# --- revocation and expiry ---


def test_a_revoked_session_gets_401_and_a_new_one_starts_afresh(
    client: TestClient, database: Database
) -> None:
    token = new_token(client)
    client.post("/api/v1/chat", json={"text": "halo"}, headers=bearer(token))

    ended = client.delete("/api/v1/chat/sessions/current", headers=bearer(token))

    assert ended.status_code == 204
    assert 'layanan_chat=""' in ended.headers["set-cookie"]  # the cookie is cleared too
    with database.session() as session:
        assert session.get_one(WebChatSession, token_hash(token)).revoked_at is not None
    for response in (
        client.post("/api/v1/chat", json={"text": "halo"}, headers=bearer(token)),
        client.get("/api/v1/chat/updates", headers=bearer(token)),
        client.delete("/api/v1/chat/sessions/current", headers=bearer(token)),
    ):
        assert response.status_code == 401 and response.json()["error"] == "invalid_session"
    fresh = new_token(client)
    assert client.get("/api/v1/chat/updates", headers=bearer(fresh)).json()["messages"] == []


def test_an_expired_session_gets_401(client: TestClient, database: Database) -> None:
    token = new_token(client)
    with database.session() as session:
        session.execute(update(WebChatSession).values(expires_at=utcnow() - timedelta(seconds=1)))

    response = client.post("/api/v1/chat", json={"text": "halo"}, headers=bearer(token))

    assert response.status_code == 401 and response.json()["error"] == "invalid_session"
    assert inbound_rows(database) == []


def test_the_ttl_comes_from_the_settings_and_use_slides_the_expiry(
    make_client: ClientFactory, database: Database
) -> None:
    client = make_client(webchat_session_ttl_hours=0.5)
    token = new_token(client)
    hour_ago = utcnow() - timedelta(hours=1)
    with database.session() as session:
        row = session.get_one(WebChatSession, token_hash(token))
        assert timedelta(minutes=29) < row.expires_at - row.created_at <= timedelta(minutes=30)
        # Last used 20 minutes ago: still live, and this use renews it for another 30 minutes.
        row.last_seen_at = utcnow() - timedelta(minutes=20)
        row.expires_at = utcnow() + timedelta(minutes=10)
        row.created_at = hour_ago

    assert client.get("/api/v1/chat/updates", headers=bearer(token)).status_code == 200

    with database.session() as session:
        row = session.get_one(WebChatSession, token_hash(token))
    assert row.expires_at > utcnow() + timedelta(minutes=29)
    assert row.last_seen_at > hour_ago + timedelta(minutes=59)


# --- per-address creation limit ---


def test_session_creation_is_limited_per_address_across_processes(make_client: ClientFactory) -> None:
    first = make_client(webchat_sessions_per_address=2)
    second_process = make_client(webchat_sessions_per_address=2)  # another app on the same database
    other_address = make_client(address="203.0.113.50", webchat_sessions_per_address=2)

    created = [first.post("/api/v1/chat/sessions").status_code for _ in range(2)]
    refused = first.post("/api/v1/chat/sessions")
    refused_elsewhere = second_process.post("/api/v1/chat/sessions")

    assert created == [201, 201]
    for response in (refused, refused_elsewhere):
        assert response.status_code == 429
        assert response.json()["error"] == "too_many_requests"
        assert "Terlalu banyak percakapan baru" in response.json()["detail"]
        assert 3500 <= int(response.headers["retry-after"]) <= 3600
        assert "layanan_chat" not in response.headers.get("set-cookie", "")
    assert other_address.post("/api/v1/chat/sessions").status_code == 201


def test_the_limit_counts_only_the_window(make_client: ClientFactory, database: Database) -> None:
    client = make_client(webchat_sessions_per_address=1, webchat_sessions_window_minutes=10)
    new_token(client)
    with database.session() as session:
        session.execute(update(WebChatSession).values(created_at=utcnow() - timedelta(minutes=11)))

    assert client.post("/api/v1/chat/sessions").status_code == 201
    assert client.post("/api/v1/chat/sessions").status_code == 429


def test_sessions_expired_longer_than_a_window_ago_are_forgotten(
    make_client: ClientFactory, database: Database
) -> None:
    client = make_client(webchat_sessions_window_minutes=60)
    old_expired, old_live, revoked = new_token(client), new_token(client), new_token(client)
    day_ago = utcnow() - timedelta(days=1)
    with database.session() as session:
        session.execute(
            update(WebChatSession)
            .where(WebChatSession.token_hash == token_hash(old_expired))
            .values(created_at=day_ago, expires_at=utcnow() - timedelta(minutes=61))
        )
        session.execute(
            update(WebChatSession)
            .where(WebChatSession.token_hash == token_hash(old_live))
            .values(created_at=day_ago)
        )
    assert client.delete("/api/v1/chat/sessions/current", headers=bearer(revoked)).status_code == 204

    new_token(client)  # issuing a session prunes

    with database.session() as session:
        kept = set(session.scalars(select(WebChatSession.token_hash)))
    assert token_hash(old_expired) not in kept
    assert {token_hash(old_live), token_hash(revoked)} <= kept  # revoked just now: still counts for the limit
    assert client.get("/api/v1/chat/updates", headers=bearer(old_live)).status_code == 200


# --- server-to-server relay ---


def test_the_relay_needs_the_service_token(client: TestClient, database: Database) -> None:
    session_token = new_token(client)
    for headers in ({}, bearer("salah"), bearer(session_token)):
        turn = client.post("/api/v1/chat/relay", json={"sender": "mitra-1", "text": "halo"}, headers=headers)
        updates = client.post("/api/v1/chat/relay/updates", json={"sender": "mitra-1"}, headers=headers)
        assert turn.status_code == updates.status_code == 401
    assert inbound_rows(database) == []


def test_the_relay_names_its_sender_and_reads_its_updates(
    client: TestClient, database: Database, fake_rasa: FakeRasa
) -> None:
    turn = client.post(
        "/api/v1/chat/relay",
        json={"sender": "mitra-1", "text": KTP_QUESTION, "message_id": "m-1"},
        headers=service(),
    )
    notify(client, "mitra-1", CODE_NOTICE)

    updates = client.post("/api/v1/chat/relay/updates", json={"sender": "mitra-1"}, headers=service())
    nobody = client.post("/api/v1/chat/relay/updates", json={"sender": "mitra-2"}, headers=service())

    assert turn.status_code == 200 and turn.json()["messages"][0]["text"].startswith("Syarat KTP-el")
    [inbound] = inbound_rows(database)
    assert (inbound.channel, inbound.sender_id, inbound.platform_message_id) == ("web", "mitra-1", "m-1")
    assert "client_key" not in fake_rasa.webhook_calls[0]["metadata"]
    assert updates.json()["messages"][-1]["text"] == CODE_NOTICE
    assert nobody.json() == {"messages": [], "last_id": 0}


@pytest.mark.parametrize(
    ("path", "body", "code", "field"),
    [
        ("/api/v1/chat/relay", {"text": "halo"}, "missing_field", "sender"),
        ("/api/v1/chat/relay", {"sender": " ", "text": "halo"}, "empty_sender", "sender"),
        ("/api/v1/chat/relay", {"sender": "s" * 129, "text": "halo"}, "sender_too_long", "sender"),
        ("/api/v1/chat/relay", {"sender": "a\x00b", "text": "halo"}, "invalid_sender", "sender"),
        ("/api/v1/chat/relay", {"sender": "w", "text": ""}, "empty_text", "text"),
        ("/api/v1/chat/relay/updates", {"sender": "w", "after": -1}, "invalid_value", "after"),
        ("/api/v1/chat/relay/updates", {"after": 0}, "missing_field", "sender"),
    ],
)
def test_bad_relay_bodies_get_a_clear_422(
    client: TestClient, path: str, body: dict[str, Any], code: str, field: str
) -> None:
    response = client.post(path, json=body, headers=service())

    assert response.status_code == 422
    assert response.json()["error"] == code and response.json()["fields"] == [field]


# --- schema ---


def test_the_migration_builds_the_table_the_model_describes(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "include_object": lambda obj, name, type_, reflected, other: (
                        (name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None))
                        == "webchat_sessions"
                    ),
                },
            )
            assert list(compare_metadata(context, Base.metadata)) == []
    finally:
        engine.dispose()
