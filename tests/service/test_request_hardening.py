"""Bad input of any kind is a polite 4xx, never a 500: integers beyond the database's range, NUL in URLs,
deeply nested JSON, oversized bodies (refused before they are read), and the security headers every
response carries. On SQLite and PostgreSQL (PostgreSQL is the one that raised DataError)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.api.app import create_app
from bot.api.request_limits import RequestLimits
from bot.conversations.models import Message
from bot.db import Database
from bot.ids import INT32_MAX, INT64_MAX
from bot.modelops import registry
from bot.settings import Settings
from tests.service.fake_rasa import FakeRasa

TOKEN = "hardening-test-service-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HUGE = "99999999999999999999999"


def _settings(database: Database, fake_rasa: FakeRasa, **overrides: object) -> Settings:
    return Settings(
        database_url=str(database.engine.url), rasa_url=fake_rasa.url, service_token=TOKEN, **overrides
    )


@pytest.fixture
def client(database: Database, fake_rasa: FakeRasa) -> Iterator[TestClient]:
    with TestClient(create_app(_settings(database, fake_rasa), database)) as test_client:
        yield test_client


def _messages(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(Message)) or 0)


def _is_polite_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error", "detail"} and body["detail"]
    if code is not None:
        assert body["error"] == code


# --- integers beyond the database's range ---------------------------------------------------------------


@pytest.mark.parametrize("after", [HUGE, str(INT64_MAX + 1)])
def test_updates_after_beyond_bigint_is_422(client: TestClient, after: str) -> None:
    session = client.post("/api/v1/chat/sessions").json()["token"]
    bearer = {"Authorization": f"Bearer {session}"}
    response = client.get(f"/api/v1/chat/updates?after={after}", headers=bearer)
    _is_polite_error(response, 422)
    assert response.json()["fields"] == ["after"]
    relayed = client.post(
        "/api/v1/chat/relay/updates", json={"sender": "web-1", "after": int(after)}, headers=AUTH
    )
    _is_polite_error(relayed, 422)
    # The largest BIGINT is still a valid position (nothing newer).
    edge = client.get(f"/api/v1/chat/updates?after={INT64_MAX}", headers=bearer)
    assert edge.status_code == 200
    assert edge.json() == {"messages": [], "last_id": INT64_MAX}


@pytest.mark.parametrize("deployment_id", [HUGE, str(INT32_MAX + 1)])
def test_huge_deployment_id_is_422(client: TestClient, deployment_id: str) -> None:
    response = client.get(f"/api/v1/models/deployments/{deployment_id}", headers=AUTH)
    _is_polite_error(response, 422)
    edge = client.get(f"/api/v1/models/deployments/{INT32_MAX}", headers=AUTH)
    _is_polite_error(edge, 404)


@pytest.mark.parametrize("ref", [HUGE, str(INT32_MAX + 1), "²"])
def test_model_lookup_by_a_number_outside_the_id_range_finds_nothing(database: Database, ref: str) -> None:
    with database.session() as session:
        assert registry.find_model(session, ref) is None


def test_huge_attachment_ids_in_a_new_ticket_are_422(client: TestClient) -> None:
    notice = client.get("/api/v1/privacy-notice", headers=AUTH).json()
    ticket = {
        "idempotency_key": "hardening-1",
        "channel": "web",
        "sender_id": "web-1",
        "category": "infrastruktur",
        "description": "Jalan berlubang di depan pasar.",
        "consent": {"text_version": notice["version"], "text_sha256": notice["sha256"]},
    }
    response = client.post(
        "/api/v1/tickets", json={**ticket, "attachment_ids": [INT64_MAX + 1]}, headers=AUTH
    )
    _is_polite_error(response, 422)
    assert response.json()["fields"] == ["attachment_ids.0"]
    response = client.post("/api/v1/tickets", json={**ticket, "attachment_ids": [INT64_MAX]}, headers=AUTH)
    _is_polite_error(response, 422)  # in range: refused by the service (no such attachment), not the database
    assert response.json()["fields"] == ["attachment_ids"]


# --- NUL in URLs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/tickets/ADU-ABCDEFGH?channel=web&sender_id=a%00b",
        "/api/v1/reporters/web/a%00b/tickets",
        "/api/v1/tickets/ADU-%00?channel=web&sender_id=a",
        "/api/v1/chat/a%00b/updates",
    ],
)
def test_nul_in_a_url_is_400(client: TestClient, url: str) -> None:
    response = client.get(url, headers=AUTH)
    _is_polite_error(response, 400, "invalid_characters")
    assert response.json()["detail"] == "Alamat permintaan mengandung karakter yang tidak diizinkan."


# --- body size ---------------------------------------------------------------------------------------


def test_a_declared_oversized_chat_body_is_413_before_reading(client: TestClient, database: Database) -> None:
    body = b'{"sender":"web-1","text":"' + b"a" * (10 * 1024 * 1024) + b'"}'
    response = client.post("/api/v1/chat", content=body, headers={"Content-Type": "application/json"})
    _is_polite_error(response, 413, "payload_too_large")
    assert response.json()["detail"] == "Isi permintaan terlalu besar."
    assert _messages(database) == 0


@pytest.fixture
async def asgi_client(database: Database, fake_rasa: FakeRasa) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(_settings(database, fake_rasa, request_max_bytes=64 * 1024), database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
        yield http


async def test_a_streamed_body_is_cut_off_once_it_passes_the_cap(
    asgi_client: httpx.AsyncClient, database: Database
) -> None:
    """No Content-Length (chunked): the server reads only until the cap, not the 10 MB sent."""
    chunk = b"a" * 1024
    sent = 0

    async def ten_megabytes() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"sender":"web-1","text":"'
        for _ in range(10 * 1024):
            sent += 1
            yield chunk
        yield b'"}'

    response = await asgi_client.post(
        "/api/v1/chat", content=ten_megabytes(), headers={"Content-Type": "application/json"}
    )
    _is_polite_error(response, 413, "payload_too_large")
    assert sent <= 64 + 1  # 64 KiB read, then the first byte past the cap: the stream was not drained
    assert _messages(database) == 0


async def test_uploads_keep_their_own_larger_cap(asgi_client: httpx.AsyncClient) -> None:
    # 100 KB of chat is past REQUEST_MAX_BYTES (64 KiB here); a 1 MB upload is within ATTACHMENT_MAX_BYTES.
    chat = await asgi_client.post("/api/v1/chat", json={"sender": "web-1", "text": "a" * 100_000})
    _is_polite_error(chat, 413, "payload_too_large")
    response = await asgi_client.post(
        "/api/v1/tickets/ADU-ABCDEFGH/attachments",
        data={"channel": "web", "sender_id": "web-1"},
        files={"file": ("foto.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 1_000_000, "image/png")},
        headers=AUTH,
    )
    _is_polite_error(response, 404)  # read whole, then: no such ticket for this reporter


def test_route_caps_match_the_whole_path() -> None:
    limits = RequestLimits(
        lambda *_: None,  # type: ignore[arg-type,return-value]
        max_body_bytes=100,
        route_limits=[(r"/api/v1/tickets/[^/]+/attachments", 5_000)],
    )
    assert limits.limit_for("/api/v1/tickets/ADU-1/attachments") == 5_000
    assert limits.limit_for("/api/v1/tickets/ADU-1/attachments/x") == 100
    assert limits.limit_for("/api/v1/chat") == 100


# --- security headers --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/dashboard/masuk", "/transparansi", "/api/v1/categories", "/tidak-ada"])
def test_every_response_carries_the_security_headers(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    policy = headers["content-security-policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    assert "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_the_api_docs_page_gets_a_policy_that_lets_swagger_ui_load(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY"


def test_errors_from_the_limits_carry_the_headers_too(client: TestClient) -> None:
    response = client.get("/api/v1/chat/a%00b/updates")
    assert response.status_code == 400
    assert response.headers["x-content-type-options"] == "nosniff"
