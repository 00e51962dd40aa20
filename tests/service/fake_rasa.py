"""A fake Rasa server: a real HTTP server on 127.0.0.1 with canned turns, switchable to fail or hang.

It implements the endpoints the gateway uses, with Rasa 3.6's shapes: `POST /webhooks/rest/webhook`
(REST channel), `GET /conversations/<id>/tracker` (its `latest_message` carries the turn's metadata, as
Rasa's does), `GET /status` and `GET /`. The real Rasa is exercised by the end-to-end tests.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HANG_LIMIT_SECONDS = 30.0


@dataclass(frozen=True)
class Turn:
    """What the fake NLU makes of one text, and what the bot answers."""

    intent: str
    confidence: float
    replies: list[dict[str, Any]]
    faq_key: str | None = None  # e.g. "faq/ktp_el": the response selector's prediction
    faq_confidence: float | None = None


KTP_QUESTION = "syarat bikin ktp el apa aja"
CANNED: dict[str, Turn] = {
    KTP_QUESTION: Turn(
        intent="faq",
        confidence=0.93,
        faq_key="faq/ktp_el",
        faq_confidence=0.88,
        replies=[
            {"text": "Syarat KTP-el: berusia 17 tahun atau sudah menikah, membawa fotokopi Kartu Keluarga."},
            {
                "text": "Ada lagi yang bisa kami bantu?",
                "buttons": [
                    {"title": "Buat pengaduan", "payload": "/file_complaint"},
                    {"title": "Cek status laporan", "payload": "/check_status"},
                ],
            },
        ],
    ),
    "halo": Turn(
        intent="greet",
        confidence=0.97,
        # The selector predicts a topic for every text; for a greeting it must not be stored.
        faq_key="faq/jam_layanan",
        faq_confidence=0.12,
        replies=[
            {"text": "Halo! Ada yang bisa kami bantu?"},
            {"custom": {"kind": "quick_menu", "items": ["faq", "aduan"]}},
        ],
    ),
}
DEFAULT_TURN = Turn(
    intent="out_of_scope", confidence=0.41, replies=[{"text": "Mohon maaf, saya belum mengerti."}]
)


@dataclass
class FakeRasa:
    url: str = ""
    mode: str = "ok"  # "ok" | "error" (HTTP 500) | "hang" | "no_model" (HTTP 409 like Rasa without a model)
    tracker_mode: str = "ok"  # "ok" | "error" | "other_turn" (latest message is not the turn just sent)
    delay_seconds: float = 0.0  # added to every webhook turn
    webhook_calls: list[dict[str, Any]] = field(default_factory=list)
    tracker_calls: list[str] = field(default_factory=list)
    latest_messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Peak number of webhook turns in flight, overall and per sender (serialisation checks).
    max_in_flight: int = 0
    max_in_flight_per_sender: int = 0
    _in_flight: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _released: threading.Event = field(default_factory=threading.Event)

    def reset(self) -> None:
        self.release_hanging()
        with self._lock:
            self.mode = "ok"
            self.tracker_mode = "ok"
            self.delay_seconds = 0.0
            self.webhook_calls.clear()
            self.tracker_calls.clear()
            self.latest_messages.clear()
            self.max_in_flight = 0
            self.max_in_flight_per_sender = 0
            self._in_flight.clear()
        self._released = threading.Event()

    def release_hanging(self) -> None:
        self._released.set()

    # --- request handling (called from the server's threads) ---

    def turn(self, body: dict[str, Any]) -> tuple[int, Any]:
        sender = str(body.get("sender"))
        with self._lock:
            self.webhook_calls.append(body)
            self._in_flight[sender] = self._in_flight.get(sender, 0) + 1
            self.max_in_flight_per_sender = max(self.max_in_flight_per_sender, self._in_flight[sender])
            self.max_in_flight = max(self.max_in_flight, sum(self._in_flight.values()))
        try:
            if self.mode == "hang":
                self._released.wait(HANG_LIMIT_SECONDS)
                return 500, {"error": "released"}
            if self.mode in {"error", "no_model"}:
                return 500, {"version": "3.6.21", "status": "failure", "message": "boom"}
            time.sleep(self.delay_seconds)
            text = str(body.get("message"))
            turn = CANNED.get(text, DEFAULT_TURN)
            self.latest_messages[sender] = latest_message(text, turn, body.get("metadata") or {})
            return 200, [{"recipient_id": sender, **reply} for reply in turn.replies]
        finally:
            with self._lock:
                # reset() between tests may have cleared the counter while a late turn was in flight.
                self._in_flight[sender] = self._in_flight.get(sender, 1) - 1

    def tracker(self, conversation_id: str) -> tuple[int, Any]:
        self.tracker_calls.append(conversation_id)
        if self.tracker_mode == "error":
            return 500, {"status": "failure"}
        latest = dict(self.latest_messages.get(conversation_id) or {})
        if self.tracker_mode == "other_turn" and latest:
            latest["metadata"] = {**latest.get("metadata", {}), "turn_id": "someone-else"}
        return 200, {"sender_id": conversation_id, "slots": {}, "latest_message": latest, "events": None}

    def status(self) -> tuple[int, Any]:
        if self.mode == "hang":
            self._released.wait(HANG_LIMIT_SECONDS)
        if self.mode == "no_model":
            return 409, {"status": "failure", "reason": "Conflict", "message": "No agent loaded."}
        if self.mode == "error":
            return 500, {"status": "failure"}
        return 200, {
            "model_file": "/srv/models/20260101-120000-ci.tar.gz",
            "model_id": "abc",
            "num_active_training_jobs": 0,
        }


def latest_message(text: str, turn: Turn, metadata: dict[str, Any]) -> dict[str, Any]:
    """The tracker's `latest_message` as Rasa 3.6 serialises it (parse data plus the message metadata)."""
    message: dict[str, Any] = {
        "text": text,
        "intent": {"name": turn.intent, "confidence": turn.confidence},
        "entities": [],
        "intent_ranking": [{"name": turn.intent, "confidence": turn.confidence}],
        "message_id": "0f0e0d",
        "metadata": metadata,
    }
    if turn.faq_key is not None:
        message["response_selector"] = {
            "all_retrieval_intents": ["faq"],
            "faq": {
                "response": {
                    "responses": [{"text": "..."}],
                    "confidence": turn.faq_confidence,
                    "intent_response_key": turn.faq_key,
                    "utter_action": f"utter_{turn.faq_key}",
                },
                "ranking": [],
            },
        }
    return message


def _handler(fake: FakeRasa) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep the test output quiet
            pass

        def _send(self, status: int, body: Any) -> None:
            raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeouts)
                self.wfile.write(raw)

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/":
                self._send(200, "Hello from Rasa: 3.6.21")
            elif path == "/status":
                self._send(*fake.status())
            elif path.startswith("/conversations/") and path.endswith("/tracker"):
                self._send(*fake.tracker(path[len("/conversations/") : -len("/tracker")]))
            else:
                self._send(404, {"status": "failure"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            if urlsplit(self.path).path == "/webhooks/rest/webhook":
                self._send(*fake.turn(body))
            else:
                self._send(404, {"status": "failure"})

    return Handler


class FakeRasaServer:
    """Runs a FakeRasa on a free loopback port in a background thread."""

    def __init__(self) -> None:
        self.fake = FakeRasa()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.fake))
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.fake.url = f"http://{host!s}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-rasa", daemon=True)

    def __enter__(self) -> FakeRasa:
        self._thread.start()
        return self.fake

    def __exit__(self, *_: object) -> None:
        self.fake.release_hanging()
        self._server.shutdown()
        self._server.server_close()
