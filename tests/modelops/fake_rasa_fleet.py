"""Fake Rasa servers that a test deployer launches on given ports, like `rasa run` would.

Each server answers `/status` with 409 ("no agent loaded") until its start-up delay has passed, then 200
naming its model file; `POST /model/parse` (the warm-up) and the REST channel answer with the model's
name in the text, so a test sees which server answered a turn. All servers of a fleet share one tracker
dict, as real servers share the SQL tracker store.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Fleet:
    """Launcher of fake servers; `delays[model_name]` is how long a model takes to load."""

    delays: dict[str, float] = field(default_factory=dict)
    never_ready: set[str] = field(default_factory=set)  # models whose server never loads
    crash: set[str] = field(default_factory=set)  # models whose server "exits" at once
    turn_seconds: float = 0.0
    trackers: dict[str, dict[str, Any]] = field(default_factory=dict)
    launched: list[FakeManagedRasa] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def launch(self, model_path: str, port: int) -> FakeManagedRasa:
        server = FakeManagedRasa(self, model_path, port)
        self.launched.append(server)
        return server

    def running(self) -> list[FakeManagedRasa]:
        return [s for s in self.launched if s.running]

    def stop_all(self) -> None:
        for server in self.launched:
            server.shutdown()


class FakeManagedRasa:
    def __init__(self, fleet: Fleet, model_path: str, port: int) -> None:
        from bot.modelops.rasa_process import StartFailed

        self.fleet = fleet
        self.model_path = model_path
        self.model = Path(model_path).name.removesuffix(".tar.gz")
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.started_at = time.monotonic()
        self.turns: list[dict[str, Any]] = []
        self.in_flight = 0
        self.stopped_with_in_flight: int | None = None
        self.running = False
        if self.model in fleet.crash:
            raise StartFailed(f"Proses Rasa berhenti (kode 1): model {self.model} rusak")
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.running = True

    def ready(self) -> bool:
        if self.model in self.fleet.never_ready:
            return False
        return time.monotonic() - self.started_at >= self.fleet.delays.get(self.model, 0.0)

    async def wait_ready(self, timeout_seconds: float) -> None:
        import httpx

        from bot.modelops.rasa_process import wait_until_ready

        async with httpx.AsyncClient(trust_env=False) as http:
            await wait_until_ready(http, self.url, self.model_path, timeout_seconds)

    async def stop(self) -> None:
        self.shutdown()

    def shutdown(self) -> None:
        if not self.running:
            return
        self.stopped_with_in_flight = self.in_flight
        self.running = False
        self._server.shutdown()
        self._server.server_close()

    # --- request handling (server threads) ---

    def turn(self, body: dict[str, Any]) -> tuple[int, Any]:
        if not self.ready():
            return 409, {"status": "failure", "message": "No agent loaded."}
        with self.fleet.lock:
            self.in_flight += 1
        try:
            time.sleep(self.fleet.turn_seconds)
            sender = str(body.get("sender"))
            text = str(body.get("message"))
            with self.fleet.lock:
                self.turns.append(body)
                tracker = self.fleet.trackers.setdefault(sender, {"turns": 0})
                tracker["turns"] += 1
                tracker["latest_message"] = {
                    "text": text,
                    "intent": {"name": "greet", "confidence": 0.9},
                    "metadata": body.get("metadata") or {},
                }
                count = tracker["turns"]
            return 200, [{"recipient_id": sender, "text": f"{self.model}: giliran {count}"}]
        finally:
            with self.fleet.lock:
                self.in_flight -= 1

    def tracker(self, sender: str) -> tuple[int, Any]:
        with self.fleet.lock:
            state = dict(self.fleet.trackers.get(sender, {}))
        return 200, {"sender_id": sender, "latest_message": state.get("latest_message"), "events": None}


def _handler(server: FakeManagedRasa) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(raw)

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/status":
                if server.ready():
                    self._send(200, {"model_file": f"/models/{server.model}.tar.gz"})
                else:
                    self._send(409, {"status": "failure", "message": "No agent loaded."})
            elif path.startswith("/conversations/") and path.endswith("/tracker"):
                self._send(*server.tracker(path[len("/conversations/") : -len("/tracker")]))
            else:
                self._send(404, {"status": "failure"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            path = urlsplit(self.path).path
            if path == "/webhooks/rest/webhook":
                self._send(*server.turn(body))
            elif path == "/model/parse" and server.ready():
                self._send(200, {"text": body.get("text"), "intent": {"name": "greet", "confidence": 0.9}})
            else:
                self._send(409, {"status": "failure"})

    return Handler
