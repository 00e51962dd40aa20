"""One Rasa server as a subprocess: start it on a model and a port, wait until it truly answers, stop it.

"Ready" means `/status` answers 200 for the expected model file and a warm-up `POST /model/parse`
succeeds (the first parse builds TensorFlow graphs and takes seconds; a citizen must not pay for it).
Every server of a blue/green pair gets the same endpoints.yml, hence the same tracker and lock store, so
a conversation continues on the new server exactly where it stopped on the old one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

from bot.rasa_environment import rasa_environment
from bot.settings import PROJECT_ROOT

WARM_UP_TEXT = "halo, selamat pagi"
POLL_SECONDS = 0.5
STOP_GRACE_SECONDS = 10.0


class StartFailed(Exception):
    """The server did not become ready; the message says why (shown to the admin)."""


class RasaServer(Protocol):
    """What the deployer needs of a running server (a real subprocess, or a fake in tests)."""

    url: str
    port: int
    model_path: str

    async def wait_ready(self, timeout_seconds: float) -> None: ...

    async def stop(self) -> None: ...


class Launcher(Protocol):
    def launch(self, model_path: str, port: int) -> RasaServer: ...


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


async def wait_until_ready(
    http: httpx.AsyncClient, url: str, model_path: str, timeout_seconds: float, alive: _Alive | None = None
) -> None:
    """Polls /status until it names `model_path`, then warms the NLU up with one parse."""
    deadline = time.monotonic() + timeout_seconds
    expected = Path(model_path).name
    last = "belum menjawab"
    while True:
        if alive is not None:
            reason = alive()
            if reason is not None:
                raise StartFailed(reason)
        try:
            response = await http.get(url + "/status", timeout=3.0)
            if response.status_code == 200:
                model_file = str(response.json().get("model_file") or "")
                if model_file.rsplit("/", 1)[-1] == expected or not model_file:
                    break
                last = f"memuat model lain ({model_file.rsplit('/', 1)[-1]})"
            else:
                last = f"/status HTTP {response.status_code}"
        except (httpx.HTTPError, ValueError) as error:
            last = type(error).__name__
        if time.monotonic() >= deadline:
            raise StartFailed(f"Rasa tidak siap dalam {timeout_seconds:g} detik ({last}).")
        await asyncio.sleep(POLL_SECONDS)
    remaining = max(5.0, deadline - time.monotonic())
    try:
        response = await http.post(url + "/model/parse", json={"text": WARM_UP_TEXT}, timeout=remaining)
    except httpx.HTTPError as error:
        raise StartFailed(f"Uji parse pertama gagal ({type(error).__name__}).") from error
    if response.status_code != 200:
        raise StartFailed(f"Uji parse pertama gagal (HTTP {response.status_code}).")


class _Alive(Protocol):
    def __call__(self) -> str | None: ...


@dataclass
class RasaCommand:
    """How to run `rasa run` for the service: binary, endpoints, credentials, where logs go."""

    rasa_bin: Path
    endpoints: Path
    host: str = "127.0.0.1"
    credentials: Path | None = PROJECT_ROOT / "credentials.yml"
    log_dir: Path = PROJECT_ROOT / "var" / "log"
    cwd: Path = PROJECT_ROOT
    # Loading a model takes a core for a minute; confined to one CPU while it loads, the candidate leaves
    # the others to the live server, whose turns then stay fast during a deploy (Linux only).
    load_on_one_cpu: bool = True

    def argv(self, model_path: str, port: int) -> list[str]:
        argv = [
            str(self.rasa_bin),
            "run",
            "--enable-api",
            "--interface",
            self.host,
            "--port",
            str(port),
            "--model",
            model_path,
            "--endpoints",
            str(self.endpoints),
        ]
        if self.credentials is not None and self.credentials.is_file():
            argv += ["--credentials", str(self.credentials)]
        return argv


class RasaSubprocess:
    """A real `rasa run` process in its own process group (so stopping it also stops what it spawned)."""

    def __init__(self, command: RasaCommand, model_path: str, port: int, http: httpx.AsyncClient) -> None:
        self.command = command
        self.model_path = model_path
        self.port = port
        self.url = f"http://{command.host}:{port}"
        self.http = http
        self.log = command.log_dir / f"rasa-{port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if port_in_use(self.command.host, self.port):
            raise StartFailed(f"Port {self.port} sudah dipakai proses lain.")
        if not Path(self.model_path).is_file():
            raise StartFailed(f"Berkas model tidak ditemukan: {self.model_path}")
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = rasa_environment()
        with self.log.open("ab") as handle:
            self.process = subprocess.Popen(
                self.command.argv(self.model_path, self.port),
                cwd=self.command.cwd,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if self.command.load_on_one_cpu:
            _confine(self.process.pid, loading=True)

    def _exit_reason(self) -> str | None:
        if self.process is None or self.process.poll() is None:
            return None
        return f"Proses Rasa berhenti (kode {self.process.returncode}); lihat {self.log}: {self.log_tail()}"

    def log_tail(self, chars: int = 600) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:].strip()
        except OSError:
            return ""

    async def wait_ready(self, timeout_seconds: float) -> None:
        if self.process is None:
            self.start()
        try:
            await wait_until_ready(self.http, self.url, self.model_path, timeout_seconds, self._exit_reason)
        finally:
            if self.command.load_on_one_cpu and self.process is not None and self.process.poll() is None:
                _confine(self.process.pid, loading=False)

    async def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await asyncio.to_thread(process.wait)

    def stop_now(self) -> None:
        """Synchronous last resort (interpreter exit): SIGTERM, short wait, SIGKILL."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _confine(pid: int, loading: bool) -> None:
    """Every thread of `pid` on the last CPU while it loads, on all CPUs afterwards; a no-op where the
    platform cannot (macOS) or there is a single CPU."""
    setaffinity = getattr(os, "sched_setaffinity", None)
    all_cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if setaffinity is None or len(all_cpus) < 2:
        return
    cpus = {all_cpus[-1]} if loading else set(all_cpus)
    try:
        threads = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        threads = [pid]
    for thread in threads:
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            setaffinity(thread, cpus)


class SubprocessLauncher:
    def __init__(self, command: RasaCommand, http: httpx.AsyncClient) -> None:
        self.command = command
        self.http = http
        self.launched: list[RasaSubprocess] = []

    def launch(self, model_path: str, port: int) -> RasaServer:
        server = RasaSubprocess(self.command, model_path, port, self.http)
        server.start()
        self.launched.append(server)
        return server

    def stop_all_now(self) -> None:
        for server in self.launched:
            server.stop_now()
