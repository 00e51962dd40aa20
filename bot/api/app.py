"""The bot service's FastAPI application (`uvicorn bot.api.app:create_app --factory`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from bot.api import (
    catalogue,
    categories,
    chat,
    chat_sessions,
    handoffs,
    health,
    model_registry,
    notifications,
    tickets,
    triage,
    webhooks_telegram,
    webhooks_whatsapp,
)
from bot.api.errors import install_error_handlers
from bot.api.request_limits import RequestLimits
from bot.api.security_headers import SecurityHeaders
from bot.catalogue.service import CatalogueAnswerer
from bot.conversations.models import Channel
from bot.dashboard import install_dashboard
from bot.db import Database
from bot.encryption import cipher_from_settings
from bot.gateway.delivery import Delivery, DeliveryConfig
from bot.gateway.gateway import Gateway
from bot.gateway.inbox import Inbox, InboxConfig
from bot.gateway.rasa_client import RasaClient
from bot.handoff.interceptor import HandoffInterceptor
from bot.handoff.service import HandoffConfig
from bot.handoff.sweeper import HandoffSweeper
from bot.log_masking import install_log_masking
from bot.modelops.deployer import Deployer
from bot.modelops.jobs import interrupt_leftovers
from bot.modelops.managed import build_deployer, start_live_model
from bot.settings import Settings, get_settings, require_secrets
from bot.survey.interceptor import SurveyInterceptor
from bot.tracker_retention import TrackerPruner
from connectors.base import Connector
from connectors.telegram import telegram_connector
from connectors.whatsapp import whatsapp_connector

# A duplicate waits at most this long beyond one Rasa turn for the original to be answered.
DUPLICATE_WAIT_MARGIN_SECONDS = 5.0
# Form fields and part headers around an uploaded attachment.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
# The training-data import form (600,000 characters of YAML, URL-encoded).
NLU_IMPORT_MAX_BYTES = 4 * 1024 * 1024


def _rasa_http_client(settings: Settings) -> httpx.AsyncClient:
    # Rasa is on a private network: never pick up HTTP(S)_PROXY from the environment.
    return httpx.AsyncClient(timeout=settings.rasa_timeout_seconds, trust_env=False)


async def _open_connectors(connectors: dict[str, Connector]) -> None:
    # Optional hooks beyond the Connector protocol: a connector holding connection pools opens them in
    # `start` (again, when the same app is started a second time) and closes them in `aclose`.
    for connector in connectors.values():
        start = getattr(connector, "start", None)
        if start is not None:
            await start()


async def _close_connectors(connectors: dict[str, Connector]) -> None:
    for connector in connectors.values():
        close = getattr(connector, "aclose", None)
        if close is not None:
            await close()


def _interrupt_leftover_training(database: Database) -> None:
    try:
        with database.session() as session:
            interrupted = interrupt_leftovers(session)
    except SQLAlchemyError as error:
        # The service must start even while its database is down (/health then answers 503).
        logging.getLogger(__name__).warning("could not check for interrupted training runs: %s", error)
        return
    if interrupted:
        logging.getLogger(__name__).warning(
            "%d training run(s) interrupted by a restart marked failed", interrupted
        )


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """Build the app. Without arguments it reads the environment and owns (and disposes) its database."""
    settings = settings or get_settings()
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    # Before anything can log a citizen's id; then no secret may be missing, short or an example.
    install_log_masking(settings.log_hash_key)
    require_secrets(settings, "the bot service")
    owns_database = database is None
    database = database or Database(settings.database_url)
    rasa = RasaClient(settings.rasa_url, _rasa_http_client(settings), settings.rasa_timeout_seconds)
    gateway = Gateway(
        database,
        rasa,
        duplicate_wait_seconds=settings.rasa_timeout_seconds + DUPLICATE_WAIT_MARGIN_SECONDS,
        retry_failed_max_age_seconds=settings.inbox_retry_failed_max_age_seconds,
        retry_failed_max_attempts=settings.inbox_retry_failed_max_attempts,
        cipher=cipher_from_settings(settings),  # an invalid DATA_ENCRYPTION_KEY stops the start here
    )
    # Messaging platforms, by channel name. The inbox (inbound webhooks) and the delivery worker (outbound
    # sends) look connectors up here when they need them, so a connector added below is used at once.
    connectors: dict[str, Connector] = {}
    delivery = Delivery(database, connectors, DeliveryConfig.from_settings(settings))
    inbox = Inbox(database, gateway, delivery, connectors, InboxConfig.from_settings(settings))
    # Human handoff: while an officer holds a conversation the bot stays silent for that citizen.
    handoff_config = HandoffConfig.from_settings(settings)
    gateway.interceptors.append(HandoffInterceptor(database))
    handoff_sweeper = HandoffSweeper(database, gateway, handoff_config)
    # The SKM survey answers its own buttons and typed answers; after the handoff, which takes precedence.
    gateway.interceptors.append(SurveyInterceptor(database))
    # Rasa's tracker store keeps every message: old events are deleted (RASA_TRACKER_RETENTION_DAYS).
    tracker_pruner = TrackerPruner(settings)
    # RASA_MANAGED: the service runs Rasa itself and deploys models blue/green (bot/modelops).
    deployer: Deployer | None = None
    if settings.rasa_managed:
        deployer, rasa_launcher = build_deployer(settings, database, rasa)
    if gateway.cipher is None:
        logging.getLogger(__name__).warning(
            "DATA_ENCRYPTION_KEY is not set: NIKs in chats and complaints are kept masked only"
        )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if rasa.http.is_closed:  # the same app started a second time (tests)
            rasa.http = _rasa_http_client(settings)
        rasa_start: asyncio.Task[None] | None = None
        try:
            # Start-up recovery: queued outbound rows are sent, inbound rows never processed are processed
            # (once, whichever replica claims them first); both then keep running in the background.
            # A training run left "running" by a stopped service died with it: mark it failed so the
            # queue (one run at a time) is free again.
            await asyncio.to_thread(_interrupt_leftover_training, database)
            await _open_connectors(connectors)
            await delivery.start()
            await inbox.start()
            await handoff_sweeper.start()
            await tracker_pruner.start()
            if deployer is not None:
                rasa_start = asyncio.create_task(start_live_model(deployer, database, settings))
            yield
        finally:
            if deployer is not None:
                if rasa_start is not None and not rasa_start.done():
                    rasa_start.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await rasa_start
                await deployer.close()
                await rasa_launcher.http.aclose()
            await tracker_pruner.close()
            await handoff_sweeper.close()
            await inbox.close()
            await delivery.close()
            await _close_connectors(connectors)
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
    app.state.connectors = connectors
    app.state.inbox = inbox
    app.state.delivery = delivery
    app.state.handoff_config = handoff_config
    app.state.handoff_sweeper = handoff_sweeper
    app.state.deployer = deployer
    # Service catalogue: answers from the stored catalogue, index rebuilt when an import or edit moves it.
    app.state.catalogue = CatalogueAnswerer(
        database,
        settings.catalogue_refresh_seconds,
        [c.strip() for c in settings.sla_holiday_categories.split(",") if c.strip()],
    )
    install_error_handlers(app)
    app.include_router(chat_sessions.router)  # web-chat identities (bot/webchat)
    # Body caps and NUL in URLs before any route (bot/api/request_limits.py); uploads and the platforms'
    # webhooks may send more than REQUEST_MAX_BYTES. Then security headers on every response.
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.request_max_bytes,
        route_limits=[
            (r"/api/v1/tickets/[^/]+/attachments", settings.attachment_max_bytes + MULTIPART_OVERHEAD_BYTES),
            (r"/dashboard/nlu/data/impor", NLU_IMPORT_MAX_BYTES),
            (r"/webhooks/telegram", webhooks_telegram.MAX_BODY_BYTES),
            (r"/webhooks/whatsapp", webhooks_whatsapp.MAX_BODY_BYTES),
        ],
    )
    app.add_middleware(SecurityHeaders)
    for module in (
        health,
        chat,
        notifications,
        categories,
        tickets,
        triage,
        handoffs,
        model_registry,
        catalogue,
    ):
        app.include_router(module.router)
    install_dashboard(app)

    # --- messaging connectors -------------------------------------------------------------------------
    # One block per platform: build its connector, register it under its channel name, add its webhook
    # router. The webhook route, after verifying the request, calls
    #     await request.app.state.inbox.accept_events(connector.parse_webhook(body))
    # and answers 200 at once (processing and sending run in the background).
    #   connectors[Channel.TELEGRAM] = ...   (connectors/telegram.py)
    if settings.telegram_bot_token:  # Telegram: on when TELEGRAM_BOT_TOKEN is set
        connectors[Channel.TELEGRAM] = telegram_connector(settings, database)
    app.include_router(webhooks_telegram.router)  # answers 404 while Telegram is off or in polling mode
    # WhatsApp: on when WHATSAPP_ACCESS_TOKEN and WHATSAPP_PHONE_NUMBER_ID are set.
    if settings.whatsapp_access_token and settings.whatsapp_phone_number_id:
        connectors[Channel.WHATSAPP] = whatsapp_connector(settings, database)
    # GET (Meta's verification) needs only WHATSAPP_VERIFY_TOKEN; POST answers 404 while WhatsApp is off.
    app.include_router(webhooks_whatsapp.router)
    # ----------------------------------------------------------------------------------------------------
    return app
