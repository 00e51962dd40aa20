"""Admin page of the model registry: list with metrics and the live badge, deploy and roll back through
fake Rasa servers with confirmation forms and progress polling, audit rows, and who may see it."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from bot.db import Database
from bot.modelops import registry
from bot.modelops.deployer import Deployer, DeployerConfig
from bot.modelops.models import RasaModel
from bot.settings import Settings
from bot.staff.models import AccessLog
from tests.dashboard.conftest import SERVICE_TOKEN, Browser, Staff, StaffClient
from tests.modelops.conftest import write_model
from tests.modelops.fake_rasa_fleet import Fleet

PAGE = "/dashboard/model"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def settings(sqlite_url: str, fake_rasa: object, tmp_path: Path) -> Settings:
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    return Settings(
        database_url=sqlite_url,
        rasa_url=fake_rasa.url,
        attachments_dir=tmp_path / "attachments",
        rasa_models_dir=models_dir,
        service_token=SERVICE_TOKEN,  # the relay the citizens' turns go through needs one
    )


@pytest.fixture
def model_ids(database: Database, settings: Settings) -> dict[str, int]:
    blue = write_model(settings.rasa_models_dir, "ci-aaaaaaaaaaaaaaaa", "2026-11-20T08:00:00+00:00")
    green = write_model(settings.rasa_models_dir, "ci-bbbbbbbbbbbbbbbb", "2026-11-21T08:00:00+00:00")
    with database.session() as session:
        a, _ = registry.register(session, registry.inspect_model_file(blue), metrics={"intent_f1": 0.912345})
        b, _ = registry.register(session, registry.inspect_model_file(green), trained_by="<b>ci</b>")
        return {"blue": a.id, "green": b.id}


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    fleet = Fleet()
    try:
        yield fleet
    finally:
        fleet.stop_all()


@pytest.fixture
def managed(app: FastAPI, database: Database, fleet: Fleet) -> Deployer:
    """The app as RASA_MANAGED would build it, but launching fake servers."""
    config = DeployerConfig(
        ports=(_free_port(), _free_port()), start_timeout_seconds=10, drain_timeout_seconds=10
    )
    deployer = Deployer(database, app.state.gateway.rasa, fleet, config)
    app.state.deployer = deployer
    return deployer


def wait_finished(admin: StaffClient) -> str:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        box = admin.get(PAGE + "/progres").text
        if "hx-trigger" not in box:
            return box
        time.sleep(0.1)
    raise AssertionError("deploy did not finish")


def chat(client: Browser, sender: str) -> str:
    response = client.chat(sender, "halo")
    assert response.status_code == 200, response.text
    return " ".join(m["text"] for m in response.json()["messages"])


def test_the_registry_lists_models_with_metrics_escaped_text_and_no_actions_when_unmanaged(
    login: Callable[[str], StaffClient], staff: Staff, model_ids: dict[str, int]
) -> None:
    admin = login(staff.admin)
    page = admin.get(PAGE)

    assert page.status_code == 200
    assert "ci-aaaaaaaaaaaaaaaa" in page.text and "ci-bbbbbbbbbbbbbbbb" in page.text
    assert "intent_f1" in page.text and "0.912" in page.text
    assert "&lt;b&gt;ci&lt;/b&gt;" in page.text and "<b>ci</b>" not in page.text
    assert "RASA_MANAGED=false" in page.text
    assert "/terapkan" not in page.text
    refused = admin.post(f"{PAGE}/{model_ids['green']}/terapkan")
    assert refused.status_code == 409


def test_only_admins_see_the_page(
    login: Callable[[str], StaffClient], staff: Staff, client_factory: Callable[[], Browser]
) -> None:
    assert login(staff.supervisor_pu).get(PAGE).status_code == 403
    anonymous = client_factory().get(PAGE, follow_redirects=False)
    assert anonymous.status_code in (302, 303)


def test_deploy_then_roll_back_from_the_page_with_progress_and_audit(
    login: Callable[[str], StaffClient],
    staff: Staff,
    model_ids: dict[str, int],
    managed: Deployer,
    fleet: Fleet,
    database: Database,
    client_factory: Callable[[], Browser],
) -> None:
    admin = login(staff.admin)
    citizen = client_factory()
    fleet.delays["ci-aaaaaaaaaaaaaaaa"] = 0.5

    missing_csrf = admin.client.post(f"{PAGE}/{model_ids['blue']}/terapkan", data={})
    assert missing_csrf.status_code == 403
    started = admin.post(f"{PAGE}/{model_ids['blue']}/terapkan", follow_redirects=False)
    assert started.status_code == 303
    running = admin.get(PAGE).text
    assert "sedang berjalan" in running and 'hx-get="/dashboard/model/progres"' in running
    assert "Berhasil" in wait_finished(admin)
    assert chat(citizen, "warga-1").startswith("ci-aaaaaaaaaaaaaaaa:")

    admin.post(f"{PAGE}/{model_ids['green']}/terapkan")
    assert "Berhasil" in wait_finished(admin)
    assert chat(citizen, "warga-1").startswith("ci-bbbbbbbbbbbbbbbb: giliran 2")  # same conversation
    page = admin.get(PAGE).text
    assert "Kembalikan ke model sebelumnya (ci-aaaaaaaaaaaaaaaa)" in page

    admin.post(f"{PAGE}/kembalikan", data={"model_id": ""})
    assert "Berhasil" in wait_finished(admin)
    assert chat(citizen, "warga-1").startswith("ci-aaaaaaaaaaaaaaaa: giliran 3")

    with database.session() as session:
        live = registry.live_model(session)
        assert live is not None and live.id == model_ids["blue"]
        assert live.deployed_by is not None and "admin" in live.deployed_by
        actions = [a.action for a in session.scalars(select(AccessLog).order_by(AccessLog.id))]
    assert [a for a in actions if a.startswith("model_")] == [
        "model_deploy",
        "model_deploy",
        "model_rollback",
    ]
    history = admin.get(PAGE).text
    assert "Pengembalian" in history and "Penerapan" in history
    assert len(fleet.running()) == 1


def test_a_failed_deploy_is_shown_and_the_live_model_keeps_answering(
    login: Callable[[str], StaffClient],
    staff: Staff,
    model_ids: dict[str, int],
    managed: Deployer,
    fleet: Fleet,
    client_factory: Callable[[], Browser],
) -> None:
    admin = login(staff.admin)
    admin.post(f"{PAGE}/{model_ids['blue']}/terapkan")
    wait_finished(admin)
    fleet.crash.add("ci-bbbbbbbbbbbbbbbb")

    admin.post(f"{PAGE}/{model_ids['green']}/terapkan")
    box = wait_finished(admin)

    assert "Gagal" in box and "rusak" in box
    assert chat(client_factory(), "warga-2").startswith("ci-aaaaaaaaaaaaaaaa:")


def test_scan_registers_new_files_once(
    login: Callable[[str], StaffClient], staff: Staff, settings: Settings, database: Database
) -> None:
    write_model(settings.rasa_models_dir, "ci-dddddddddddddddd")
    (settings.rasa_models_dir / "notes.tar.gz").write_text("not a model")
    (settings.rasa_models_dir / "ci-dddddddddddddddd.meta.json").write_text(
        json.dumps({"metrics": {"f1": 0.8}})
    )
    admin = login(staff.admin)

    first = admin.post(f"{PAGE}/pindai")
    second = admin.post(f"{PAGE}/pindai")

    assert "1 model baru didaftarkan" in first.text
    assert "Tidak ada berkas model baru" in second.text
    with database.session() as session:
        assert [m.name for m in session.scalars(select(RasaModel))] == ["ci-dddddddddddddddd"]
