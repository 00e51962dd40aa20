"""`POST /api/v1/triage` over HTTP, with a real fake Rasa on loopback or no Rasa at all."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.api import triage as triage_api
from bot.api.app import create_app
from bot.settings import Settings
from bot.triage.categories import CATEGORY_CODES, CATEGORY_LABELS
from bot.triage.model import TriageClassifier, load_classifier

# `fake_rasa` (conftest.py) is a FakeRasa: a real HTTP server on loopback answering /model/parse.
TOKEN = "test-service-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
COMPLAINT = "Jalan di depan pasar rusak parah, banyak lubang dan motor sering jatuh. Mohon segera diperbaiki."


def _closed_port_url() -> str:
    # A port that was just free: nothing listens there, so connecting is refused at once.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def build_app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def make_client(classifier: TriageClassifier) -> Iterator[Callable[[str], TestClient]]:
    clients: list[TestClient] = []

    def make(rasa_url: str) -> TestClient:
        app = build_app(Settings(rasa_url=rasa_url, service_token=TOKEN, database_url="sqlite://"))
        app.state.triage_classifier = classifier
        client = TestClient(app)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_intent_from_rasa_and_category_from_the_classifier(
    make_client: Callable[[str], TestClient], fake_rasa: Any
) -> None:
    response = make_client(fake_rasa.url).post("/api/v1/triage", json={"text": COMPLAINT}, headers=AUTH)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["intent"] == "file_complaint"
    assert body["intent_confidence"] == pytest.approx(0.91)
    assert body["intent_available"] is True
    assert body["category"] == "infrastruktur"
    assert body["category_label"] == CATEGORY_LABELS["infrastruktur"]
    assert 0 < body["confidence"] <= 1
    assert body["low_confidence"] is (body["confidence"] < 0.35)
    assert body["alternatives"][0]["category"] == "infrastruktur"
    assert len(body["alternatives"]) == 3
    assert all(a["category"] in CATEGORY_CODES for a in body["alternatives"])
    # Rasa got the citizen's text unchanged.
    assert fake_rasa.requests == [("/model/parse", {"text": COMPLAINT})]


def test_other_intents_pass_through(make_client: Callable[[str], TestClient], fake_rasa: Any) -> None:
    fake_rasa.body = {"intent": {"name": "faq", "confidence": 0.8}, "response_selector": {}}
    client = make_client(fake_rasa.url)
    body = client.post("/api/v1/triage", json={"text": "cara bikin ktp"}, headers=AUTH).json()
    assert body["intent"] == "faq"
    assert body["category"] in CATEGORY_CODES


def test_rasa_unreachable_still_gives_the_category(make_client: Callable[[str], TestClient]) -> None:
    response = make_client(_closed_port_url()).post("/api/v1/triage", json={"text": COMPLAINT}, headers=AUTH)

    assert response.status_code == 200
    body = response.json()
    assert body["intent"] == "unknown"
    assert body["intent_available"] is False
    assert body["intent_confidence"] is None
    assert body["category"] == "infrastruktur"


@pytest.mark.parametrize(
    ("status", "body"), [(500, {"error": "boom"}), (200, b"not json"), (200, {"intent": None})]
)
def test_rasa_errors_give_unknown_intent(
    make_client: Callable[[str], TestClient], fake_rasa: Any, status: int, body: object
) -> None:
    fake_rasa.status, fake_rasa.body = status, body
    response = make_client(fake_rasa.url).post("/api/v1/triage", json={"text": COMPLAINT}, headers=AUTH)
    assert response.status_code == 200
    assert response.json()["intent"] == "unknown"
    assert response.json()["intent_available"] is False


def test_slow_rasa_times_out(
    make_client: Callable[[str], TestClient], fake_rasa: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(triage_api, "RASA_PARSE_TIMEOUT_SECONDS", 0.2)
    fake_rasa.delay_seconds = 1.0
    response = make_client(fake_rasa.url).post("/api/v1/triage", json={"text": COMPLAINT}, headers=AUTH)
    assert response.status_code == 200
    assert response.json()["intent"] == "unknown"


@pytest.mark.parametrize(
    ("payload", "error", "detail"),
    [
        ({"text": ""}, "empty_text", "Teks aduan tidak boleh kosong."),
        ({"text": "  \n\t "}, "empty_text", "Teks aduan tidak boleh kosong."),
        (
            {"text": "a" * 4001},
            "text_too_long",
            "Teks aduan terlalu panjang. Panjang maksimal 4000 karakter.",
        ),
        ({}, "missing_field", "Kolom 'text' wajib diisi."),
        ({"text": None}, "wrong_type", "Kolom 'text' harus berupa teks."),
        ({"text": ["jalan rusak"]}, "wrong_type", "Kolom 'text' harus berupa teks."),
    ],
)
def test_bad_text_is_rejected_in_indonesian(
    make_client: Callable[[str], TestClient], fake_rasa: Any, payload: dict[str, Any], error: str, detail: str
) -> None:
    response = make_client(fake_rasa.url).post("/api/v1/triage", json=payload, headers=AUTH)
    assert response.status_code == 422
    assert response.json() == {"error": error, "detail": detail, "fields": ["text"]}
    assert fake_rasa.requests == []


def test_body_that_is_not_json_is_rejected(make_client: Callable[[str], TestClient], fake_rasa: Any) -> None:
    response = make_client(fake_rasa.url).post(
        "/api/v1/triage", content=b"{text: jalan", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert fake_rasa.requests == []


def test_longest_allowed_text_is_accepted(make_client: Callable[[str], TestClient], fake_rasa: Any) -> None:
    text = (COMPLAINT + " ") * 60
    text = text[:4000]
    response = make_client(fake_rasa.url).post("/api/v1/triage", json={"text": text}, headers=AUTH)
    assert response.status_code == 200
    assert response.json()["category"] == "infrastruktur"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_service_token_is_required(
    make_client: Callable[[str], TestClient], fake_rasa: Any, headers: dict[str, str]
) -> None:
    response = make_client(fake_rasa.url).post("/api/v1/triage", json={"text": COMPLAINT}, headers=headers)
    assert response.status_code == 401
    assert fake_rasa.requests == []


def test_classifier_is_loaded_once_per_app(
    data_dir: Path, model_cache_dir: Path, fake_rasa: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[TriageClassifier] = []

    def load() -> TriageClassifier:
        loads.append(load_classifier(data_dir, model_cache_dir))
        return loads[-1]

    monkeypatch.setattr(triage_api, "load_classifier", load)
    app = build_app(Settings(rasa_url=fake_rasa.url, service_token=TOKEN, database_url="sqlite://"))
    with TestClient(app) as client:
        for _ in range(3):
            assert client.post("/api/v1/triage", json={"text": COMPLAINT}, headers=AUTH).status_code == 200

    assert len(loads) == 1
    assert app.state.triage_classifier is loads[0]
