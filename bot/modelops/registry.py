"""The registry of trained Rasa models: what each file is, its metrics, which one is live.

A model file is identified by its sha256, so registering the same file twice (or a copy under the same
name) returns the row already there. Optional facts come from a sidecar `<name>.meta.json` next to the
file (`config`, `trained_by`, `metrics`), written by whoever trained or evaluated the model.
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.db import utcnow
from bot.ids import parse_db_id
from bot.modelops.models import (
    DeploymentKind,
    DeploymentStatus,
    ModelDeployment,
    ModelStatus,
    RasaModel,
)

MODEL_SUFFIX = ".tar.gz"
# scripts/train_model.py names models `<name>-<16 hex of the inputs hash>`.
_HASHED_NAME = re.compile(r"^(?P<prefix>.+)-(?P<hash>[0-9a-f]{16})$")
_CHUNK = 1024 * 1024
MAX_METRICS_BYTES = 64 * 1024


class RegistryError(ValueError):
    """A request the registry cannot honour; the message is shown to the admin (Indonesian)."""


@dataclass(frozen=True)
class ModelFile:
    path: Path
    name: str
    sha256: str
    size_bytes: int
    created_at: datetime
    config: str | None
    data_hash: str | None
    trained_by: str | None
    metrics: dict[str, Any] | None


def model_name(path: Path) -> str:
    name = path.name
    return name[: -len(MODEL_SUFFIX)] if name.endswith(MODEL_SUFFIX) else path.stem


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _trained_at(path: Path) -> datetime | None:
    """Rasa 3 stores `trained_at` in the archive's metadata.json; older or foreign files lack it."""
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                if member.name.rsplit("/", 1)[-1] == "metadata.json" and member.isfile():
                    handle = archive.extractfile(member)
                    if handle is None:
                        return None
                    raw = json.loads(handle.read(MAX_METRICS_BYTES * 16))
                    value = raw.get("trained_at") if isinstance(raw, dict) else None
                    if not isinstance(value, str):
                        return None
                    parsed = datetime.fromisoformat(value)
                    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    except (OSError, tarfile.TarError, ValueError, EOFError):
        return None
    return None


def _sidecar(path: Path) -> dict[str, Any]:
    meta = path.with_name(model_name(path) + ".meta.json")
    if not meta.is_file() or meta.stat().st_size > MAX_METRICS_BYTES:
        return {}
    try:
        raw = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _short_text(value: Any, limit: int) -> str | None:
    return value.strip()[:limit] or None if isinstance(value, str) else None


def inspect_model_file(path: Path) -> ModelFile:
    """Reads what the registry stores about a model file (hashing it: seconds for a large model)."""
    path = path.expanduser().resolve()
    if not path.is_file():
        raise RegistryError(f"Berkas model tidak ditemukan: {path}")
    if not path.name.endswith(MODEL_SUFFIX):
        raise RegistryError("Berkas model harus berakhiran .tar.gz (keluaran `rasa train`).")
    if not tarfile.is_tarfile(path):
        raise RegistryError("Berkas ini bukan arsip model Rasa yang valid.")
    name = model_name(path)
    sidecar = _sidecar(path)
    hashed = _HASHED_NAME.match(name)
    metrics = sidecar.get("metrics")
    created = _trained_at(path) or datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    return ModelFile(
        path=path,
        name=name,
        sha256=_sha256(path),
        size_bytes=path.stat().st_size,
        created_at=created,
        config=_short_text(sidecar.get("config"), 200),
        data_hash=hashed.group("hash") if hashed else None,
        trained_by=_short_text(sidecar.get("trained_by"), 120),
        metrics=metrics if isinstance(metrics, dict) else None,
    )


def validate_metrics(metrics: Any) -> dict[str, Any] | None:
    if metrics is None:
        return None
    if not isinstance(metrics, dict):
        raise RegistryError('Metrik harus berupa objek JSON, misalnya {"intent_f1": 0.91}.')
    if len(json.dumps(metrics)) > MAX_METRICS_BYTES:
        raise RegistryError("Metrik terlalu besar (maksimum 64 KB).")
    return metrics


