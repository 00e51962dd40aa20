"""End-to-end fixtures: the real trained Rasa model, the real action server and the bot service.

All three run as subprocesses on free loopback ports, on a scratch SQLite database (Rasa's tracker store too,
or PostgreSQL when LAYANAN_TEST_RASA_TRACKER_URL names one), exactly as
`make run` starts them. The model comes from LAYANAN_TEST_MODEL (set by `make test-e2e`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.rasa_environment import rasa_environment
from tests.connectors.telegram.fake_bot_api import FakeBotApi, FakeBotApiServer
from tests.connectors.whatsapp import fake_graph_api
from tests.connectors.whatsapp.fake_graph_api import FakeGraphApi, FakeGraphApiServer
from tests.egress.recorder import EgressRecorder

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from run import tracker_store_yaml  # noqa: E402

sys.path.pop(0)
START_TIMEOUT_SECONDS = 240
TELEGRAM_WEBHOOK_SECRET = "e2e-telegram-secret"
# DATA_ENCRYPTION_KEY of the stack (a Fernet key made for the tests).
DATA_ENCRYPTION_KEY = "Wm8yaVd1b2t4bXJkZ0Rvb3pGcnV1c3R6Z3Jld2tQb3A="


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited; log:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer in {START_TIMEOUT_SECONDS} s; log:\n{log.read_text()[-3000:]}")


class Server:
    """One subprocess of the stack, which a test may stop and start again (same port, same log)."""

    def __init__(
        self, name: str, command: list[str], env: dict[str, str], health_url: str, log: Path
    ) -> None:
        self.name, self.command, self.env, self.health_url, self.log = name, command, env, health_url, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT
        )

    def wait_healthy(self) -> None:
        assert self.process is not None
        wait_for(self.health_url, self.process, self.log)

    def stop(self, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Stack:
    service_url: str
    api_url: str
    rasa_url: str
    action_url: str
    database_url: str
    workdir: Path
    token: str
    api_server: Server

    def chat(self, sender: str, text: str, **extra: str) -> list[dict[str, object]]:
        """One web-chat turn of a named sender, through the service-token relay (the public path, with a
        session the service issues, is `Session` below)."""
        response = self.api(
            "POST", "/api/v1/chat/relay", json={"sender": sender, "text": text, **extra}, timeout=60
        )
        response.raise_for_status()
        messages: list[dict[str, object]] = response.json()["messages"]
        return messages

    def updates(self, sender: str, after: int = 0) -> dict[str, Any]:
        """The web-chat updates of a named sender, through the service-token relay."""
        response = self.api("POST", "/api/v1/chat/relay/updates", json={"sender": sender, "after": after})
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def session(self) -> WebChat:
        """A citizen on the public web chat, with a session token the service issued."""
        response = httpx.post(f"{self.service_url}/api/v1/chat/sessions", timeout=30)
        assert response.status_code == 201, response.text
        return WebChat(self.service_url, response.json()["token"])

    def api(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        kwargs.setdefault("timeout", 30)
        return httpx.request(method, f"{self.service_url}{path}", headers=headers, **kwargs)  # type: ignore[arg-type]


@dataclass
class WebChat:
    """One citizen's session on the public web chat: the token is all the client holds."""

    service_url: str
    token: str

    def post(self, text: str, **extra: object) -> httpx.Response:
        return httpx.post(
            f"{self.service_url}/api/v1/chat",
            json={"text": text, **extra},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=60,
        )

    def chat(self, text: str) -> list[dict[str, object]]:
        response = self.post(text)
        response.raise_for_status()
        messages: list[dict[str, object]] = response.json()["messages"]
        return messages

    def updates(self, after: int = 0) -> httpx.Response:
        return httpx.get(
            f"{self.service_url}/api/v1/chat/updates",
            params={"after": after},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )

    def end(self) -> httpx.Response:
        return httpx.delete(
            f"{self.service_url}/api/v1/chat/sessions/current",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )


@pytest.fixture(scope="session")
def telegram_bot_api() -> Iterator[FakeBotApi]:
    """The fake Telegram Bot API the stack's Telegram connector talks to (started before the stack)."""
    with FakeBotApiServer() as fake:
        yield fake


@pytest.fixture(scope="session")
def whatsapp_graph_api() -> Iterator[FakeGraphApi]:
    """The fake WhatsApp Cloud (Graph) API the stack's WhatsApp connector talks to (started before the stack)."""
    with FakeGraphApiServer() as fake:
        yield fake


