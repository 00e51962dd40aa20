"""`GET /health`: 200 only when the database and Rasa (with a model loaded) both answer, else 503."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import text

from bot.db import Database
from bot.gateway.gateway import Gateway
from bot.gateway.rasa_client import RasaUnavailable

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

OK = "ok"
DOWN = "down"


def _database_answers(database: Database) -> bool:
    try:
        with database.engine.connect() as connection:
            # Reading a real table also catches a database whose schema was never migrated.
            connection.execute(text("SELECT 1 FROM conversations LIMIT 1"))
        return True
    except Exception as error:  # any driver error means "down"; the reason goes to the log
        logger.warning("health: database unavailable: %s", type(error).__name__)
        return False


async def _rasa_status(gateway: Gateway) -> dict[str, Any] | None:
    try:
        return await gateway.rasa.status()
    except RasaUnavailable as error:
        logger.warning("health: Rasa unavailable: %s", error)
        return None


@router.get(
    "/health",
    responses={status.HTTP_503_SERVICE_UNAVAILABLE: {"description": "The database or Rasa does not answer."}},
)
async def health(request: Request) -> JSONResponse:
    database: Database = request.app.state.database
    gateway: Gateway = request.app.state.gateway
    database_ok, rasa = await asyncio.gather(
        asyncio.to_thread(_database_answers, database), _rasa_status(gateway)
    )
    checks = {"database": OK if database_ok else DOWN, "rasa": OK if rasa is not None else DOWN}
    body: dict[str, Any] = {"status": OK, "checks": checks}
    if rasa is not None and isinstance(rasa.get("model_file"), str):
        body["rasa_model"] = rasa["model_file"].rsplit("/", 1)[-1]
    if database_ok and rasa is not None:
        return JSONResponse(body)
    down = [name for name, state in checks.items() if state == DOWN]
    labels = {"database": "basis data", "rasa": "mesin percakapan (Rasa)"}
    body.update(
        status="unavailable",
        error="service_unavailable",
        detail="Layanan belum siap: " + " dan ".join(labels[name] for name in down) + " tidak menjawab.",
    )
    return JSONResponse(body, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
