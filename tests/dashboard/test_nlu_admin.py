"""Admin pages of the retraining loop: inbox labelling, examples and FAQ editor, training queue,
evaluation report with the gated deploy, the officer's flag, and the FAQ endpoint of the action server."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from bot.db import Database
from bot.modelops import jobs, registry
from bot.modelops.training_models import Evaluation, FaqOverride, NluFlag, TrainingExample, TrainingRun
from bot.settings import Settings
from bot.staff.models import AccessLog
from tests.dashboard.conftest import Browser, Staff, StaffClient
from tests.modelops.conftest import write_model
from tests.modelops.nlu_helpers import citizen_says

BASE = "/dashboard/nlu"


def _count(database: Database, table: type) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_only_admins_reach_the_pages(
    login: Callable[[str], StaffClient], staff: Staff, client_factory: Callable[[], Browser]
) -> None:
    for page in (BASE, BASE + "/data", BASE + "/latih", BASE + "/evaluasi"):
        assert login(staff.supervisor_pu).get(page).status_code == 403
        assert client_factory().get(page, follow_redirects=False).status_code in (302, 303)


def test_the_inbox_shows_masked_groups_and_labels_them(
    login: Callable[[str], StaffClient], staff: Staff, database: Database
) -> None:
    first = citizen_says(database, "nama saya Budi Santoso, <script>ikd</script> gmn", "nlu_fallback", 0.2)
    admin = login(staff.admin)
    page = admin.get(BASE).text
    assert "Budi" not in page and "B*** S***" in page
    assert "&lt;script&gt;" in page and "<script>ikd" not in page
    assert "Tidak dipahami" in page

    refused = admin.post(BASE + "/label", data={"message_ids": str(first), "label": "bukan label!"})
    assert "Tidak disimpan" in refused.text and _count(database, TrainingExample) == 0
    done = admin.post(BASE + "/label", data={"message_ids": str(first), "label": "faq/ktp_el"})
    assert "1 pesan diberi label faq/ktp_el" in done.text
    assert "Tidak ada pesan yang menunggu" in admin.get(BASE).text
    with database.session() as session:
        example = session.scalars(select(TrainingExample)).one()
        assert example.label == "faq/ktp_el" and "Budi" not in example.text and example.created_by


def test_an_officer_flags_a_message_from_a_conversation(
    login: Callable[[str], StaffClient], staff: Staff, database: Database
) -> None:
    message = citizen_says(database, "gmn caranya dapet ikd di hp", "faq", 1.0, "cara_mengadu", 0.65)
    officer = login(staff.petugas_dukcapil)
    assert (
        officer.post(
            f"/dashboard/percakapan/pesan/{message}/tandai-nlu", data={"note": "salah topik"}
        ).status_code
        == 200
    )
    assert officer.post("/dashboard/percakapan/pesan/999999/tandai-nlu", data={}).status_code == 404
    assert _count(database, NluFlag) == 1
    assert "Ditandai petugas" in login(staff.admin).get(BASE).text


def test_broken_yaml_import_is_refused_and_stores_nothing(
    login: Callable[[str], StaffClient], staff: Staff, database: Database
) -> None:
    admin = login(staff.admin)
    page = admin.post(
        BASE + "/data/impor", data={"yaml_text": "nlu:\n- intent: greet\n  examples: |\n    - a\n  - x: [\n"}
    )
    assert "Impor ditolak: YAML rusak (baris" in page.text
    conflict = admin.post(
        BASE + "/data/impor", data={"yaml_text": "nlu:\n- intent: thank\n  examples: |\n    - halo\n"}
    )
    assert "Label bertentangan" in conflict.text
    assert _count(database, TrainingExample) == 0
    ok = admin.post(
        BASE + "/data/impor",
        data={"yaml_text": "nlu:\n- intent: faq/ktp_el\n  examples: |\n    - ikd di hp\n"},
    )
    assert "1 contoh diimpor" in ok.text
    exported = admin.get(BASE + "/data/ekspor.yml")
    assert exported.status_code == 200 and "- ikd di hp" in exported.text


def test_an_faq_text_edit_is_served_to_the_action_server_at_once(
    login: Callable[[str], StaffClient],
    staff: Staff,
    database: Database,
    app: FastAPI,
    client_factory: Callable[[], Browser],
    settings: Settings,
) -> None:
    admin = login(staff.admin)
    saved = admin.post(
        BASE + "/faq",
        data={
            "topic": "ktp_el",
            "title": "KTP-el",
            "summary": "Syarat KTP-el.",
            "parts": "Bagian satu: IKD kini tersedia.\n\nBagian dua.",
            "source": "Dukcapil",
            "as_of": "2026-11-28",
            "followups": "",
            "source_url": "",
        },
    )
    assert "langsung dipakai bot" in saved.text
    bad_date = admin.post(
        BASE + "/faq",
        data={
            "topic": "ktp_el",
            "title": "x",
            "summary": "x",
            "parts": "x",
            "source": "x",
            "as_of": "kemarin",
        },
    )
    assert "Tanggal" in bad_date.text
    api = client_factory()
    assert api.get("/api/v1/faq/answers").status_code == 401
    answers = api.get(
        "/api/v1/faq/answers", headers={"Authorization": f"Bearer {settings.service_token}"}
    ).json()
    assert answers["topics"]["ktp_el"]["parts"] == ["Bagian satu: IKD kini tersedia.", "Bagian dua."]
    assert _count(database, FaqOverride) == 1


class _Kicks:
    def __init__(self) -> None:
        self.count = 0

    def kick(self) -> None:
        self.count += 1


def test_training_is_queued_shown_with_progress_and_cancellable(
    login: Callable[[str], StaffClient], staff: Staff, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    kicks = _Kicks()
    monkeypatch.setattr(jobs, "worker_for", lambda database, models_dir: kicks)
    admin = login(staff.admin)
    started = admin.post(BASE + "/latih", data={"config": "config.ci.yml"})
    assert "masuk antrean" in started.text and kicks.count == 1
    progress = admin.get(BASE + "/latih/progres").text
    assert 'hx-trigger="every 3s"' in progress and "Menunggu" in progress and "config.ci.yml" in progress
    run_id = admin.get(BASE + "/latih").text.count("/batal")
    assert run_id == 1
    with database.session() as session:
        run = session.scalars(select(TrainingRun)).one()
        assert run.requested_by and run.holdout
        rid = run.id
    assert "dibatalkan" in admin.post(f"{BASE}/latih/{rid}/batal", data={}).text
    assert "Dibatalkan" in admin.get(BASE + "/latih/progres").text
    assert "tidak dikenal" in admin.post(BASE + "/latih", data={"config": "x.yml"}).text


class _FakeDeployer:
    def __init__(self) -> None:
        self.begun: list[tuple[int, str]] = []
        self.running_id: int | None = None

    async def begin(self, model_ref: int, actor: str) -> int:
        self.begun.append((model_ref, actor))
        return 41


def _evaluation(database: Database, tmp_path: Path, not_worse: bool) -> int:
    with database.session() as session:
        model, _ = registry.register(session, registry.inspect_model_file(write_model(tmp_path, "nlu-9-abc")))
        report = {
            "test_size": 2,
            "heldout_size": 1,
            "inbox_size": 1,
            "gate_on": "semua",
            "live_saw_heldout": False,
            "candidate": {
                "n": 2,
                "intent_accuracy": 0.5,
                "macro_f1": 0.5,
                "faq_accuracy": 1.0,
                "per_intent": {},
            },
            "live": {"n": 2, "intent_accuracy": 1.0, "macro_f1": 1.0, "faq_accuracy": 1.0, "per_intent": {}},
            "gate_candidate": {},
            "gate_live": {},
            "per_intent_delta": {"greet": {"live": 1.0, "candidate": 0.5, "delta": -0.5}},
            "changed": [
                {
                    "text": "<b>halo</b>",
                    "label": "greet",
                    "source": "heldout",
                    "live": "greet",
                    "candidate": "thank",
                }
            ],
        }
        row = Evaluation(candidate_model_id=model.id, created_by="admin", not_worse=not_worse, report=report)
        session.add(row)
        session.flush()
        return row.id


def test_a_worse_candidate_deploys_only_with_an_audited_reason(
    login: Callable[[str], StaffClient], staff: Staff, database: Database, app: FastAPI, tmp_path: Path
) -> None:
    evaluation_id = _evaluation(database, tmp_path, not_worse=False)
    admin = login(staff.admin)
    unmanaged = admin.post(f"{BASE}/evaluasi/{evaluation_id}/terapkan", data={})
    assert "RASA_MANAGED=false" in unmanaged.text
    deployer = _FakeDeployer()
    app.state.deployer = deployer
    page = admin.get(f"{BASE}/evaluasi/{evaluation_id}").text
    assert "Kandidat lebih buruk" in page and 'name="reason"' in page and "&lt;b&gt;halo" in page
    refused = admin.post(f"{BASE}/evaluasi/{evaluation_id}/terapkan", data={"reason": "x"})
    assert "Tidak diterapkan" in refused.text and deployer.begun == []
    admin.post(f"{BASE}/evaluasi/{evaluation_id}/terapkan", data={"reason": "Perbaikan darurat topik KTP"})
    assert len(deployer.begun) == 1
    with database.session() as session:
        entry = session.scalars(select(AccessLog).where(AccessLog.action == "model_deploy")).one()
        assert "alasan: Perbaikan darurat topik KTP" in (entry.detail or "")


def test_a_not_worse_candidate_deploys_without_a_reason(
    login: Callable[[str], StaffClient], staff: Staff, database: Database, app: FastAPI, tmp_path: Path
) -> None:
    evaluation_id = _evaluation(database, tmp_path, not_worse=True)
    deployer = _FakeDeployer()
    app.state.deployer = deployer
    admin = login(staff.admin)
    assert 'name="reason"' not in admin.get(f"{BASE}/evaluasi/{evaluation_id}").text
    admin.post(f"{BASE}/evaluasi/{evaluation_id}/terapkan", data={})
    assert len(deployer.begun) == 1


def test_an_evaluation_runs_in_the_background_and_links_its_report(
    login: Callable[[str], StaffClient],
    staff: Staff,
    database: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.modelops import evaluation

    def scorer(model_path: str, texts: Sequence[str]) -> list[dict[str, Any]]:
        return [{"text": t, "intent": "greet", "confidence": 0.9} for t in texts]

    monkeypatch.setattr(evaluation, "background", evaluation.BackgroundEvaluation())
    monkeypatch.setattr(evaluation, "draw_confusion", lambda data, out: None)
    monkeypatch.setattr(evaluation.BackgroundEvaluation.start, "__defaults__", (scorer,))
    with database.session() as session:
        model, _ = registry.register(session, registry.inspect_model_file(write_model(tmp_path, "nlu-5-abc")))
        model_id = model.id
    admin = login(staff.admin)
    assert "nlu-5-abc" in admin.get(BASE + "/evaluasi").text
    started = admin.post(BASE + "/evaluasi", data={"model_id": str(model_id)})
    assert "Evaluasi dimulai" in started.text
    deadline = time.monotonic() + 30
    while evaluation.background.running and time.monotonic() < deadline:
        time.sleep(0.1)
    status = admin.get(BASE + "/evaluasi/status").text
    assert "Evaluasi selesai" in status, status
    report_url = status.split('href="')[1].split('"')[0]
    report = admin.get(report_url).text
    assert "Kandidat <strong>nlu-5-abc</strong>" in report and "tidak ada" in report
