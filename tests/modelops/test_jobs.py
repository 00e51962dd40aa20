"""Training runs: queue, one at a time, progress from Rasa's epochs, cancel, record, registry candidate.

`rasa train` is replaced by a small script with the same command line (it prints epoch bars and writes a
model archive); everything else (merge, checks, subprocess, process group, registry) is the real code.
"""

from __future__ import annotations

import stat
import sys
import time
from pathlib import Path

import pytest

from bot.db import Database
from bot.modelops import jobs, registry, trainingdata
from bot.modelops.training_models import RunStatus, TrainingRun

FAKE_RASA = """#!{python}
import io, json, sys, tarfile, time
args = sys.argv[1:]
out = args[args.index("--out") + 1]
name = args[args.index("--fixed-model-name") + 1]
data = args[args.index("--data") + 1]
delay = float(open("{delay}").read()) if __import__("os").path.exists("{delay}") else 0.0
for component in range(3):
    for percent in (0, 50, 100):
        sys.stderr.write("Epochs: %d%%|#### | 2/4 [00:01<00:01]\\r" % percent)
        sys.stderr.flush()
        time.sleep(delay)
if "fail" in open(data + "/nlu/admin_examples.yml").read():
    sys.stderr.write("\\nInvalidConfigException: boom\\n")
    sys.exit(1)
meta = json.dumps({{"trained_at": "2026-11-28T08:00:00+00:00"}}).encode()
with tarfile.open(out + "/" + name + ".tar.gz", "w:gz") as archive:
    info = tarfile.TarInfo("metadata.json")
    info.size = len(meta)
    archive.addfile(info, io.BytesIO(meta))
print("Your Rasa model is trained and saved")
"""


@pytest.fixture
def worker(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> jobs.TrainingWorker:
    fake = tmp_path / "rasa"
    fake.write_text(FAKE_RASA.format(python=sys.executable, delay=tmp_path / "delay"))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(jobs, "LOCK_FILE", tmp_path / "train.lock")
    return jobs.TrainingWorker(
        database, tmp_path / "models", runs_dir=tmp_path / "runs", rasa_bin=fake, validate=lambda m, c: []
    )


def _run(database: Database, run_id: int) -> TrainingRun:
    with database.session() as session:
        run = session.get_one(TrainingRun, run_id)
        session.expunge(run)
        return run


def _wait(database: Database, run_id: int, statuses: tuple[str, ...], timeout: float = 30) -> TrainingRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = _run(database, run_id)
        if run.status in statuses:
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still {_run(database, run_id).status}")


def test_progress_follows_the_three_epoch_bars() -> None:
    progress = jobs.Progress()
    seen = [progress.feed(f"Epochs: {p}%|###") for p in (0, 50, 100, 0, 100, 10, 100)]
    assert seen == [10, 24, 38, 38, 66, 69, 95]
    assert progress.feed("INFO loading") is None


def test_a_run_trains_records_and_registers_a_candidate(
    database: Database, worker: jobs.TrainingWorker
) -> None:
    with database.session() as session:
        trainingdata.add_example(session, "aktivasi ikd di hp", "faq/ktp_el", "admin")
        run = jobs.request_run(session, "admin", "config.ci.yml")
        assert jobs.request_run(session, "lain", "config.ci.yml").id == run.id  # asked twice: one run
        run_id = run.id
    worker.kick()
    done = _wait(database, run_id, ("succeeded", "failed"))
    assert done.status == "succeeded", done.error
    assert done.progress == 100 and done.started_at and done.finished_at
    assert done.data_hash and done.config == "config.ci.yml" and done.holdout
    assert done.model_path and Path(done.model_path).name == f"nlu-{run_id}-{done.data_hash[:16]}.tar.gz"
    assert "Epochs: 100%" in jobs.read_log(done)
    with database.session() as session:
        model = registry.find_model(session, done.model_id or 0)
        assert model is not None and model.status == "candidate"
        assert model.trained_by == "admin" and model.config == "config.ci.yml"
        assert model.data_hash == done.data_hash
    merged = Path(done.log_path or "").parent / "data" / "nlu" / "admin_examples.yml"
    assert "aktivasi ikd di hp" in merged.read_text()


def test_runs_queue_and_run_one_at_a_time(database: Database, worker: jobs.TrainingWorker) -> None:
    with database.session() as session:
        first = jobs.request_run(session, "admin", "config.ci.yml").id
        second = jobs.request_run(session, "admin", "config.yml").id
        assert jobs.queue_position(session, session.get_one(TrainingRun, second)) == 2
    worker.kick()
    worker.kick()  # a second kick does not start a second worker
    one = _wait(database, first, ("succeeded",))
    two = _wait(database, second, ("succeeded",))
    assert one.finished_at and two.started_at and two.started_at >= one.finished_at


def test_a_failed_training_keeps_the_log_tail(database: Database, worker: jobs.TrainingWorker) -> None:
    with database.session() as session:
        trainingdata.add_example(session, "ini fail", "greet", "admin")
        run_id = jobs.request_run(session, "admin").id
    worker.kick()
    run = _wait(database, run_id, ("failed", "succeeded"))
    assert run.status == "failed" and "InvalidConfigException: boom" in (run.error or "")
    assert run.model_id is None


def test_invalid_data_stops_the_run_before_training(database: Database, worker: jobs.TrainingWorker) -> None:
    worker.validate = lambda merged, config: ["rasa data validate gagal: intent 'x' tidak ada di domain"]
    with database.session() as session:
        run_id = jobs.request_run(session, "admin").id
    worker.kick()
    run = _wait(database, run_id, ("failed", "succeeded"))
    assert run.status == "failed" and "rasa data validate gagal" in (run.error or "")
    assert jobs.read_log(run) == ""  # rasa train never started


def test_cancel_a_queued_and_a_running_run(database: Database, worker: jobs.TrainingWorker) -> None:
    with database.session() as session:
        queued = jobs.request_run(session, "admin", "config.yml")
        jobs.cancel(session, queued.id)
        assert queued.status == "cancelled"
        with pytest.raises(jobs.TrainingError):
            jobs.cancel(session, queued.id)
        running_id = jobs.request_run(session, "admin").id
    (worker.runs_dir.parent / "delay").write_text("5")
    worker.kick()
    _wait(database, running_id, ("running",))
    deadline = time.monotonic() + 20
    while _run(database, running_id).progress < 10 and time.monotonic() < deadline:
        time.sleep(0.1)
    with database.session() as session:
        jobs.cancel(session, running_id)
    run = _wait(database, running_id, (RunStatus.CANCELLED.value, "succeeded", "failed"), timeout=15)
    assert run.status == "cancelled" and run.model_id is None


def test_unknown_config_is_refused(database: Database) -> None:
    with database.session() as session, pytest.raises(jobs.TrainingError, match="tidak dikenal"):
        jobs.request_run(session, "admin", "../../etc/passwd")


def test_a_restarted_service_fails_runs_left_running(database: Database, sqlite_url: str) -> None:
    from fastapi.testclient import TestClient

    from bot.api.app import create_app
    from bot.settings import Settings

    with database.session() as session:
        left = TrainingRun(requested_by="admin", config="config.ci.yml", status=RunStatus.RUNNING.value)
        session.add(left)
        session.flush()
        left_id = left.id
    app = create_app(Settings(database_url=sqlite_url, rasa_url="http://127.0.0.1:9"), database)
    with TestClient(app):
        pass
    run = _run(database, left_id)
    assert run.status == RunStatus.FAILED.value
    assert "Terputus" in (run.error or "")
