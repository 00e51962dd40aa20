"""Training runs: a queue worked one at a time by a background thread, each run a `rasa train` subprocess.

A run merges the database's data with nlu_data/ (without the held-out evaluation split, unless asked
otherwise), validates it, trains under `nice` and the machine-wide training lock, follows the epochs in
Rasa's log for its progress, and registers the model in the registry as a candidate. A run can be
cancelled while queued or running (its process group is killed).
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import Database, utcnow
from bot.modelops import evaluation, registry, trainingdata
from bot.modelops.training_models import RunStatus, TrainingRun
from bot.rasa_environment import rasa_environment
from bot.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

RUNS_DIR = PROJECT_ROOT / "var" / "training"
LOCK_FILE = Path(os.environ.get("LAYANAN_CACHE", Path.home() / ".cache" / "layanan-aduan")) / "train.lock"
CONFIGS = ("config.ci.yml", "config.yml")
POLL_SECONDS = 1.0
TRAIN_TIMEOUT_SECONDS = 4 * 3600
_EPOCHS = re.compile(r"Epochs:\s+(\d+)%")
ACTIVE = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)


class TrainingError(ValueError):
    """A request the queue cannot honour; the message is shown to the admin (Indonesian)."""


def request_run(
    session: Session, by: str, config: str = "config.ci.yml", holdout: bool = True
) -> TrainingRun:
    """Queues a run. Asking again while one of the same kind waits returns the waiting one."""
    if config not in CONFIGS:
        raise TrainingError(f"Konfigurasi tidak dikenal: {config[:60]} (pilih {', '.join(CONFIGS)}).")
    waiting = session.scalar(
        select(TrainingRun).where(
            TrainingRun.status == RunStatus.QUEUED.value,
            TrainingRun.config == config,
            TrainingRun.holdout == holdout,
        )
    )
    if waiting is not None:
        return waiting
    run = TrainingRun(requested_by=by[:120], config=config, holdout=holdout, status=RunStatus.QUEUED.value)
    session.add(run)
    session.flush()
    return run


def cancel(session: Session, run_id: int) -> TrainingRun:
    run = session.get(TrainingRun, run_id)
    if run is None:
        raise TrainingError("Pelatihan tidak ditemukan.")
    if run.status not in ACTIVE:
        raise TrainingError("Pelatihan ini sudah selesai dan tidak dapat dibatalkan.")
    if run.status == RunStatus.QUEUED.value:
        _finish(run, RunStatus.CANCELLED, "Dibatalkan sebelum dimulai.")
    else:
        run.cancel_requested = True  # the worker kills the process on its next poll
    return run


def recent_runs(session: Session, limit: int = 20) -> list[TrainingRun]:
    return list(session.scalars(select(TrainingRun).order_by(TrainingRun.id.desc()).limit(limit)))


def queue_position(session: Session, run: TrainingRun) -> int:
    if run.status != RunStatus.QUEUED.value:
        return 0
    ahead = session.scalars(
        select(TrainingRun.id).where(TrainingRun.status.in_(ACTIVE), TrainingRun.id < run.id)
    )
    return len(list(ahead)) + 1


def read_log(run: TrainingRun, max_chars: int = 20_000) -> str:
    return tail(Path(run.log_path), max_chars) if run.log_path else ""


def tail(path: Path, max_chars: int) -> str:
    if not path.is_file():
        return ""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - max_chars))
        return handle.read().decode("utf-8", errors="replace")


def _finish(run: TrainingRun, status: RunStatus, detail: str | None) -> None:
    run.status = status.value
    run.finished_at = utcnow()
    run.stage = {
        RunStatus.SUCCEEDED: "Selesai",
        RunStatus.FAILED: "Gagal",
        RunStatus.CANCELLED: "Dibatalkan",
    }.get(status, run.stage)
    if detail:
        run.error = detail[:4000]


def interrupt_leftovers(session: Session) -> int:
    """Runs a stopped service left "running" are failed (their process died with it)."""
    rows = list(session.scalars(select(TrainingRun).where(TrainingRun.status == RunStatus.RUNNING.value)))
    for row in rows:
        _finish(row, RunStatus.FAILED, "Terputus: layanan berhenti sebelum pelatihan selesai.")
    return len(rows)


class Progress:
    """Rasa trains DIET, the ResponseSelector and TED one after the other, each with an epoch bar;
    a bar that starts again from a lower percentage is the next component."""

    COMPONENTS = 3

    def __init__(self) -> None:
        self.component = 0
        self.last = 0

    def feed(self, line: str) -> int | None:
        found = _EPOCHS.findall(line)
        if not found:
            return None
        percent = int(found[-1])
        if percent < self.last and self.component < self.COMPONENTS - 1:
            self.component += 1
        self.last = percent
        return min(99, 10 + int(85 * (self.component + percent / 100) / self.COMPONENTS))


class TrainingWorker:
    """Works the queue of one database, one run at a time, in a daemon thread."""

    def __init__(
        self,
        database: Database,
        models_dir: Path,
        runs_dir: Path = RUNS_DIR,
        rasa_bin: Path = PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa",
        validate: Callable[[trainingdata.MergedData, Path], list[str]] = trainingdata.rasa_validate,
    ) -> None:
        self.database = database
        self.models_dir = models_dir
        self.runs_dir = runs_dir
        self.rasa_bin = rasa_bin
        self.validate = validate
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None

    def kick(self) -> None:
        """Starts the worker thread if it is not already working the queue."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._loop, name="training-worker", daemon=True)
            self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def stop_now(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)

    def _loop(self) -> None:
        while (run_id := self._claim()) is not None:
            try:
                self.run(run_id)
            except Exception as error:  # a broken run must not stop the queue
                logger.exception("training run #%d failed", run_id)
                detail = f"Kesalahan: {type(error).__name__}: {error}"
                self._update(run_id, lambda r, d=detail: _finish(r, RunStatus.FAILED, d))  # type: ignore[misc]

    def _claim(self) -> int | None:
        with self.database.session() as session:
            if session.scalar(select(TrainingRun.id).where(TrainingRun.status == RunStatus.RUNNING.value)):
                return None  # another process works a run; one at a time
            run = session.scalar(
                select(TrainingRun)
                .where(TrainingRun.status == RunStatus.QUEUED.value)
                .order_by(TrainingRun.id)
            )
            if run is None:
                return None
            run.status, run.started_at, run.stage = RunStatus.RUNNING.value, utcnow(), "Menyiapkan data"
            run.progress = 2
            return run.id

    def _update(self, run_id: int, change: Callable[[TrainingRun], None]) -> TrainingRun:
        with self.database.session() as session:
            run = session.get_one(TrainingRun, run_id)
            change(run)
            session.flush()
            session.expunge(run)
            return run

    def run(self, run_id: int) -> None:
        """One claimed run from data to registered model (also called directly by `bot train`)."""
        with self.database.session() as session:
            run = session.get_one(TrainingRun, run_id)
            # Ids repeat across databases (tests, a second deployment) sharing one checkout: the
            # request time keeps their directories apart.
            workdir = self.runs_dir / f"run-{run_id}-{run.requested_at:%Y%m%d%H%M%S%f}"
            workdir.mkdir(parents=True, exist_ok=True)
            log_path = workdir / "train.log"
            run.log_path = str(log_path)
            config, holdout = run.config, run.holdout
            held = evaluation.heldout_pairs(session) if holdout else []
            merged = trainingdata.merge(session, workdir, held)
            run.data_hash = merged.data_hash
            run.stage, run.progress = "Memeriksa data", 5
        if not merged.report.ok:
            self._update(run_id, lambda r: _finish(r, RunStatus.FAILED, "\n".join(merged.report.errors)))
            return
        problems = self.validate(merged, PROJECT_ROOT / config)
        if problems:
            self._update(run_id, lambda r: _finish(r, RunStatus.FAILED, "\n".join(problems)))
            return
        name = f"nlu-{run_id}-{merged.data_hash[:16]}"
        self._update(run_id, lambda r: setattr(r, "stage", "Menunggu giliran mesin latih"))
        outcome = self._train(run_id, merged, config, name, log_path)
        if outcome is not None:
            status, detail = outcome
            self._update(run_id, lambda r: _finish(r, status, detail))
            return
        self._register(run_id, self.models_dir / f"{name}.tar.gz", config, holdout)

    def _train(
        self, run_id: int, merged: trainingdata.MergedData, config: str, name: str, log_path: Path
    ) -> tuple[RunStatus, str] | None:
        self.models_dir.mkdir(parents=True, exist_ok=True)
        command = [
            "flock",
            str(LOCK_FILE),
            "nice",
            "-n",
            "10",
            str(self.rasa_bin),
            "train",
            "--config",
            str(PROJECT_ROOT / config),
            "--domain",
            str(merged.domain),
            "--data",
            str(merged.data_dir),
            "--out",
            str(self.models_dir),
            "--fixed-model-name",
            name,
        ]
        LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
        env = rasa_environment()
        started = time.monotonic()
        progress = Progress()
        with log_path.open("ab") as log, log_path.open("rb") as reader:
            self._process = process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                while process.poll() is None:
                    time.sleep(POLL_SECONDS)
                    percent = None
                    for line in (
                        reader.read().decode("utf-8", errors="replace").replace("\r", "\n").splitlines()
                    ):
                        percent = progress.feed(line) or percent
                    if self._poll(run_id, percent):
                        os.killpg(process.pid, signal.SIGKILL)
                        process.wait()
                        return RunStatus.CANCELLED, "Dibatalkan oleh admin."
                    if time.monotonic() - started > TRAIN_TIMEOUT_SECONDS:
                        os.killpg(process.pid, signal.SIGKILL)
                        process.wait()
                        return RunStatus.FAILED, "Pelatihan melewati batas waktu."
            finally:
                self._process = None
        if process.returncode != 0:
            return (
                RunStatus.FAILED,
                f"rasa train keluar dengan kode {process.returncode}:\n{tail(log_path, 1500)}",
            )
        return None

    def _poll(self, run_id: int, percent: int | None) -> bool:
        """Stores progress; True when an admin asked to cancel."""

        def change(run: TrainingRun) -> None:
            if percent is not None:
                run.progress, run.stage = percent, "Melatih model"

        return self._update(run_id, change).cancel_requested

    def _register(self, run_id: int, model_path: Path, config: str, holdout: bool) -> None:
        if not model_path.is_file():
            self._update(run_id, lambda r: _finish(r, RunStatus.FAILED, "Berkas model tidak ditemukan."))
            return
        with self.database.session() as session:
            run = session.get_one(TrainingRun, run_id)
            sidecar = {"config": config, "trained_by": run.requested_by, "holdout": holdout, "run_id": run_id}
            model_path.with_name(model_path.name[: -len(".tar.gz")] + ".meta.json").write_text(
                json.dumps(sidecar), encoding="utf-8"
            )
            model, _ = registry.register(session, registry.inspect_model_file(model_path), run.requested_by)
            model.data_hash = run.data_hash
            run.model_path, run.model_id, run.progress = str(model_path), model.id, 100
            _finish(run, RunStatus.SUCCEEDED, None)


_workers: dict[int, TrainingWorker] = {}
_workers_lock = threading.Lock()


def worker_for(database: Database, models_dir: Path) -> TrainingWorker:
    """One worker per database in this process (the service keeps it for its lifetime)."""
    with _workers_lock:
        worker = _workers.get(id(database))
        if worker is None:
            worker = _workers[id(database)] = TrainingWorker(database, models_dir)
        return worker
