"""End-to-end fixtures: the real trained Rasa model, the real action server and the bot service.

All three run as subprocesses on free loopback ports, on a scratch SQLite database, exactly as
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

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 240


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


@dataclass
class Stack:
    service_url: str
    rasa_url: str
    action_url: str
    database_url: str
    workdir: Path

    def chat(self, sender: str, text: str, **extra: str) -> list[dict[str, object]]:
        response = httpx.post(
            f"{self.service_url}/api/v1/chat", json={"sender": sender, "text": text, **extra}, timeout=60
        )
        response.raise_for_status()
        messages: list[dict[str, object]] = response.json()["messages"]
        return messages


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    model = os.environ.get("LAYANAN_TEST_MODEL")
    if not model or not Path(model).exists():
        pytest.fail("LAYANAN_TEST_MODEL must name a trained model; run the e2e tests with `make test-e2e`.")
    workdir = tmp_path_factory.mktemp("e2e")
    rasa_port, action_port, service_port = free_port(), free_port(), free_port()
    database_url = f"sqlite:///{workdir / 'service.db'}"
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        TF_CPP_MIN_LOG_LEVEL="2",
        DATABASE_URL=database_url,
        RASA_URL=f"http://127.0.0.1:{rasa_port}",
        SERVICE_URL=f"http://127.0.0.1:{service_port}",
        SERVICE_TOKEN="e2e-service-token",
        ATTACHMENTS_DIR=str(workdir / "attachments"),
    )
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
        f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{workdir / "tracker.db"}"\n'
    )
    rasa = str(ROOT / ".venv-rasa" / "bin" / "rasa")
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=ROOT, env=env, check=True)
    processes = [
        (
            start([rasa, "run", "actions", "--actions", "actions", "--port", str(action_port)], env,
                  workdir / "actions.log"),
            f"http://127.0.0.1:{action_port}/health", workdir / "actions.log",
        ),
        (
            start([rasa, "run", "--enable-api", "--interface", "127.0.0.1", "--port", str(rasa_port),
                   "--model", model, "--endpoints", str(endpoints), "--credentials", "credentials.yml"],
                  env, workdir / "rasa.log"),
            f"http://127.0.0.1:{rasa_port}/status", workdir / "rasa.log",
        ),
        (
            start([sys.executable, "-m", "uvicorn", "bot.api.app:create_app", "--factory",
                   "--host", "127.0.0.1", "--port", str(service_port)], env, workdir / "service.log"),
            f"http://127.0.0.1:{service_port}/health", workdir / "service.log",
        ),
    ]
    try:
        for process, url, log in processes:
            wait_for(url, process, log)
        yield Stack(
            service_url=f"http://127.0.0.1:{service_port}",
            rasa_url=f"http://127.0.0.1:{rasa_port}",
            action_url=f"http://127.0.0.1:{action_port}",
            database_url=database_url,
            workdir=workdir,
        )
    finally:
        for process, _, _ in processes:
            process.terminate()
        for process, _, _ in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
