"""Shared fixtures of the triage tests: the real training data, a trained classifier, a fake Rasa server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot.triage.model import DEFAULT_DATA_DIR, TriageClassifier, load_classifier

HELDOUT_FILE = Path(__file__).parent / "data" / "messy_complaints.yml"


@pytest.fixture(scope="session")
def heldout_file() -> Path:
    return HELDOUT_FILE


@pytest.fixture(scope="session")
def data_dir() -> Path:
    assert DEFAULT_DATA_DIR.is_dir(), f"training data missing: {DEFAULT_DATA_DIR}"
    return DEFAULT_DATA_DIR


@pytest.fixture(scope="session")
def model_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("triage-cache")


@pytest.fixture(scope="session")
def classifier(data_dir: Path, model_cache_dir: Path) -> TriageClassifier:
    """Trained once per session on the real training files (into a temporary cache, not var/)."""
    return load_classifier(data_dir, model_cache_dir)


@dataclass
class FakeRasa:
    """A real HTTP server on 127.0.0.1 that answers `POST /model/parse` like Rasa does."""

    url: str = ""
    status: int = 200
    body: Any = field(
        default_factory=lambda: {"intent": {"name": "file_complaint", "confidence": 0.91}, "entities": []}
    )
    delay_seconds: float = 0.0
    requests: list[tuple[str, Any]] = field(default_factory=list)


def _handler(fake: FakeRasa) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            fake.requests.append((self.path, json.loads(self.rfile.read(length) or b"null")))
            time.sleep(fake.delay_seconds)
            payload = fake.body if isinstance(fake.body, bytes) else json.dumps(fake.body).encode()
            self.send_response(fake.status if self.path == "/model/parse" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
            pass

    return Handler


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
