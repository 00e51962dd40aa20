"""Admin API of the model registry (service token): list models, deploy one, roll back, follow progress.

`bot model deploy|rollback` use it: only the service process owns the gateway, so only it can switch Rasa.
Deploy and rollback answer 202 at once with the deployment id; `?wait=true` answers when it has finished.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from bot.api.deps import SessionDep, require_service_token
from bot.ids import DbId
from bot.modelops import registry
from bot.modelops.deployer import STAGE_LABELS, DeployBusy, Deployer
from bot.modelops.models import ModelDeployment, RasaModel
from bot.modelops.registry import RegistryError

router = APIRouter(prefix="/api/v1/models", tags=["models"], dependencies=[Depends(require_service_token)])

API_ACTOR = "api"


class ModelOut(BaseModel):
    id: int
    name: str
    path: str
    sha256: str
    size_bytes: int
    config: str | None
    data_hash: str | None
    created_at: datetime
    trained_by: str | None
    metrics: dict[str, Any] | None
    status: str
    deployed_at: datetime | None
    deployed_by: str | None


class DeploymentOut(BaseModel):
    id: int
    model_id: int
    model_name: str
    previous_model_id: int | None
    kind: str
    status: str
    stage: str
    stage_label: str
    requested_by: str
    started_at: datetime
    finished_at: datetime | None
    port: int | None
    detail: str | None


class RegistryOut(BaseModel):
    managed: bool
    live_model_id: int | None
    running_deployment_id: int | None
    models: list[ModelOut]


class RollbackIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    model: str | None = Field(
        default=None, max_length=200, description="Name or id; empty = the previous model."
    )
    requested_by: str | None = Field(default=None, max_length=120)


class DeployIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    requested_by: str | None = Field(default=None, max_length=120)


def model_out(model: RasaModel) -> ModelOut:
    return ModelOut.model_validate(model, from_attributes=True)


def deployment_out(deployment: ModelDeployment) -> DeploymentOut:
    return DeploymentOut(
        id=deployment.id,
        model_id=deployment.model_id,
        model_name=deployment.model.name,
        previous_model_id=deployment.previous_model_id,
        kind=deployment.kind,
        status=deployment.status,
        stage=deployment.stage,
        stage_label=STAGE_LABELS.get(deployment.stage, deployment.stage),
        requested_by=deployment.requested_by,
        started_at=deployment.started_at,
        finished_at=deployment.finished_at,
        port=deployment.port,
        detail=deployment.detail,
    )


def get_deployer(request: Request) -> Deployer:
    deployer: Deployer | None = request.app.state.deployer
    if deployer is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "Rasa tidak dikelola layanan ini (RASA_MANAGED=false); penerapan model tidak tersedia.",
        )
    return deployer


DeployerDep = Annotated[Deployer, Depends(get_deployer)]


@router.get("")
def list_registry(request: Request, session: SessionDep) -> RegistryOut:
    deployer: Deployer | None = request.app.state.deployer
    models = registry.list_models(session)
    live = next((m.id for m in models if m.status == "live"), None)
    running = deployer.running_id if deployer is not None and (deployer.running_id or 0) > 0 else None
    return RegistryOut(
        managed=deployer is not None,
        live_model_id=live,
        running_deployment_id=running,
        models=[model_out(m) for m in models],
    )


@router.get("/deployments/{deployment_id}")
def get_deployment(deployment_id: DbId, session: SessionDep) -> DeploymentOut:
    deployment = registry.get_deployment(session, deployment_id)
    if deployment is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Penerapan tidak ditemukan.")
    return deployment_out(deployment)


async def _started(request: Request, response: Response, deployment_id: int, wait: bool) -> DeploymentOut:
    deployer: Deployer = request.app.state.deployer
    if wait:
        await deployer.wait()
    response.status_code = status.HTTP_200_OK if wait else status.HTTP_202_ACCEPTED
    database = request.app.state.database

    def read() -> DeploymentOut:
        with database.session() as session:
            deployment = registry.get_deployment(session, deployment_id)
            assert deployment is not None
            return deployment_out(deployment)

    return await asyncio.to_thread(read)


def _refused(error: Exception) -> HTTPException:
    code = status.HTTP_409_CONFLICT if isinstance(error, DeployBusy) else status.HTTP_422_UNPROCESSABLE_ENTITY
    return HTTPException(code, str(error))


@router.post("/{model_ref}/deploy", status_code=status.HTTP_202_ACCEPTED)
async def deploy_model(
    model_ref: str,
    request: Request,
    response: Response,
    deployer: DeployerDep,
    body: DeployIn | None = None,
    wait: Annotated[bool, Query(description="Answer when the deploy has finished.")] = False,
) -> DeploymentOut:
    actor = (body.requested_by if body and body.requested_by else None) or API_ACTOR
    try:
        deployment_id = await deployer.begin(model_ref[:200], actor)
    except (DeployBusy, RegistryError) as error:
        raise _refused(error) from error
    return await _started(request, response, deployment_id, wait)


@router.post("/rollback", status_code=status.HTTP_202_ACCEPTED)
async def rollback_model(
    request: Request,
    response: Response,
    deployer: DeployerDep,
    body: RollbackIn | None = None,
    wait: Annotated[bool, Query(description="Answer when the rollback has finished.")] = False,
) -> DeploymentOut:
    actor = (body.requested_by if body and body.requested_by else None) or API_ACTOR
    try:
        deployment_id = await deployer.begin_rollback(body.model if body and body.model else None, actor)
    except (DeployBusy, RegistryError) as error:
        raise _refused(error) from error
    return await _started(request, response, deployment_id, wait)
