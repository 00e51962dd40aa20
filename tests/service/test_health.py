"""`GET /health`: 200 only when the database and Rasa both answer; otherwise 503 saying which is down."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bot.api.app import create_app
from bot.db import Database
from bot.gateway import rasa_client
from bot.settings import Settings
from tests.service.fake_rasa import FakeRasa

# Nothing listens on port 1: connecting is refused at once.
UNREACHABLE_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:1/layanan"


def health(database: Database, rasa_url: str) -> tuple[int, dict[str, object]]:
    app = create_app(Settings(database_url="sqlite://", rasa_url=rasa_url), database)
    with TestClient(app) as client:
        response = client.get("/health")
    return response.status_code, response.json()


def test_healthy_when_database_and_rasa_answer(sqlite_database: Database, fake_rasa: FakeRasa) -> None:
    status, body = health(sqlite_database, fake_rasa.url)

    assert status == 200
    assert body == {
        "status": "ok",
        "checks": {"database": "ok", "rasa": "ok"},
        "rasa_model": "20260101-120000-ci.tar.gz",
    }


def test_rasa_down_is_a_503_naming_rasa(sqlite_database: Database, closed_port_url: str) -> None:
    status, body = health(sqlite_database, closed_port_url)

    assert status == 503
    assert body["checks"] == {"database": "ok", "rasa": "down"}
    assert body["error"] == "service_unavailable"
    assert "Rasa" in str(body["detail"]) and "basis data" not in str(body["detail"])


def test_rasa_without_a_model_is_down(sqlite_database: Database, fake_rasa: FakeRasa) -> None:
    fake_rasa.mode = "no_model"

    status, body = health(sqlite_database, fake_rasa.url)

    assert status == 503
    assert body["checks"] == {"database": "ok", "rasa": "down"}


def test_hanging_rasa_does_not_hang_the_health_check(
    sqlite_database: Database, fake_rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rasa_client, "STATUS_TIMEOUT_SECONDS", 0.3)
    fake_rasa.mode = "hang"

    started = time.monotonic()
    status, body = health(sqlite_database, fake_rasa.url)

    assert time.monotonic() - started < 3
    assert status == 503
    assert body["checks"] == {"database": "ok", "rasa": "down"}


@pytest.fixture
def unreachable_database() -> Iterator[Database]:
    database = Database(UNREACHABLE_POSTGRES)
    yield database
    database.dispose()


def test_database_down_is_a_503_naming_the_database(
    unreachable_database: Database, fake_rasa: FakeRasa
) -> None:
    status, body = health(unreachable_database, fake_rasa.url)

    assert status == 503
    assert body["checks"] == {"database": "down", "rasa": "ok"}
    assert "basis data" in str(body["detail"])


def test_both_down(unreachable_database: Database, closed_port_url: str) -> None:
    status, body = health(unreachable_database, closed_port_url)

    assert status == 503
    assert body["checks"] == {"database": "down", "rasa": "down"}
    assert "basis data" in str(body["detail"]) and "Rasa" in str(body["detail"])
