"""Staged media become ticket attachments, only for the identity that sent them, idempotently."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.api.app import create_app
from bot.db import Database
from bot.media import staging
from bot.media.models import Media, MediaKind
from bot.settings import Settings
from bot.tickets.models import Ticket, TicketAttachment, TicketAudit
from tests.channels.helpers import JPEG, PNG
from tests.service.fake_rasa import FakeRasa

TOKEN = "media-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def attachments_dir(tmp_path: Path) -> Path:
    return tmp_path / "attachments"


@pytest.fixture
def client(database: Database, fake_rasa: FakeRasa, attachments_dir: Path) -> Iterator[TestClient]:
    settings = Settings(
        database_url="sqlite://", rasa_url=fake_rasa.url, service_token=TOKEN, attachments_dir=attachments_dir
    )
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


def stage(database: Database, directory: Path, file_id: str, data: bytes, sender_id: str = "5550001") -> int:
    return staging.stage(
        database,
        directory,
        channel="telegram",
        sender_id=sender_id,
        platform_file_id=file_id,
        kind=MediaKind.IMAGE,
        data=data,
        filename="IMG_0001.jpg",
        max_bytes=10 * 1024 * 1024,
        message_id=None,
    ).id


def ticket_body(key: str, attachment_ids: list[Any], sender_id: str = "5550001") -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "channel": "telegram",
        "sender_id": sender_id,
        "category": "infrastruktur",
        "description": "Jalan berlubang besar di depan SDN 3, sudah dua minggu.",
        "attachment_ids": attachment_ids,
    }


def test_staging_the_same_platform_file_twice_keeps_one_row_and_one_file(
    database: Database, attachments_dir: Path
) -> None:
    first = stage(database, attachments_dir, "photo-1", JPEG)
    again = stage(database, attachments_dir, "photo-1", JPEG)

    assert first == again
    assert len([p for p in attachments_dir.rglob("*") if p.is_file()]) == 1
    with database.session() as session:
        media = session.get_one(Media, first)
        assert media.storage_path.startswith("media/telegram/")
        assert media.filename == "IMG_0001.jpg"


def test_a_ticket_links_the_senders_media_as_attachments_once(
    client: TestClient, database: Database, attachments_dir: Path
) -> None:
    photo = stage(database, attachments_dir, "photo-1", JPEG)
    second = stage(database, attachments_dir, "photo-2", PNG)
    same_content = stage(database, attachments_dir, "photo-3", JPEG)  # the same picture sent twice

    # The action server sends the ids as strings (from the slot "12,13").
    body = ticket_body("chat:media-0001", [str(photo), second, same_content])
    created = client.post("/api/v1/tickets", json=body, headers=AUTH)
    repeated = client.post("/api/v1/tickets", json=body, headers=AUTH)

    assert created.status_code == 201, created.text
    assert created.json()["attachments_count"] == 2
    assert repeated.status_code == 200
    assert repeated.json()["attachments_count"] == 2
    with database.session() as session:
        ticket = session.scalars(select(Ticket)).one()
        attachments = session.scalars(select(TicketAttachment).order_by(TicketAttachment.id)).all()
        media = {m.id: m for m in session.scalars(select(Media)).all()}
        audit = session.scalars(select(TicketAudit.action).where(TicketAudit.ticket_id == ticket.id)).all()
    assert [(a.sha256, a.content_type) for a in attachments] == [
        (hashlib.sha256(JPEG).hexdigest(), "image/jpeg"),
        (hashlib.sha256(PNG).hexdigest(), "image/png"),
    ]
    assert attachments[0].storage_path == media[photo].storage_path  # the same stored file, not a copy
    assert (attachments_dir / attachments[0].storage_path).read_bytes() == JPEG
    assert media[photo].ticket_id == ticket.id and media[second].ticket_id == ticket.id
    assert audit == ["created", "attachment_added", "attachment_added"]


def test_a_repeat_links_media_the_first_request_did_not_carry(
    client: TestClient, database: Database, attachments_dir: Path
) -> None:
    photo = stage(database, attachments_dir, "photo-1", JPEG)
    assert (
        client.post("/api/v1/tickets", json=ticket_body("chat:media-0002", []), headers=AUTH).status_code
        == 201
    )

    again = client.post("/api/v1/tickets", json=ticket_body("chat:media-0002", [photo]), headers=AUTH)

    assert again.status_code == 200
    assert again.json()["attachments_count"] == 1


def test_another_senders_media_is_refused_and_no_ticket_is_filed(
    client: TestClient, database: Database, attachments_dir: Path
) -> None:
    own = stage(database, attachments_dir, "photo-1", JPEG)
    foreign = stage(database, attachments_dir, "photo-9", PNG, sender_id="6660001")

    response = client.post(
        "/api/v1/tickets", json=ticket_body("chat:media-0003", [own, foreign]), headers=AUTH
    )
    unknown = client.post("/api/v1/tickets", json=ticket_body("chat:media-0004", [own, 999999]), headers=AUTH)

    assert response.status_code == 422
    assert response.json()["fields"] == ["attachment_ids"]
    assert "Lampiran tidak ditemukan" in response.json()["detail"]
    assert unknown.status_code == 422
    with database.session() as session:
        assert session.scalar(select(func.count(Ticket.id))) == 0
        assert session.scalar(select(func.count(TicketAttachment.id))) == 0
        assert session.get_one(Media, foreign).ticket_id is None


def test_more_than_ten_ids_are_refused(client: TestClient) -> None:
    response = client.post(
        "/api/v1/tickets", json=ticket_body("chat:media-0005", list(range(1, 12))), headers=AUTH
    )
    assert response.status_code == 422
