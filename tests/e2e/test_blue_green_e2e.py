"""Blue/green deploy and rollback with two REAL Rasa servers on the CI model, through the real service.

The service runs in managed mode (RASA_MANAGED=true) and starts the "blue" model itself; `bot model
deploy` then moves it to "green" (the same model under another name and hash) and `bot model rollback`
back. A complaint form half filled before the switch continues afterwards where it stopped: both servers
share one SQL tracker store (a temporary SQLite file). A second citizen chats during every switch and
never gets the "gangguan" reply.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from bot.rasa_environment import rasa_environment
from tests.e2e.conftest import ROOT, Server, free_port
from tests.e2e.test_complaint_flow import CODE, NARRATION, answer_for
from tests.e2e.test_conversation_basics import texts
from tests.egress.recorder import EgressRecorder

pytestmark = pytest.mark.e2e
TOKEN = "e2e-blue-green-token"
FAILED_REPLY = "gangguan"


def distinct_copy(source: Path, target: Path) -> Path:
    """Same model, other bytes: an empty gzip member appended changes the sha256, not the archive."""
    shutil.copyfile(source, target)
    with target.open("ab") as handle:
        handle.write(gzip.compress(b"", mtime=0))
    return target


@dataclass
class Managed:
    url: str
    env: dict[str, str]
    ports: tuple[int, int]
    workdir: Path

    def chat(self, sender: str, text: str) -> list[dict[str, object]]:
        response = httpx.post(
            f"{self.url}/api/v1/chat/relay",
            json={"sender": sender, "text": text},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=60,
        )
        response.raise_for_status()
        messages: list[dict[str, object]] = response.json()["messages"]
        return messages

    def live_model(self) -> str:
        return str(httpx.get(f"{self.url}/health", timeout=10).json().get("rasa_model"))

    def bot(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "model", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )


@pytest.fixture(scope="module")
def managed(tmp_path_factory: pytest.TempPathFactory, egress: EgressRecorder) -> Iterator[Managed]:
    model = os.environ.get("LAYANAN_TEST_MODEL")
    if not model or not Path(model).exists():
        pytest.fail("LAYANAN_TEST_MODEL must name a trained model; run the e2e tests with `make test-e2e`.")
    workdir = tmp_path_factory.mktemp("bluegreen")
    models = workdir / "models"
    models.mkdir()
    shutil.copyfile(model, models / "ci-e2e-blue.tar.gz")
    distinct_copy(Path(model), models / "ci-e2e-green.tar.gz")
    action_port, service_port = free_port(), free_port()
    ports = (free_port(), free_port())
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
        f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{workdir / "tracker.db"}"\n'
    )
    env = rasa_environment(
        **egress.environment(),
        DATABASE_URL=f"sqlite:///{workdir / 'service.db'}",
        SERVICE_URL=f"http://127.0.0.1:{service_port}",
        SERVICE_TOKEN=TOKEN,
        ATTACHMENTS_DIR=str(workdir / "attachments"),
        ACTION_OUTBOX_PATH=str(workdir / "outbox.db"),
        RASA_MANAGED="true",
        RASA_MODEL=str(models / "ci-e2e-blue.tar.gz"),
        RASA_MODELS_DIR=str(models),
        RASA_PORTS=f"{ports[0]},{ports[1]}",
        RASA_ENDPOINTS_FILE=str(endpoints),
    )
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=ROOT, env=env, check=True)
    rasa = str(ROOT / ".venv-rasa" / "bin" / "rasa")
    servers = [
        Server(
            "actions",
            [rasa, "run", "actions", "--actions", "actions", "--port", str(action_port)],
            env,
            f"http://127.0.0.1:{action_port}/health",
            workdir / "actions.log",
        ),
        Server(
            "service",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bot.api.app:create_app",
                "--factory",
                "--port",
                str(service_port),
            ],
            env,
            f"http://127.0.0.1:{service_port}/health",  # 503 until the managed Rasa has loaded the model
            workdir / "service.log",
        ),
    ]
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_healthy()
        yield Managed(f"http://127.0.0.1:{service_port}", env, ports, workdir)
    finally:
        for server in reversed(servers):  # the service stops the Rasa servers it started
            server.stop()
        for port in ports:
            with pytest.raises(httpx.HTTPError):
                httpx.get(f"http://127.0.0.1:{port}/", timeout=2)


@dataclass
class Bystander:
    """Another citizen chatting steadily while a deploy runs."""

    managed: Managed
    answers: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Bystander:
        sender = f"penonton-{uuid.uuid4().hex[:6]}"

        def run() -> None:
            while not self._stop.is_set():
                self.answers.append(texts(self.managed.chat(sender, "jam layanan kantor kapan")))
                time.sleep(0.5)

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=90)


def test_a_form_in_progress_survives_a_deploy_and_a_rollback(managed: Managed) -> None:
    assert managed.live_model() == "ci-e2e-blue.tar.gz"
    listed = managed.bot("list")
    assert listed.returncode == 0 and "ci-e2e-blue" in listed.stdout and "live" in listed.stdout
    registered = managed.bot("register", str(managed.workdir / "models" / "ci-e2e-green.tar.gz"))
    assert registered.returncode == 0, registered.stderr
    assert "registered: #" in registered.stdout

    sender = f"warga-{uuid.uuid4().hex[:8]}"
    asked: list[str] = []
    messages = managed.chat(sender, NARRATION)
    messages = managed.chat(sender, answer_for(messages, asked))  # one question answered on blue
    assert not CODE.search(texts(messages))

    with Bystander(managed) as bystander:
        deployed = managed.bot("deploy", "ci-e2e-green")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert managed.live_model() == "ci-e2e-green.tar.gz"
    assert bystander.answers and not [a for a in bystander.answers if FAILED_REPLY in a or not a]

    # The form goes on where it stopped: no question of the blue server is asked again by green.
    before_switch = list(asked)
    for _ in range(12):
        if CODE.search(texts(messages)):
            break
        messages = managed.chat(sender, answer_for(messages, asked))
    assert CODE.search(texts(messages)), f"no tracking code; asked {asked}"
    after_switch = asked[len(before_switch) :]
    assert not set(before_switch) & set(after_switch), asked
    assert after_switch[-1] == "confirm"

    with Bystander(managed) as bystander:
        rolled_back = managed.bot("rollback")
    assert rolled_back.returncode == 0, rolled_back.stdout + rolled_back.stderr
    assert managed.live_model() == "ci-e2e-blue.tar.gz"
    assert bystander.answers and not [a for a in bystander.answers if FAILED_REPLY in a or not a]
    listed = managed.bot("list", "--json")
    assert '"status": "live"' in listed.stdout and '"status": "retired"' in listed.stdout
