"""The ticket API through the real application (create_app) on a SQLite file."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ticket_helpers import create_ticket_tables

from bot.api.app import create_app
from bot.db import Database
from bot.settings import Settings
from bot.tickets import service
from bot.tickets.ratelimit import MissLimiter
from bot.tickets.sla import WorkingCalendar

TOKEN = "test-service-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 300
NOT_FOUND = {"error": "not_found", "detail": "Laporan tidak ditemukan untuk akun Anda."}
DATE_LABEL = re.compile(
    r"^(Senin|Selasa|Rabu|Kamis|Jumat|Sabtu|Minggu), \d{1,2} "
    r"(Januari|Februari|Maret|April|Mei|Juni|Juli|Agustus|September|Oktober|November|Desember) \d{4}$"
)


@pytest.fixture
def app_parts(tmp_path: Path) -> Iterator[tuple[TestClient, Database, Settings]]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'api.db'}",
        service_token=TOKEN,
        attachments_dir=tmp_path / "files",
        attachment_max_bytes=32 * 1024,
    )
    database = Database(settings.database_url)
    create_ticket_tables(database)
    with TestClient(create_app(settings, database)) as client:
        yield client, database, settings
    database.dispose()


@pytest.fixture
def client(app_parts: tuple[TestClient, Database, Settings]) -> TestClient:
    return app_parts[0]


def body(key: str = "tg:111:1001", sender: str = "111", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "idempotency_key": key,
        "channel": "telegram",
        "sender_id": sender,
        "category": "infrastruktur",
        "description": "Lampu jalan di Jl. Melati mati sejak seminggu, rawan kecelakaan malam hari.",
        "location_text": "Jl. Melati, RT 03/RW 05",
    }
    data.update(overrides)
    return data


def file_ticket(client: TestClient, **kw: Any) -> dict[str, Any]:
    response = client.post("/api/v1/tickets", json=body(**kw), headers=AUTH)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_every_route_needs_the_service_token(client: TestClient) -> None:
    for method, path in [
        ("post", "/api/v1/tickets"),
        ("get", "/api/v1/tickets/ADU-00000000?channel=telegram&sender_id=1"),
        ("get", "/api/v1/reporters/telegram/1/tickets"),
        ("post", "/api/v1/tickets/ADU-00000000/messages"),
        ("post", "/api/v1/tickets/ADU-00000000/attachments"),
        ("get", "/api/v1/privacy-notice"),
    ]:
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            assert client.request(method, path, headers=headers).status_code == 401, (method, path)


def test_create_returns_the_ticket_in_indonesian(client: TestClient) -> None:
    created = file_ticket(client)
    assert re.fullmatch(r"ADU-[0-9A-HJKMNP-TV-Z]{8}", created["code"])
    assert created["status"] == "belum_diverifikasi" and created["status_label"] == "Belum diverifikasi"
    assert created["unit"] == "Dinas Pekerjaan Umum dan Penataan Ruang"
    assert created["category"] == "infrastruktur" and created["category_label"] == "Infrastruktur"
    assert created["is_confidential"] is True and created["latest_officer_answer"] is None
    deadlines = created["deadlines"]
    assert deadlines["paused"] is False
    calendar = WorkingCalendar()
    today = date.fromisoformat(created["created_at"][:10])
    for name in ("verification", "first_response", "resolution"):
        assert DATE_LABEL.match(deadlines[name]["due_label"]), deadlines[name]
        assert deadlines[name]["overdue"] is False and deadlines[name]["met_at"] is None
    verification_day = date.fromisoformat(deadlines["verification"]["due_date"])
    assert calendar.is_working_day(verification_day) and verification_day > today
    resolution_day = date.fromisoformat(deadlines["resolution"]["due_date"])
    assert resolution_day - date.fromisoformat(deadlines["verification"]["due_date"]) > timedelta(days=50)


def test_create_is_idempotent(client: TestClient) -> None:
    first = file_ticket(client)
    again = client.post(
        "/api/v1/tickets", json=body(description="Dikirim ulang oleh jaringan."), headers=AUTH
    )
    assert again.status_code == 200 and again.json()["code"] == first["code"]
    listed = client.get("/api/v1/reporters/telegram/111/tickets", headers=AUTH).json()["tickets"]
    assert [t["code"] for t in listed] == [first["code"]]
    other = client.post("/api/v1/tickets", json=body(sender="222"), headers=AUTH)
    assert other.status_code == 409 and other.json()["error"] == "conflict"


INVALID_BODIES: list[tuple[dict[str, Any], str]] = [
    ({"description": "x" * 4001}, "description"),
    ({"description": ""}, "description"),
    ({"category": "cuaca"}, "category"),
    ({"latitude": 91, "longitude": 100}, "latitude"),
    ({"latitude": -6.2}, "latitude"),
    ({"incident_date": (date.today() + timedelta(days=2)).isoformat()}, "incident_date"),
    ({"incident_date": "1930-12-11"}, "incident_date"),  # the misread "2026-11-30" of the chat form
    ({"reporter_phone": "555-1234"}, "reporter_phone"),
    ({"channel": "Telegram!"}, "channel"),
    ({"idempotency_key": "short"}, "idempotency_key"),
    ({"consent": {"text_version": "v1", "text_sha256": "abc"}}, "consent.text_sha256"),
]


def test_invalid_bodies_are_refused(client: TestClient) -> None:
    for override, field in INVALID_BODIES:
        response = client.post("/api/v1/tickets", json=body(**override), headers=AUTH)
        assert response.status_code == 422, (override, response.text)
        assert field in response.json()["fields"], (override, response.json())
        assert response.json()["detail"]  # an Indonesian sentence, never empty
    assert client.get("/api/v1/reporters/telegram/111/tickets", headers=AUTH).json()["tickets"] == []


def test_phone_and_consent_are_recorded(app_parts: tuple[TestClient, Database, Settings]) -> None:
    client, database, _ = app_parts
    notice = client.get("/api/v1/privacy-notice", headers=AUTH).json()
    assert hashlib.sha256(notice["text"].encode()).hexdigest() == notice["sha256"]
    created = file_ticket(
        client,
        reporter_name="Budi",
        reporter_phone="0812 3456 7890",
        consent={"text_version": notice["version"], "text_sha256": notice["sha256"]},
    )
    with database.session() as session:
        ticket = service.get_ticket_by_code(session, created["code"])
        assert ticket is not None and ticket.reporter_phone == "+6281234567890"
        assert ticket.consent is not None and ticket.consent.text_sha256 == notice["sha256"]
        assert ticket.consent.channel == "telegram"


def test_status_only_for_the_reporter(client: TestClient) -> None:
    code = file_ticket(client)["code"]
    own = client.get(
        f"/api/v1/tickets/{code}", params={"channel": "telegram", "sender_id": "111"}, headers=AUTH
    )
    assert own.status_code == 200 and own.json()["description"].startswith("Lampu jalan")
    # Lenient with what people type.
    typed = client.get(
        f"/api/v1/tickets/{code.lower().replace('-', ' ')}",
        params={"channel": "telegram", "sender_id": "111"},
        headers=AUTH,
    )
    assert typed.status_code == 200
    others = [
        client.get(
            f"/api/v1/tickets/{code}", params={"channel": "telegram", "sender_id": "222"}, headers=AUTH
        ),
        client.get(
            f"/api/v1/tickets/{code}", params={"channel": "whatsapp", "sender_id": "111"}, headers=AUTH
        ),
        client.get(
            "/api/v1/tickets/ADU-00000000", params={"channel": "telegram", "sender_id": "222"}, headers=AUTH
        ),
    ]
    for response in others:
        # Same answer for "someone else's" and "does not exist": nothing leaks.
        assert response.status_code == 404 and response.json() == NOT_FOUND
    assert client.get("/api/v1/reporters/telegram/222/tickets", headers=AUTH).json() == {"tickets": []}
    posted = client.post(
        f"/api/v1/tickets/{code}/messages",
        json={"channel": "telegram", "sender_id": "222", "text": "hai"},
        headers=AUTH,
    )
    assert posted.status_code == 404 and posted.json() == NOT_FOUND


def test_wrong_codes_are_rate_limited(client: TestClient) -> None:
    code = file_ticket(client)["code"]
    probe = {"channel": "telegram", "sender_id": "111"}
    for n in range(5):
        assert client.get(f"/api/v1/tickets/ADU-0000000{n}", params=probe, headers=AUTH).status_code == 404
    blocked = client.get(f"/api/v1/tickets/{code}", params=probe, headers=AUTH)  # even the right code now
    assert blocked.status_code == 429
    assert blocked.json()["error"] == "too_many_requests"
    assert "Terlalu banyak percobaan" in blocked.json()["detail"] and "10 menit" in blocked.json()["detail"]
    assert 0 < int(blocked.headers["Retry-After"]) <= 600
    # Another sender is not affected.
    other = client.get(
        f"/api/v1/tickets/{code}", params={"channel": "telegram", "sender_id": "999"}, headers=AUTH
    )
    assert other.status_code == 404


def test_rate_limit_window_expires(app_parts: tuple[TestClient, Database, Settings]) -> None:
    client, _, _ = app_parts
    now = [1000.0]
    client.app.state.ticket_lookup_limiter = MissLimiter(5, 600, clock=lambda: now[0])  # type: ignore[attr-defined]
    code = file_ticket(client)["code"]
    probe = {"channel": "telegram", "sender_id": "111"}
    for _ in range(5):
        client.get("/api/v1/tickets/ADU-11111111", params=probe, headers=AUTH)
        now[0] += 60
    # Misses at t = 1000, 1060, ..., 1240; now t = 1300: blocked until the first leaves the window (t = 1600).
    blocked = client.get(f"/api/v1/tickets/{code}", params=probe, headers=AUTH)
    assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "300"
    now[0] = 1599.0
    assert client.get(f"/api/v1/tickets/{code}", params=probe, headers=AUTH).status_code == 429
    now[0] = 1601.0  # four misses remain in the window: below the limit again
    assert client.get(f"/api/v1/tickets/{code}", params=probe, headers=AUTH).status_code == 200


def test_fresh_web_senders_from_one_address_cannot_escape_the_wrong_code_limit(
    app_parts: tuple[TestClient, Database, Settings],
) -> None:
    client, _, _ = app_parts
    client.app.state.ticket_lookup_client_limiter = MissLimiter(3, 600)  # type: ignore[attr-defined]
    code = file_ticket(client, channel="web", sender="ws-owner", key="web:owner:1")["code"]

    def probe(sender: str, ticket_code: str, key: str | None = "kunci-alamat-1") -> int:
        params = {"channel": "web", "sender_id": sender, **({"client_key": key} if key else {})}
        return client.get(f"/api/v1/tickets/{ticket_code}", params=params, headers=AUTH).status_code

    # One miss each from three new web-chat sessions on the same address ...
    assert [probe(f"ws-new-{i}", "ADU-11111111") for i in range(3)] == [404, 404, 404]
    # ... and a fourth new session from that address is refused before any look-up, even its own ticket.
    assert probe("ws-new-4", "ADU-22222222") == 429
    assert probe("ws-owner", code) == 429
    # Another address, and a lookup that carries no client key (messaging channels), are not affected.
    assert probe("ws-owner", code, key="kunci-alamat-2") == 200
    assert probe("ws-new-5", "ADU-33333333", key=None) == 404


def test_the_per_address_limit_comes_from_the_settings(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'limit.db'}")
    create_ticket_tables(database)
    app = create_app(
        Settings(database_url="sqlite://", service_token=TOKEN, ticket_lookup_max_misses_per_address=2),
        database,
    )
    with TestClient(app) as client:
        statuses = [
            client.get(
                "/api/v1/tickets/ADU-11111111",
                params={"channel": "web", "sender_id": f"ws-{i}", "client_key": "k"},
                headers=AUTH,
            ).status_code
            for i in range(3)
        ]
    database.dispose()
    assert statuses == [404, 404, 429]


def test_messages_and_officer_answer(app_parts: tuple[TestClient, Database, Settings]) -> None:
    client, database, _ = app_parts
    code = file_ticket(client)["code"]
    message = {
        "channel": "telegram",
        "sender_id": "111",
        "text": "Tiangnya nomor 12.",
        "external_id": "tg-77",
    }
    first = client.post(f"/api/v1/tickets/{code}/messages", json=message, headers=AUTH)
    assert first.status_code == 201 and first.json()["author_kind"] == "citizen"
    assert client.post(f"/api/v1/tickets/{code}/messages", json=message, headers=AUTH).status_code == 200
    too_long = {**message, "external_id": None, "text": "x" * 4001}
    assert client.post(f"/api/v1/tickets/{code}/messages", json=too_long, headers=AUTH).status_code == 422
    with database.session() as session:
        ticket = service.get_ticket_by_code(session, code)
        assert ticket is not None and len(ticket.messages) == 1
        service.add_officer_message(
            session, ticket, "Terima kasih, Bapak/Ibu. Petugas akan memeriksa.", "ani"
        )
    status = client.get(
        f"/api/v1/tickets/{code}", params={"channel": "telegram", "sender_id": "111"}, headers=AUTH
    )
    answer = status.json()["latest_officer_answer"]
    assert answer["text"].startswith("Terima kasih") and answer["created_label"].endswith("WIB")
    assert status.json()["deadlines"]["first_response"]["met_at"] is not None


def test_attachment_upload_is_sniffed(app_parts: tuple[TestClient, Database, Settings]) -> None:
    client, _, settings = app_parts
    code = file_ticket(client)["code"]
    form = {"channel": "telegram", "sender_id": "111"}
    ok = client.post(
        f"/api/v1/tickets/{code}/attachments",
        data=form,
        files={"file": ("lampu.jpg", JPEG, "image/jpeg")},
        headers=AUTH,
    )
    assert ok.status_code == 201, ok.text
    assert (
        ok.json()["content_type"] == "image/jpeg" and ok.json()["sha256"] == hashlib.sha256(JPEG).hexdigest()
    )
    html = b"<html><body><script>document.location='http://x'</script></body></html>"
    fake = client.post(
        f"/api/v1/tickets/{code}/attachments",
        data=form,
        files={"file": ("foto.jpg", html, "image/jpeg")},
        headers=AUTH,
    )
    assert fake.status_code == 415 and fake.json()["error"] == "unsupported_media_type"
    assert "JPG/PNG" in fake.json()["detail"]
    big = client.post(
        f"/api/v1/tickets/{code}/attachments",
        data=form,
        files={"file": ("besar.jpg", JPEG + b"\x00" * (32 * 1024), "image/jpeg")},
        headers=AUTH,
    )
    assert big.status_code == 413
    stored = [p for p in settings.attachments_dir.rglob("*") if p.is_file()]
    assert [p.read_bytes() for p in stored] == [JPEG]
    status = client.get(f"/api/v1/tickets/{code}", params=form, headers=AUTH).json()
    assert status["attachments_count"] == 1
    stranger = client.post(
        f"/api/v1/tickets/{code}/attachments",
        data={"channel": "telegram", "sender_id": "222"},
        files={"file": ("lampu.jpg", JPEG, "image/jpeg")},
        headers=AUTH,
    )
    assert stranger.status_code == 404 and stranger.json() == NOT_FOUND
