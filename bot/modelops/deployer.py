"""Blue/green deployment of Rasa models with zero downtime.

An in-place `PUT /model` blocks a Rasa server for the whole model load (66 s measured), so a deploy starts
a second server on the other port of a pair, waits until it answers (status + a warm-up parse), switches
the gateway's RasaClient to it (new turns go there; turns in flight finish on the old server), waits for
the old server's turns to drain, then stops it. Both servers share the tracker store, so a conversation
in the middle of a form keeps its state. If the candidate never becomes ready, it is stopped and the live
server is left untouched. One deploy at a time; a rollback is a deploy of an earlier model.

Only the process that owns the gateway can deploy; other processes ask it over the admin API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from bot.db import Database
from bot.gateway.rasa_client import RasaClient
from bot.modelops import registry
from bot.modelops.models import DeploymentKind, ModelStatus, RasaModel
from bot.modelops.rasa_process import Launcher, RasaServer, StartFailed
from bot.modelops.registry import RegistryError

logger = logging.getLogger(__name__)

DRAIN_POLL_SECONDS = 0.05

STAGE_LABELS: dict[str, str] = {
    "starting": "Menyalakan server Rasa baru",
    "loading": "Memuat model dan uji parse pertama",
    "switching": "Mengalihkan percakapan ke server baru",
    "draining": "Menunggu percakapan di server lama selesai",
    "stopping": "Menghentikan server lama",
    "done": "Selesai",
    "failed": "Gagal",
}


class DeployBusy(Exception):
    """Another deploy or rollback is running."""


@dataclass(frozen=True)
class DeployerConfig:
    ports: tuple[int, int] = (5005, 5006)
    start_timeout_seconds: float = 300.0
    drain_timeout_seconds: float = 60.0


@dataclass(frozen=True)
class DeployOutcome:
    deployment_id: int
    succeeded: bool
    detail: str | None


def parse_ports(text: str) -> tuple[int, int]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or parts[0] == parts[1]:
        raise ValueError(f"RASA_PORTS must be two different ports, e.g. 5005,5006 (got {text!r})")
    return int(parts[0]), int(parts[1])


class Deployer:
    def __init__(
        self, database: Database, rasa: RasaClient, launcher: Launcher, config: DeployerConfig
    ) -> None:
        self.database = database
        self.rasa = rasa
        self.launcher = launcher
        self.config = config
        self.live: RasaServer | None = None
        self.candidate: RasaServer | None = None
        self.running_id: int | None = None
        self._task: asyncio.Task[DeployOutcome] | None = None

    # --- public API --------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.running_id is not None

    async def begin(
        self, model_ref: str | int, actor: str, kind: DeploymentKind = DeploymentKind.DEPLOY
    ) -> int:
        """Starts a deploy in the background and returns its deployment id (progress is in the registry).

        Raises DeployBusy while another runs and RegistryError for a model that cannot be deployed.
        """
        if self.running_id is not None:
            raise DeployBusy("Penerapan model lain sedang berjalan; tunggu sampai selesai.")
        self.running_id = -1  # claimed before the first await: two clicks cannot both pass the check
        try:
            deployment_id, model_path = await asyncio.to_thread(self._open, model_ref, actor, kind)
        except BaseException:
            self.running_id = None
            raise
        self.running_id = deployment_id
        self._task = asyncio.create_task(self._run(deployment_id, model_path))
        return deployment_id

    async def begin_rollback(self, model_ref: str | int | None, actor: str) -> int:
        if model_ref is None:
            target = await asyncio.to_thread(self._rollback_target_id)
            if target is None:
                raise RegistryError("Belum ada model sebelumnya untuk dikembalikan.")
            model_ref = target
        return await self.begin(model_ref, actor, DeploymentKind.ROLLBACK)

    async def wait(self) -> DeployOutcome | None:
        """The outcome of the running (or last) deploy; None when there never was one."""
        task = self._task
        return None if task is None else await asyncio.shield(task)

    async def deploy(
        self, model_ref: str | int, actor: str, kind: DeploymentKind = DeploymentKind.DEPLOY
    ) -> DeployOutcome:
        await self.begin(model_ref, actor, kind)
        outcome = await self.wait()
        assert outcome is not None
        return outcome

    async def start_up(self, model_ref: str | int, actor: str = "sistem") -> DeployOutcome:
        """First server when the service starts (managed mode); same path as a deploy, nothing to drain."""
        await asyncio.to_thread(self._interrupt_leftovers)
        return await self.deploy(model_ref, actor, DeploymentKind.STARTUP)

    async def close(self) -> None:
        """Stops every server this deployer started (service shutdown)."""
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # shutting down; row says failed
                await task
        for server in (self.candidate, self.live):
            if server is not None:
                await server.stop()
        self.candidate = self.live = None

    # --- the deploy itself -------------------------------------------------------------------------------

    def _next_port(self) -> int:
        first, second = self.config.ports
        if self.live is None:
            return first
        return second if self.live.port == first else first

    async def _run(self, deployment_id: int, model_path: str) -> DeployOutcome:
        try:
            return await self._run_steps(deployment_id, model_path)
        except asyncio.CancelledError:
            await self._fail(deployment_id, "Dibatalkan karena layanan berhenti.")
            raise
        finally:
            self.running_id = None

    async def _run_steps(self, deployment_id: int, model_path: str) -> DeployOutcome:
        port = self._next_port()
        await self._stage(deployment_id, "starting", port)
        started = time.monotonic()
        try:
            self.candidate = self.launcher.launch(model_path, port)
            await self._stage(deployment_id, "loading")
            await self.candidate.wait_ready(self.config.start_timeout_seconds)
        except StartFailed as error:
            return await self._fail(deployment_id, str(error))
        except Exception as error:  # the live server must survive any failure of the candidate
            logger.exception("deploy #%d: candidate failed", deployment_id)
            return await self._fail(deployment_id, f"Kesalahan tak terduga: {type(error).__name__}")
        new = self.candidate
        loaded_in = time.monotonic() - started

        await self._stage(deployment_id, "switching")
        old, old_url = self.live, self.rasa.switch_to(new.url)
        self.live, self.candidate = new, None
        logger.info(
            "deploy #%d: switched the gateway to %s (%s)", deployment_id, new.url, Path(model_path).name
        )

        drained = True
        if old is not None:
            await self._stage(deployment_id, "draining")
            drained = await self._drain(old_url)
            await self._stage(deployment_id, "stopping")
            try:
                await old.stop()
            except Exception:  # the switch is done; a stubborn old process is only logged
                logger.exception("deploy #%d: stopping the old server failed", deployment_id)
        detail = f"Model dimuat dalam {loaded_in:.0f} detik di port {port}."
        if not drained:
            detail += f" Server lama dihentikan setelah {self.config.drain_timeout_seconds:g} detik menunggu."
        await asyncio.to_thread(self._finish, deployment_id, True, "done", detail)
        return DeployOutcome(deployment_id, True, detail)

    async def _drain(self, old_url: str) -> bool:
        deadline = time.monotonic() + self.config.drain_timeout_seconds
        while self.rasa.in_flight(old_url) > 0:
            if time.monotonic() >= deadline:
                logger.warning(
                    "drain of %s timed out with %d turns in flight", old_url, self.rasa.in_flight(old_url)
                )
                return False
            await asyncio.sleep(DRAIN_POLL_SECONDS)
        return True

    async def _fail(self, deployment_id: int, reason: str) -> DeployOutcome:
        candidate, self.candidate = self.candidate, None
        if candidate is not None:
            try:
                await candidate.stop()
            except Exception:
                logger.exception("deploy #%d: stopping the failed candidate failed", deployment_id)
        logger.warning("deploy #%d failed: %s", deployment_id, reason)
        await asyncio.to_thread(self._finish, deployment_id, False, "failed", reason)
        return DeployOutcome(deployment_id, False, reason)

    # --- registry steps (worker thread) --------------------------------------------------------------

    def _open(self, model_ref: str | int, actor: str, kind: DeploymentKind) -> tuple[int, str]:
        with self.database.session() as session:
            model = registry.find_model(session, model_ref)
            if model is None:
                raise RegistryError(f"Model {model_ref!s:.80} tidak terdaftar.")
            self._check_deployable(model, kind)
            deployment = registry.start_deployment(session, model, kind, actor, "starting")
            return deployment.id, model.path

    def _check_deployable(self, model: RasaModel, kind: DeploymentKind) -> None:
        if not Path(model.path).is_file():
            raise RegistryError(f"Berkas model {model.name} tidak ada lagi di {model.path}.")
        if (
            kind is not DeploymentKind.STARTUP
            and self.live is not None
            and model.status == ModelStatus.LIVE.value
        ):
            raise RegistryError(f"Model {model.name} sudah aktif.")

    def _rollback_target_id(self) -> int | None:
        with self.database.session() as session:
            target = registry.rollback_target(session)
            return None if target is None else target.id

    async def _stage(self, deployment_id: int, stage: str, port: int | None = None) -> None:
        await asyncio.to_thread(self._set_stage, deployment_id, stage, port)

    def _set_stage(self, deployment_id: int, stage: str, port: int | None) -> None:
        with self.database.session() as session:
            registry.set_stage(session, deployment_id, stage, port)

    def _finish(self, deployment_id: int, succeeded: bool, stage: str, detail: str | None) -> None:
        with self.database.session() as session:
            registry.finish_deployment(session, deployment_id, succeeded, stage, detail)

    def _interrupt_leftovers(self) -> None:
        with self.database.session() as session:
            registry.interrupt_running(session, "Terputus: layanan berhenti sebelum penerapan selesai.")
