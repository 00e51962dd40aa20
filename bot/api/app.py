"""The bot service's FastAPI application (`uvicorn bot.api.app:create_app --factory`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from bot.api import categories, chat, health, notifications, tickets, triage
from bot.api.errors import install_error_handlers
from bot.db import Database
from bot.gateway.gateway import Gateway
from bot.gateway.rasa_client import RasaClient
from bot.settings import Settings, get_settings

# A duplicate waits at most this long beyond one Rasa turn for the original to be answered.
DUPLICATE_WAIT_MARGIN_SECONDS = 5.0


def _rasa_http_client(settings: Settings) -> httpx.AsyncClient:
    # Rasa is on a private network: never pick up HTTP(S)_PROXY from the environment.
    return httpx.AsyncClient(timeout=settings.rasa_timeout_seconds, trust_env=False)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """Build the app. Without arguments it reads the environment and owns (and disposes) its database."""
    settings = settings or get_settings()
    owns_database = database is None
    database = database or Database(settings.database_url)
    rasa = RasaClient(settings.rasa_url, _rasa_http_client(settings), settings.rasa_timeout_seconds)
    gateway = Gateway(
        database, rasa, duplicate_wait_seconds=settings.rasa_timeout_seconds + DUPLICATE_WAIT_MARGIN_SECONDS
    )
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if rasa.http.is_closed:  # the same app started a second time (tests)
            rasa.http = _rasa_http_client(settings)
        try:
            yield
        finally:
            await rasa.http.aclose()
            if owns_database:
                database.dispose()

    app = FastAPI(
        title="Layanan Aduan",
        version="0.1.0",
        description="Asisten layanan publik: jawaban FAQ dan pengaduan warga.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.gateway = gateway
    install_error_handlers(app)
    for module in (health, chat, notifications, categories, tickets, triage):
        app.include_router(module.router)
    return app