def register(
    session: Session,
    file: ModelFile,
    trained_by: str | None = None,
    metrics: dict[str, Any] | None = None,
) -> tuple[RasaModel, bool]:
    """The model's row, created when new; `(row, created)`. The same file is never stored twice."""
    existing = session.scalar(select(RasaModel).where(RasaModel.sha256 == file.sha256))
    if existing is not None:
        if metrics is not None:
            existing.metrics = metrics
        if existing.path != str(file.path) and not Path(existing.path).is_file():
            existing.path = str(file.path)  # the file moved; follow it
        return existing, False
    name = file.name
    if session.scalar(select(RasaModel.id).where(RasaModel.name == name)) is not None:
        # Same name, different content (retrained in place): keep both, distinguishable.
        name = f"{name}@{file.sha256[:8]}"
    model = RasaModel(
        name=name[:200],
        path=str(file.path),
        sha256=file.sha256,
        size_bytes=file.size_bytes,
        config=file.config,
        data_hash=file.data_hash,
        created_at=file.created_at,
        trained_by=trained_by or file.trained_by,
        metrics=metrics if metrics is not None else file.metrics,
        status=ModelStatus.CANDIDATE.value,
    )
    session.add(model)
    session.flush()
    return model, True


def list_models(session: Session) -> list[RasaModel]:
    return list(session.scalars(select(RasaModel).order_by(RasaModel.created_at.desc(), RasaModel.id.desc())))


def live_model(session: Session) -> RasaModel | None:
    return session.scalar(select(RasaModel).where(RasaModel.status == ModelStatus.LIVE.value))


def find_model(session: Session, ref: str | int) -> RasaModel | None:
    """By id (a number) or by name (with or without .tar.gz)."""
    text = str(ref).strip()
    if text.isascii() and text.isdigit():
        model_id = parse_db_id(text)
        return session.get(RasaModel, model_id) if model_id is not None else None
    if text.endswith(MODEL_SUFFIX):
        text = text[: -len(MODEL_SUFFIX)]
    return session.scalar(select(RasaModel).where(RasaModel.name == text))


def rollback_target(session: Session) -> RasaModel | None:
    """The model live before the current one: the most recently deployed retired model."""
    return session.scalar(
        select(RasaModel)
        .where(RasaModel.status == ModelStatus.RETIRED.value, RasaModel.deployed_at.is_not(None))
        .order_by(RasaModel.deployed_at.desc(), RasaModel.id.desc())
        .limit(1)
    )


def mark_live(session: Session, model: RasaModel, by: str) -> None:
    """`model` becomes the only live model; the one it replaces becomes a rollback target."""
    session.execute(
        update(RasaModel)
        .where(RasaModel.status == ModelStatus.LIVE.value, RasaModel.id != model.id)
        .values(status=ModelStatus.RETIRED.value)
    )
    model.status = ModelStatus.LIVE.value
    model.deployed_at = utcnow()
    model.deployed_by = by[:120]


# --- deployments -------------------------------------------------------------------------------------


def start_deployment(
    session: Session, model: RasaModel, kind: DeploymentKind, requested_by: str, stage: str
) -> ModelDeployment:
    live = live_model(session)
    deployment = ModelDeployment(
        model_id=model.id,
        previous_model_id=live.id if live is not None and live.id != model.id else None,
        kind=kind.value,
        status=DeploymentStatus.RUNNING.value,
        stage=stage,
        requested_by=requested_by[:120],
    )
    session.add(deployment)
    session.flush()
    return deployment


def set_stage(session: Session, deployment_id: int, stage: str, port: int | None = None) -> None:
    deployment = session.get(ModelDeployment, deployment_id)
    if deployment is not None:
        deployment.stage = stage
        if port is not None:
            deployment.port = port


def finish_deployment(
    session: Session, deployment_id: int, succeeded: bool, stage: str, detail: str | None
) -> None:
    deployment = session.get(ModelDeployment, deployment_id)
    if deployment is None:
        return
    deployment.status = (DeploymentStatus.SUCCEEDED if succeeded else DeploymentStatus.FAILED).value
    deployment.stage = stage
    deployment.detail = detail[:2000] if detail else None
    deployment.finished_at = utcnow()
    restarted = deployment.kind == DeploymentKind.STARTUP and deployment.model.status == ModelStatus.LIVE
    if succeeded and not restarted:  # a restart of the live model keeps who deployed it and when
        mark_live(session, deployment.model, deployment.requested_by)


def interrupt_running(session: Session, reason: str) -> int:
    """Deployments a previous process left running (it stopped mid-deploy) are failed; returns how many."""
    rows = list(
        session.scalars(
            select(ModelDeployment).where(ModelDeployment.status == DeploymentStatus.RUNNING.value)
        )
    )
    for row in rows:
        row.status = DeploymentStatus.FAILED.value
        row.detail = reason
        row.finished_at = utcnow()
    return len(rows)


def recent_deployments(session: Session, limit: int = 10) -> list[ModelDeployment]:
    return list(
        session.scalars(
            select(ModelDeployment)
            .order_by(ModelDeployment.started_at.desc(), ModelDeployment.id.desc())
            .limit(limit)
        )
    )


def get_deployment(session: Session, deployment_id: int) -> ModelDeployment | None:
    return session.get(ModelDeployment, deployment_id)
