"""`POST /api/v1/catalogue/answer`: the service token, polite 4xx errors, answers from the stored catalogue."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bot.api.app import create_app
from bot.catalogue.schema import Catalogue
from bot.catalogue.store import edit_agency, import_catalogue
from bot.db import Database
from bot.settings import Settings
from tests.service.fake_rasa import FakeRasa

TOKEN = "uji-token-layanan-yang-cukup-panjang-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def sqlite_database(sqlite_url: str) -> Iterator[Database]:
    db = Database(sqlite_url)
    yield db
    db.dispose()


@pytest.fixture
def client(sqlite_database: Database, fake_rasa: FakeRasa, catalogue: Catalogue) -> Iterator[TestClient]:
    with sqlite_database.session() as session:
        import_catalogue(session, catalogue, "uji")
    settings = Settings(
        database_url="sqlite://", rasa_url=fake_rasa.url, service_token=TOKEN, catalogue_refresh_seconds=0
    )
    with TestClient(create_app(settings, sqlite_database)) as test_client:
        yield test_client


def test_answers_samsat_days_with_the_open_now_line(client: TestClient) -> None:
    response = client.post("/api/v1/catalogue/answer", json={"text": "samsat buka hari apa?"}, headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert (body["outcome"], body["agency"], body["aspects"]) == ("answered", "samsat", ["hari"])
    (message,) = body["messages"]
    assert message["text"].startswith(
        "SAMSAT Kabupaten Tirtamaya melayani hari Senin–Jumat pukul 08.00–12.00; Sabtu pukul 08.00–11.00 WITA."
    )
    assert "Saat ini (" in message["text"]
    assert "buttons" not in message


def test_a_button_choice_is_answered_and_an_edit_is_live(
    client: TestClient, sqlite_database: Database
) -> None:
    ambiguous = client.post("/api/v1/catalogue/answer", json={"text": "bpjs jam buka"}, headers=AUTH).json()
    assert ambiguous["outcome"] == "ambiguous"
    assert [b["title"] for b in ambiguous["messages"][0]["buttons"]] == [
        "BPJS Kesehatan Kantor Cabang Tirtamaya",
        "BPJS Ketenagakerjaan Kantor Cabang Tirtamaya",
    ]
    with sqlite_database.session() as session:
        edit_agency(session, "bpjs_tk", {"hours": {"senin-kamis": "07.00-12.00"}}, "admin")
    chosen = client.post(
        "/api/v1/catalogue/answer", json={"agency": "bpjs_tk", "aspects": "jam"}, headers=AUTH
    ).json()
    assert chosen["outcome"] == "answered"
    assert "melayani hari Senin–Kamis pukul 07.00–12.00 WITA" in chosen["messages"][0]["text"]


def test_no_match_has_no_messages(client: TestClient) -> None:
    body = client.post("/api/v1/catalogue/answer", json={"text": "lampu jalan mati"}, headers=AUTH).json()
    assert (body["outcome"], body["messages"]) == ("no_match", [])


@pytest.mark.parametrize(
    ("payload", "status", "error", "detail"),
    [
        ({"text": "  "}, 422, "empty_text", "Teks pertanyaan tidak boleh kosong."),
        ({"text": "x" * 4001}, 422, "text_too_long", "Teks terlalu panjang. Panjang maksimal 4000 karakter."),
        ({"text": "samsat", "aspects": ["warna"]}, 422, "unknown_aspect", None),
        ({"text": 5}, 422, "wrong_type", "Kolom 'text' harus berupa teks."),
        ([1, 2], 422, "invalid_body", "Isi permintaan harus berupa objek JSON."),
    ],
)
def test_bad_input_gets_a_polite_4xx(
    client: TestClient, payload: object, status: int, error: str, detail: str | None
) -> None:
    response = client.post("/api/v1/catalogue/answer", json=payload, headers=AUTH)
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    if detail is not None:
        assert body["detail"] == detail
    else:
        assert body["detail"].startswith("Aspek pertanyaan tidak dikenal. Pilihan: jam, hari, tutup")


def test_the_service_token_is_required(client: TestClient) -> None:
    response = client.post("/api/v1/catalogue/answer", json={"text": "samsat"})
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized", "detail": "Token layanan tidak valid."}
    broken = client.post(
        "/api/v1/catalogue/answer",
        content=b"{bukan json",
        headers={**AUTH, "content-type": "application/json"},
    )
    assert (broken.status_code, broken.json()["error"]) == (400, "invalid_json")
