"""Managed mode (RASA_MANAGED=true): the service runs Rasa itself and can deploy models blue/green.

On start-up the live model of the registry is started (or RASA_MODEL, or the newest file in
RASA_MODELS_DIR, registered on the way). Start-up runs in the background: the service answers at once,
its /health says 503 until Rasa is ready, which is what `make run` waits for.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
from pathlib import Path

import httpx

from bot.db import Database
from bot.gateway.rasa_client import RasaClient
from bot.modelops import registry
from bot.modelops.deployer import Deployer, DeployerConfig, parse_ports
from bot.modelops.rasa_process import RasaCommand, SubprocessLauncher
from bot.modelops.registry import RegistryError
from bot.settings import PROJECT_ROOT, Settings

logger = logging.getLogger(__name__)


def build_deployer(
    settings: Settings, database: Database, rasa: RasaClient
) -> tuple[Deployer, SubprocessLauncher]:
    ports = parse_ports(settings.rasa_ports)
    command = RasaCommand(
        rasa_bin=PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa",
        endpoints=settings.rasa_endpoints_file,
        host=settings.rasa_host,
        # Next to endpoints.yml: var/log/rasa-<port>.log under `make run`, the test's directory in tests.
        log_dir=settings.rasa_endpoints_file.parent / "log",
    )
    # Its own client: the warm-up parse may take long, and the gateway's client is swapped on shutdown.
    launcher = SubprocessLauncher(command, httpx.AsyncClient(trust_env=False))
    config = DeployerConfig(
        ports=ports,
        start_timeout_seconds=settings.rasa_start_timeout_seconds,
        drain_timeout_seconds=settings.rasa_drain_timeout_seconds,
    )
    # Until the first server is up, the gateway points where it will be (health says 503 meanwhile).
    rasa.switch_to(f"http://{settings.rasa_host}:{ports[0]}")
    # A service killed without its shutdown hook must not leave 1-GB Rasa processes behind.
    atexit.register(launcher.stop_all_now)
    return Deployer(database, rasa, launcher, config), launcher


def _resolve_file(ref: str, models_dir: Path) -> Path | None:
    for candidate in (
        Path(ref).expanduser(),
        PROJECT_ROOT / ref,
        models_dir / ref,
        models_dir / f"{ref}.tar.gz",
    ):
        if candidate.is_file():
            return candidate
    return None


def startup_model(database: Database, settings: Settings) -> int | None:
    """Id of the model to start with, registering a file on the way; None when there is none at all."""
    models_dir = settings.rasa_models_dir
    with database.session() as session:
        if settings.rasa_model:
            found = registry.find_model(session, settings.rasa_model)
            if found is not None and Path(found.path).is_file():
                return found.id
            path = _resolve_file(settings.rasa_model, models_dir)
            if path is None:
                raise RegistryError(
                    f"RASA_MODEL {settings.rasa_model!r} is neither a file nor a registered model"
                )
            model, _ = registry.register(session, registry.inspect_model_file(path), trained_by="RASA_MODEL")
            return model.id
        live = registry.live_model(session)
        if live is not None and Path(live.path).is_file():
            return live.id
        files = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
        if not files:
            return None
        model, _ = registry.register(session, registry.inspect_model_file(files[0]))
        return model.id


async def start_live_model(deployer: Deployer, database: Database, settings: Settings) -> None:
    try:
        model_id = await asyncio.to_thread(startup_model, database, settings)
    except RegistryError as error:
        logger.error("managed Rasa: %s", error)
        return
    if model_id is None:
        logger.error(
            "managed Rasa: no model in %s; train one (make train) or set RASA_MODEL", settings.rasa_models_dir
        )
        return
    outcome = await deployer.start_up(model_id)
    if outcome.succeeded:
        logger.info("managed Rasa: live model started (%s)", outcome.detail)
    else:
        logger.error("managed Rasa: the live model did not start: %s", outcome.detail)
