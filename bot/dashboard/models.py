"""Admin page of the model registry (/dashboard/model): the models with their metrics and which is live,
deploy and roll back (blue/green, bot/modelops/deployer.py) and the progress of a running deploy."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.api.deps import SessionDep
from bot.dashboard.deps import AdminDep, CsrfDep, DashboardError, client_ip
from bot.dashboard.templating import render, set_flash
from bot.db import Database
from bot.ids import DbId, parse_db_id
from bot.modelops import registry
from bot.modelops.deployer import STAGE_LABELS, DeployBusy, Deployer
from bot.modelops.models import ModelDeployment
from bot.modelops.registry import RegistryError
from bot.settings import Settings
from bot.staff.audit_log import AccessAction, log_access

router = APIRouter(tags=["dashboard"])
MODELS_PATH = "/dashboard/model"
KIND_LABELS = {"deploy": "Penerapan", "rollback": "Pengembalian", "startup": "Saat layanan mulai"}
STATUS_LABELS = {"running": "Berjalan", "succeeded": "Berhasil", "failed": "Gagal"}
MODEL_STATUS_LABELS = {"live": "Aktif", "retired": "Pernah aktif", "candidate": "Kandidat"}


def _deployer(request: Request) -> Deployer | None:
    deployer: Deployer | None = request.app.state.deployer
    return deployer


def _running(session: SessionDep, deployer: Deployer | None) -> ModelDeployment | None:
    if deployer is None or (deployer.running_id or 0) <= 0:
        return None
    return registry.get_deployment(session, deployer.running_id or 0)


def _context(request: Request, session: SessionDep) -> dict[str, object]:
    deployer = _deployer(request)
    return {
        "nav_active": "model",
        "managed": deployer is not None,
        "models": registry.list_models(session),
        "deployments": registry.recent_deployments(session),
        "running": _running(session, deployer),
        "rollback_target": registry.rollback_target(session),
        "stage_labels": STAGE_LABELS,
        "kind_labels": KIND_LABELS,
        "status_labels": STATUS_LABELS,
        "model_status_labels": MODEL_STATUS_LABELS,
    }


@router.get(MODELS_PATH, response_class=HTMLResponse)
def models_page(request: Request, admin: AdminDep, session: SessionDep) -> HTMLResponse:
    return render(request, "models/list.html", _context(request, session))


@router.get(MODELS_PATH + "/progres", response_class=HTMLResponse)
def deploy_progress(request: Request, admin: AdminDep, session: SessionDep) -> HTMLResponse:
    """The progress box, polled by htmx while a deploy runs; the last deploy's outcome once it is over."""
    deployments = registry.recent_deployments(session, limit=1)
    context = {
        "running": _running(session, _deployer(request)),
        "last": deployments[0] if deployments else None,
        "stage_labels": STAGE_LABELS,
        "kind_labels": KIND_LABELS,
        "status_labels": STATUS_LABELS,
    }
    return render(request, "models/_progress.html", context)


def _refuse(message: str) -> Response:
    response = RedirectResponse(MODELS_PATH, status_code=303)
    set_flash(response, message)
    return response


@router.post(MODELS_PATH + "/{model_id}/terapkan", dependencies=[CsrfDep])
async def deploy(request: Request, model_id: DbId, admin: AdminDep, session: SessionDep) -> Response:
    deployer = _deployer(request)
    if deployer is None:
        raise DashboardError(409, "Rasa tidak dikelola layanan ini (RASA_MANAGED=false).")
    try:
        deployment_id = await deployer.begin(model_id, admin.actor)
    except (DeployBusy, RegistryError) as refused:
        return _refuse(f"Tidak dapat menerapkan: {refused}")
    log_access(
        session,
        admin,
        AccessAction.MODEL_DEPLOY,
        target_type="rasa_model",
        target_id=model_id,
        detail=f"penerapan #{deployment_id}",
        ip=client_ip(request),
    )
    response = RedirectResponse(MODELS_PATH, status_code=303)
    set_flash(response, "Penerapan dimulai. Percakapan warga tetap berjalan selama proses ini.")
    return response


@router.post(MODELS_PATH + "/kembalikan", dependencies=[CsrfDep])
async def rollback(
    request: Request,
    admin: AdminDep,
    session: SessionDep,
    model_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    deployer = _deployer(request)
    if deployer is None:
        raise DashboardError(409, "Rasa tidak dikelola layanan ini (RASA_MANAGED=false).")
    chosen = parse_db_id(model_id) if model_id else None
    if model_id and chosen is None:
        return _refuse("Model yang dipilih tidak valid.")
    try:
        deployment_id = await deployer.begin_rollback(chosen, admin.actor)
    except (DeployBusy, RegistryError) as refused:
        return _refuse(f"Tidak dapat mengembalikan: {refused}")
    deployment = registry.get_deployment(session, deployment_id)
    log_access(
        session,
        admin,
        AccessAction.MODEL_ROLLBACK,
        target_type="rasa_model",
        target_id=deployment.model_id if deployment else model_id,
        detail=f"pengembalian #{deployment_id}",
        ip=client_ip(request),
    )
    response = RedirectResponse(MODELS_PATH, status_code=303)
    set_flash(response, "Pengembalian model dimulai. Percakapan warga tetap berjalan selama proses ini.")
    return response


def _scan(database: Database, settings: Settings) -> list[str]:
    """Registers the model files of RASA_MODELS_DIR the registry does not know yet; their names."""
    added: list[str] = []
    for path in sorted(settings.rasa_models_dir.glob("*.tar.gz")):
        with database.session() as session:
            known = {m.path for m in registry.list_models(session)}
            if str(path.resolve()) in known:
                continue
            try:
                model, created = registry.register(session, registry.inspect_model_file(path))
            except RegistryError:
                continue  # not a model archive; nothing to list
            if created:
                added.append(model.name)
    return added


@router.post(MODELS_PATH + "/pindai", dependencies=[CsrfDep])
async def scan(request: Request, admin: AdminDep, session: SessionDep) -> Response:
    added = await asyncio.to_thread(_scan, request.app.state.database, request.app.state.settings)
    for name in added:
        log_access(
            session,
            admin,
            AccessAction.MODEL_REGISTERED,
            target_type="rasa_model",
            detail=name,
            ip=client_ip(request),
        )
    response = RedirectResponse(MODELS_PATH, status_code=303)
    set_flash(response, f"{len(added)} model baru didaftarkan." if added else "Tidak ada berkas model baru.")
    return response
