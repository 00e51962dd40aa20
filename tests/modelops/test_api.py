"""Admin API of the registry (service token), as `bot model deploy|rollback` use it, and the CLI's
direct commands (`list`, `register`) on a database file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.api.app import create_app
from bot.db import Database
from bot.modelops.deployer import Deployer, DeployerConfig
from bot.settings import PROJECT_ROOT, Settings
from tests.modelops.conftest import free_port, write_model
from tests.modelops.fake_rasa_fleet import Fleet

TOKEN = "uji-token-layanan"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(sqlite_url: str, database: Database, fleet: Fleet, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        database_url=sqlite_url,
        rasa_url=f"http://127.0.0.1:{free_port()}",
        service_token=TOKEN,
        attachments_dir=tmp_path / "attachments",
    )
    app = create_app(settings, database)
    config = DeployerConfig(
        ports=(free_port(), free_port()), start_timeout_seconds=5, drain_timeout_seconds=5
    )
    app.state.deployer = Deployer(database, app.state.gateway.rasa, fleet, config)
    with TestClient(app) as test_client:
        yield test_client


def follow(client: TestClient, deployment_id: int) -> dict[str, object]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        body: dict[str, object] = client.get(
            f"/api/v1/models/deployments/{deployment_id}", headers=AUTH
        ).json()
        if body["status"] != "running":
            return body
        time.sleep(0.05)
    raise AssertionError("deploy did not finish")


def test_the_api_needs_the_service_token(client: TestClient, registered: dict[str, int]) -> None:
    assert client.get("/api/v1/models").status_code == 401
    assert client.post(f"/api/v1/models/{registered['blue']}/deploy").status_code == 401
    assert client.get("/api/v1/models", headers={"Authorization": "Bearer salah"}).status_code == 401


def test_deploy_by_name_then_roll_back_over_the_api(client: TestClient, registered: dict[str, int]) -> None:
    started = client.post(
        "/api/v1/models/ci-aaaaaaaaaaaaaaaa/deploy", headers=AUTH, json={"requested_by": "cli:ops"}
    )
    assert started.status_code == 202
    assert follow(client, started.json()["id"])["status"] == "succeeded"

    waited = client.post(f"/api/v1/models/{registered['green']}/deploy?wait=true", headers=AUTH)
    assert waited.status_code == 200 and waited.json()["status"] == "succeeded"
    assert waited.json()["previous_model_id"] == registered["blue"]
    again = client.post(f"/api/v1/models/{registered['green']}/deploy", headers=AUTH)
    assert again.status_code == 422 and "sudah aktif" in again.json()["detail"]

    rolled = client.post("/api/v1/models/rollback?wait=true", headers=AUTH, json={})
    assert rolled.status_code == 200
    assert (rolled.json()["kind"], rolled.json()["model_name"]) == ("rollback", "ci-aaaaaaaaaaaaaaaa")

    listing = client.get("/api/v1/models", headers=AUTH).json()
    assert listing["managed"] is True and listing["live_model_id"] == registered["blue"]
    assert {m["name"]: m["status"] for m in listing["models"]} == {
        "ci-aaaaaaaaaaaaaaaa": "live",
        "ci-bbbbbbbbbbbbbbbb": "retired",
        "ci-cccccccccccccccc": "candidate",
    }
    assert (
        client.post("/api/v1/chat/relay", json={"sender": "w", "text": "halo"}, headers=AUTH)
        .json()["messages"][0]["text"]
        .startswith("ci-aaaaaaaaaaaaaaaa:")
    )


def test_a_second_deploy_while_one_runs_is_refused(
    client: TestClient, registered: dict[str, int], fleet: Fleet
) -> None:
    fleet.delays["ci-aaaaaaaaaaaaaaaa"] = 1.0
    first = client.post(f"/api/v1/models/{registered['blue']}/deploy", headers=AUTH)
    second = client.post(f"/api/v1/models/{registered['green']}/deploy", headers=AUTH)

    assert first.status_code == 202
    assert second.status_code == 409 and "sedang berjalan" in second.json()["detail"]
    assert follow(client, first.json()["id"])["status"] == "succeeded"


def test_unknown_models_and_deployments_are_clear_errors(
    client: TestClient, registered: dict[str, int]
) -> None:
    unknown = client.post("/api/v1/models/%3Cscript%3E/deploy", headers=AUTH)
    assert unknown.status_code == 422 and "tidak terdaftar" in unknown.json()["detail"]
    assert client.get("/api/v1/models/deployments/999", headers=AUTH).status_code == 404
    no_target = client.post("/api/v1/models/rollback", headers=AUTH)
    assert no_target.status_code == 422 and "Belum ada model sebelumnya" in no_target.json()["detail"]


def test_deploy_is_refused_when_rasa_is_not_managed(
    sqlite_url: str, database: Database, tmp_path: Path
) -> None:
    settings = Settings(database_url=sqlite_url, service_token=TOKEN, attachments_dir=tmp_path / "a")
    with TestClient(create_app(settings, database)) as client:
        refused = client.post("/api/v1/models/1/deploy", headers=AUTH)
        assert refused.status_code == 409 and "RASA_MANAGED" in refused.json()["detail"]
        assert client.get("/api/v1/models", headers=AUTH).json()["managed"] is False


def bot_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "model", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_registers_a_file_once_and_lists_it(sqlite_url: str, tmp_path: Path) -> None:
    path = write_model(tmp_path, "ci-eeeeeeeeeeeeeeee")
    metrics = tmp_path / "metrics.json"
    metrics.write_text('{"intent_f1": 0.87}')

    first = bot_cli(sqlite_url, "register", str(path), "--metrics", str(metrics), "--trained-by", "ops")
    second = bot_cli(sqlite_url, "register", str(path))
    bad = bot_cli(sqlite_url, "register", str(tmp_path / "tidak-ada.tar.gz"))
    listing = bot_cli(sqlite_url, "list")

    assert first.returncode == 0 and "registered: #1 ci-eeeeeeeeeeeeeeee (candidate)" in first.stdout
    assert second.returncode == 0 and "already registered: #1" in second.stdout
    assert bad.returncode == 2 and "tidak ditemukan" in bad.stderr
    assert "ci-eeeeeeeeeeeeeeee" in listing.stdout and "intent_f1=0.870" in listing.stdout


def test_cli_deploy_says_when_the_service_does_not_answer(sqlite_url: str) -> None:
    result = bot_cli(sqlite_url, "deploy", "ci-x", "--url", f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 2 and "does not answer" in result.stderr