@pytest.fixture(scope="session")
def egress() -> Iterator[EgressRecorder]:
    """Where every outbound HTTP(S) call of the started processes goes (loopback excepted): nowhere.

    Telemetry, error reports, a model hub or a web font would be recorded here; at the end of the session
    the recorder must have seen nothing — the fake platform APIs are on loopback and reached directly.
    """
    with EgressRecorder() as recorder:
        yield recorder
    assert recorder.attempts == [], f"processes tried to reach the internet: {recorder.attempts}"


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    telegram_bot_api: FakeBotApi,
    whatsapp_graph_api: FakeGraphApi,
    egress: EgressRecorder,
) -> Iterator[Stack]:
    """Rasa + action server + two bot-service processes on one database.

    The web chat enters through `service`; the action server calls `api`, a second process of the same
    service, so a test can kill the API under the action server without cutting the chat itself.
    """
    model = os.environ.get("LAYANAN_TEST_MODEL")
    if not model or not Path(model).exists():
        pytest.fail("LAYANAN_TEST_MODEL must name a trained model; run the e2e tests with `make test-e2e`.")
    workdir = tmp_path_factory.mktemp("e2e")
    rasa_port, action_port, service_port, api_port = free_port(), free_port(), free_port(), free_port()
    database_url = f"sqlite:///{workdir / 'service.db'}"
    token = "e2e-service-token"
    env = rasa_environment(
        **egress.environment(),
        DATABASE_URL=database_url,
        RASA_URL=f"http://127.0.0.1:{rasa_port}",
        SERVICE_URL=f"http://127.0.0.1:{api_port}",
        SERVICE_TOKEN=token,
        DATA_ENCRYPTION_KEY=DATA_ENCRYPTION_KEY,
        ATTACHMENTS_DIR=str(workdir / "attachments"),
        ACTION_OUTBOX_PATH=str(workdir / "outbox.db"),
        ACTION_OUTBOX_POLL_SECONDS="1",
        TELEGRAM_BOT_TOKEN=telegram_bot_api.token,
        TELEGRAM_WEBHOOK_SECRET=TELEGRAM_WEBHOOK_SECRET,
        TELEGRAM_API_BASE_URL=telegram_bot_api.url,
        WHATSAPP_ACCESS_TOKEN=whatsapp_graph_api.token,
        WHATSAPP_PHONE_NUMBER_ID=whatsapp_graph_api.phone_number_id,
        WHATSAPP_APP_SECRET=fake_graph_api.APP_SECRET,
        WHATSAPP_VERIFY_TOKEN=fake_graph_api.VERIFY_TOKEN,
        WHATSAPP_API_BASE_URL=whatsapp_graph_api.url,
        # Low, so that test_webchat_session_e2e.py reaches the per-address wrong-code limit in a few turns.
        TICKET_LOOKUP_MAX_MISSES_PER_ADDRESS="3",
    )
    endpoints = workdir / "endpoints.yml"
    # The tracker store as `make run` writes it: a SQLite file, or LAYANAN_TEST_RASA_TRACKER_URL (PostgreSQL).
    tracker_url = os.environ.get("LAYANAN_TEST_RASA_TRACKER_URL") or f"sqlite:///{workdir / 'tracker.db'}"
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
        + tracker_store_yaml(tracker_url)
    )
    rasa = str(ROOT / ".venv-rasa" / "bin" / "rasa")
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=ROOT, env=env, check=True)

    def uvicorn(port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "bot.api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]

    servers = [
        Server(
            "actions",
            [rasa, "run", "actions", "--actions", "actions", "--port", str(action_port)],
            env,
            f"http://127.0.0.1:{action_port}/health",
            workdir / "actions.log",
        ),
        Server(
            "rasa",
            [
                rasa,
                "run",
                "--enable-api",
                "--interface",
                "127.0.0.1",
                "--port",
                str(rasa_port),
                "--model",
                model,
                "--endpoints",
                str(endpoints),
                "--credentials",
                "credentials.yml",
            ],
            env,
            f"http://127.0.0.1:{rasa_port}/status",
            workdir / "rasa.log",
        ),
        Server(
            "service",
            uvicorn(service_port),
            env,
            f"http://127.0.0.1:{service_port}/health",
            workdir / "service.log",
        ),
        Server("api", uvicorn(api_port), env, f"http://127.0.0.1:{api_port}/health", workdir / "api.log"),
    ]
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_healthy()
        yield Stack(
            service_url=f"http://127.0.0.1:{service_port}",
            api_url=f"http://127.0.0.1:{api_port}",
            rasa_url=f"http://127.0.0.1:{rasa_port}",
            action_url=f"http://127.0.0.1:{action_port}",
            database_url=database_url,
            workdir=workdir,
            token=token,
            api_server=servers[-1],
        )
    finally:
        for server in servers:
            server.stop()
