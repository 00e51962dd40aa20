"""A real bot service (its own .venv, SQLite file) on loopback for the action tests."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[3]
# Before the actions are imported: the tests run the outbox by hand, not in a background thread.
os.environ["ACTION_OUTBOX_WORKER"] = "0"
SERVICE_PYTHON = ROOT / ".venv" / "bin" / "python"
TOKEN = "action-test-token"


@dataclass
class Service:
    url: str
    token: str
    env: dict[str, str]  # the service's environment (DATABASE_URL...), for CLI commands against it

    def get(self, path: str, **params: str) -> requests.Response:
        return requests.get(
            f"{self.url}{path}", params=params, headers={"Authorization": f"Bearer {self.token}"}, timeout=30
        )

    def post(self, path: str, body: dict[str, object]) -> requests.Response:
        return requests.post(
            f"{self.url}{path}", json=body, headers={"Authorization": f"Bearer {self.token}"}, timeout=30
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    workdir = tmp_path_factory.mktemp("service")
    port = free_port()
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        DATABASE_URL=f"sqlite:///{workdir / 'service.db'}",
        SERVICE_TOKEN=TOKEN,
        RASA_URL="http://127.0.0.1:9",  # no Rasa here: triage answers with intent "unknown"
        ATTACHMENTS_DIR=str(workdir / "attachments"),
        TICKET_LOOKUP_MAX_MISSES_PER_ADDRESS="3",  # reached in a few lookups by test_status_action.py
    )
    subprocess.run([str(SERVICE_PYTHON), "-m", "bot.cli", "db", "upgrade"], cwd=ROOT, env=env, check=True)
    log = (workdir / "service.log").open("wb")
    process = subprocess.Popen(
        [str(SERVICE_PYTHON), "-m", "uvicorn", "bot.api.app:create_app", "--factory", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/api/v1/categories", timeout=2)
            break
        except requests.ConnectionError:
            time.sleep(0.3)
    try:
        yield Service(url=url, token=TOKEN, env=env)
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def service_env(service: Service, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Service:
    """Points the actions at the test service, with a private outbox."""
    monkeypatch.setenv("SERVICE_URL", service.url)
    monkeypatch.setenv("SERVICE_TOKEN", service.token)
    monkeypatch.setenv("ACTION_OUTBOX_PATH", str(tmp_path / "outbox.db"))
    monkeypatch.setenv("ACTION_OUTBOX_POLL_SECONDS", "3600")  # tests drive the outbox themselves
    return service


@pytest.fixture(autouse=True)
def no_cached_categories() -> Iterator[None]:
    """Each test starts without the action server's category list (actions/categories.py)."""
    from actions.categories import CATEGORIES

    CATEGORIES.clear()
    yield
    CATEGORIES.clear()
