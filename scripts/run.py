#!/usr/bin/env python3
"""Start the action server (5055) and the bot service (8000), which runs Rasa (5005/5006); stop all on Ctrl-C.

The service manages Rasa itself (RASA_MANAGED=true): it starts the given model on 5005 and later deploys
other models blue/green on the other port of 5005/5006 (dashboard /dashboard/model, `bot model deploy`).
`--unmanaged-rasa` starts Rasa here instead, as a plain process the service reaches at RASA_URL.

Used by `make run`, which first makes sure both environments, the database schema and a model for the
current training data exist. Logs go to var/log/. Stdlib only.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
START_TIMEOUT_SECONDS = 300  # a full model loads in about a minute on 2 cores


@dataclass
class Service:
    name: str
    command: list[str]
    health_url: str
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None)
    # The service stops the Rasa servers it manages on shutdown; give it the time to.
    stop_timeout: float = 15.0

    def start(self, env: dict[str, str]) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        handle = self.log.open("ab")
        # A new session per child so Ctrl-C reaches us first and we stop the children in order.
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=2) as response:
                return bool(response.status < 500)
        except (urllib.error.URLError, OSError):
            return False

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def tracker_store_yaml(url: str) -> str:
    """Rasa's SQL tracker store: a SQLite file by default, PostgreSQL when RASA_TRACKER_URL says so."""
    if not url or url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else str(VAR / "rasa_tracker.db")
        return f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{path}"\n'
    parsed = urlparse(url)
    return (
        "tracker_store:\n  type: SQL\n  dialect: \"postgresql\"\n"
        f'  host: "{parsed.hostname}"\n  port: {parsed.port or 5432}\n'
        f'  db: "{parsed.path.lstrip("/")}"\n  username: "{parsed.username or ""}"\n'
        f'  password: "{parsed.password or ""}"\n'
    )


def write_endpoints(action_url: str, tracker_url: str, lock_store_url: str) -> Path:
    text = f'action_endpoint:\n  url: "{action_url}"\n' + tracker_store_yaml(tracker_url)
    if lock_store_url:
        parsed = urlparse(lock_store_url)
        text += (
            f'lock_store:\n  type: redis\n  url: "{parsed.hostname}"\n  port: {parsed.port or 6379}\n'
            f'  db: {parsed.path.lstrip("/") or 0}\n'
        )
    path = VAR / "endpoints.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def build_services(model: Path, args: argparse.Namespace) -> list[Service]:
    endpoints = write_endpoints(
        f"http://127.0.0.1:{args.action_port}/webhook",
        os.environ.get("RASA_TRACKER_URL", ""),
        os.environ.get("RASA_LOCK_STORE_URL", ""),
    )
    rasa_bin = str(ROOT / ".venv-rasa" / "bin" / "rasa")
    logs = VAR / "log"
    services = [
        Service(
            "action server",
            [rasa_bin, "run", "actions", "--actions", "actions", "--port", str(args.action_port)],
            f"http://127.0.0.1:{args.action_port}/health",
            logs / "actions.log",
        ),
        Service(
            "Rasa",
            [
                rasa_bin,
                "run",
                "--enable-api",
                "--interface",
                args.host,
                "--port",
                str(args.rasa_port),
                "--model",
                str(model),
                "--endpoints",
                str(endpoints),
                "--credentials",
                "credentials.yml",
            ],
            f"http://127.0.0.1:{args.rasa_port}/status",
            logs / "rasa.log",
        ),
        Service(
            "bot service",
            # `bot serve`: uvicorn with the service's own options (TRUSTED_PROXIES for forwarded headers).
            [
                str(ROOT / ".venv" / "bin" / "python"),
                "-m",
                "bot.cli",
                "serve",
                "--host",
                args.host,
                "--port",
                str(args.service_port),
            ],
            f"http://127.0.0.1:{args.service_port}/health",  # 200 only once Rasa has loaded the model
            logs / "service.log",
            stop_timeout=40.0,
        ),
    ]
    if not args.unmanaged_rasa:
        services.pop(1)  # the service starts Rasa itself
    return services


def wait_until_healthy(services: list[Service]) -> Service | None:
    """Returns the service that died while starting, or None when all answer."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    pending = list(services)
    while pending and time.monotonic() < deadline:
        for service in list(pending):
            if service.exited():
                return service
            if service.healthy():
                print(f"   {service.name} is up")
                pending.remove(service)
        time.sleep(1)
    return pending[0] if pending else None


def tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--host", default=os.environ.get("BIND_HOST", "127.0.0.1"))
    parser.add_argument("--rasa-port", type=int, default=5005)
    parser.add_argument("--action-port", type=int, default=5055)
    parser.add_argument("--service-port", type=int, default=8000)
    parser.add_argument(
        "--unmanaged-rasa", action="store_true", help="run Rasa here instead of letting the service manage it"
    )
    args = parser.parse_args()

    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    env.setdefault("RASA_URL", f"http://127.0.0.1:{args.rasa_port}")
    env.setdefault("SERVICE_URL", f"http://127.0.0.1:{args.service_port}")
    if not args.unmanaged_rasa:
        env.update(
            RASA_MANAGED="true",
            RASA_MODEL=str(args.model.resolve()),
            RASA_PORTS=f"{args.rasa_port},{args.rasa_port + 1}",
            RASA_HOST=args.host,
            RASA_ENDPOINTS_FILE=str(VAR / "endpoints.yml"),
        )
    # The schema must be current before the service answers (idempotent; `make run` has done it already).
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "bot.cli", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    services = build_services(args.model, args)
    stopping = False

    def stop_all(*_: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        print("\n>> stopping ...")
        for service in reversed(services):
            service.stop()
        print(">> all stopped")

    signal.signal(signal.SIGINT, lambda *_: stop_all())
    signal.signal(signal.SIGTERM, lambda *_: stop_all())
    print(f">> starting with model {args.model.name} (logs in var/log/)")
    for service in services:
        service.start(env)
    failed = wait_until_healthy(services)
    if failed is not None and not stopping:
        print(f"!! {failed.name} did not start; last lines of {failed.log}:\n{tail(failed.log)}")
        stop_all()
        return 1
    if not stopping:
        print(
            "\nLayanan Aduan is running:\n"
            f"  chat API      http://127.0.0.1:{args.service_port}/api/v1/chat\n"
            f"  API docs      http://127.0.0.1:{args.service_port}/docs\n"
            f"  health        http://127.0.0.1:{args.service_port}/health\n"
            + (
                f"  Rasa          http://127.0.0.1:{args.rasa_port}\n"
                if args.unmanaged_rasa
                else f"  Rasa          http://127.0.0.1:{args.rasa_port} (blue/green with {args.rasa_port + 1};"
                " managed by the service)\n"
                f"  models        http://127.0.0.1:{args.service_port}/dashboard/model\n"
            )
            + f"  action server http://127.0.0.1:{args.action_port}\n"
            + "Try:\n"
            f"  curl -s localhost:{args.service_port}/api/v1/chat -H 'content-type: application/json' "
            '-d \'{"sender":"a","text":"syarat bikin ktp el apa aja"}\'\n'
            "Press Ctrl-C to stop."
        )
    while not stopping:
        for service in services:
            if service.exited():
                print(f"!! {service.name} stopped unexpectedly; last lines:\n{tail(service.log)}")
                stop_all()
                return 1
        time.sleep(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
