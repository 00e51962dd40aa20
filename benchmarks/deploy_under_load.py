#!/usr/bin/env python3
"""Deploy and rollback under load: do citizens notice a blue/green switch of the Rasa model?

Starts the real stack as `make run` does with the service managing Rasa (RASA_MANAGED=true): the action
server, the bot service (uvicorn, SQLite file) and, started by the service, a real Rasa server on the CI
model ("blue"). A second model file ("green": the same model, other bytes, so another registry entry) is
registered. Then N web-chat senders each send one turn every INTERVAL seconds (POST /api/v1/chat with the
bearer token of a session from POST /api/v1/chat/sessions, opened outside the timed turn) while
the admin API deploys green and, after a pause, rolls back to blue. Reports the max and p99 turn latency,
the failed turns (HTTP error, timeout or the bot's "gangguan" reply) and the lost turns (sent but not
stored as processed in the service database), overall and within the switch windows.

Prints a table and writes benchmarks/results/deploy_under_load.json and .md.
Run: `.venv/bin/python benchmarks/deploy_under_load.py [--model models/ci-<hash>.tar.gz]`.
Memory: two Rasa servers during each switch (~1 GB each).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import platform
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
TOKEN = "bench-deploy-token"
FAILED_REPLY = "gangguan"
TEXTS = ["halo", "syarat bikin ktp el apa aja", "jam layanan kantor kapan", "terima kasih"]
START_TIMEOUT_SECONDS = 420


def log(message: str) -> None:
    print(f">> {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def distinct_copy(source: Path, target: Path) -> None:
    """Same model, other bytes: an empty gzip member appended changes the sha256, not the archive."""
    shutil.copyfile(source, target)
    with target.open("ab") as handle:
        handle.write(gzip.compress(b"", mtime=0))


def default_model() -> Path:
    out = subprocess.run(
        [sys.executable, "scripts/train_model.py", "--config", "config.ci.yml", "--name", "ci"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip().splitlines()[-1])


@dataclass
class TurnResult:
    sender: str
    started: float  # seconds since the load began
    latency_ms: float
    ok: bool
    error: str | None = None


class Load:
    """N senders, one turn each per interval (the next turn waits for the answer of the previous one).

    Each sender starts a new conversation every `turns_per_conversation` turns, as citizens do: Rasa
    featurizes a conversation's whole history on every turn, so one endless conversation per sender would
    measure the growth of that history (latency rising steadily) rather than the deploy.
    """

    def __init__(self, url: str, senders: int, interval: float, turns_per_conversation: int) -> None:
        self.url = url
        self.senders = [f"bench-{i}" for i in range(senders)]
        self.interval = interval
        self.turns_per_conversation = max(1, turns_per_conversation)
        self.results: list[TurnResult] = []
        self.sent: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.t0 = time.monotonic()
        self._threads = [threading.Thread(target=self._run, args=(s,), daemon=True) for s in self.senders]

    def start(self) -> None:
        self.t0 = time.monotonic()
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)

    def now(self) -> float:
        return time.monotonic() - self.t0

    def _run(self, lane: str) -> None:
        with httpx.Client(timeout=60, trust_env=False) as http:
            n = 0
            next_at = time.monotonic()
            token = ""
            while not self._stop.is_set():
                if n % self.turns_per_conversation == 0:  # a new conversation: a new web-chat session
                    token = self._new_session(http)
                # Turns are counted per session (its token's hash is the database key of the session).
                sender = hashlib.sha256(token.encode()).hexdigest()
                text = TEXTS[n % len(TEXTS)]
                n += 1
                started = time.monotonic()
                ok, error = True, None
                try:
                    response = http.post(
                        f"{self.url}/api/v1/chat",
                        json={"text": text},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    if response.status_code != 200:
                        ok, error = False, f"HTTP {response.status_code}"
                    else:
                        replies = " ".join(str(m.get("text") or "") for m in response.json()["messages"])
                        if FAILED_REPLY in replies or not response.json()["messages"]:
                            ok, error = False, "bot answered with the failure reply"
                except httpx.HTTPError as exc:
                    ok, error = False, type(exc).__name__
                latency = (time.monotonic() - started) * 1000
                with self._lock:
                    self.sent[sender] = self.sent.get(sender, 0) + 1
                    self.results.append(TurnResult(sender, started - self.t0, latency, ok, error))
                next_at += self.interval
                time.sleep(max(0.0, next_at - time.monotonic()))
                next_at = max(next_at, time.monotonic())

    def _new_session(self, http: httpx.Client) -> str:
        while not self._stop.is_set():
            try:
                response = http.post(f"{self.url}/api/v1/chat/sessions")
                response.raise_for_status()
                return str(response.json()["token"])
            except httpx.HTTPError:
                time.sleep(0.5)  # the service itself is not what is measured here
        return ""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarize(results: list[TurnResult], lost: int) -> dict[str, Any]:
    latencies = [r.latency_ms for r in results]
    return {
        "turns": len(results),
        "failed": sum(not r.ok for r in results),
        "lost": lost,
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "max_ms": round(max(latencies, default=0.0), 1),
    }


def timeline(results: list[TurnResult], bucket_s: float = 5.0) -> list[dict[str, Any]]:
    """Latency per 5-s slice of the run (turns by their start), to see where a switch hurts."""
    buckets: dict[int, list[TurnResult]] = {}
    for result in results:
        buckets.setdefault(int(result.started // bucket_s), []).append(result)
    return [{"from_s": key * bucket_s, **summarize(buckets[key], 0)} for key in sorted(buckets)]


def lost_turns(database: Path, load: Load) -> int:
    """Turns sent that the service never stored, or stored but never finished (still received/processing).

    A turn answered with the failure reply is stored as `failed`: it counts as failed, not as lost.
    """
    with sqlite3.connect(database) as connection:
        stored = dict(
            connection.execute(
                "SELECT s.token_hash, COUNT(m.id) FROM webchat_sessions s LEFT JOIN messages m "
                "ON m.channel = 'web' AND m.sender_id = s.sender_id AND m.direction = 'in' GROUP BY s.token_hash"
            ).fetchall()
        )
        unfinished = connection.execute(
            "SELECT COUNT(*) FROM messages WHERE direction = 'in' AND status IN ('received', 'processing')"
        ).fetchone()[0]
    missing = sum(max(0, sent - int(stored.get(sender, 0))) for sender, sent in load.sent.items())
    return missing + int(unfinished)


class Stack:
    def __init__(self, workdir: Path, blue: Path) -> None:
        self.workdir = workdir
        self.action_port, self.service_port = free_port(), free_port()
        self.ports = (free_port(), free_port())
        self.url = f"http://127.0.0.1:{self.service_port}"
        self.database = workdir / "service.db"
        endpoints = workdir / "endpoints.yml"
        endpoints.write_text(
            f'action_endpoint:\n  url: "http://127.0.0.1:{self.action_port}/webhook"\n'
            f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{workdir / "tracker.db"}"\n'
        )
        self.env = dict(
            os.environ,
            PYTHONPATH=str(ROOT),
            TF_CPP_MIN_LOG_LEVEL="2",
            DATABASE_URL=f"sqlite:///{self.database}",
            SERVICE_URL=self.url,
            SERVICE_TOKEN=TOKEN,
            APP_ENV="development",  # a throwaway stack on loopback with a readable test token
            ATTACHMENTS_DIR=str(workdir / "attachments"),
            ACTION_OUTBOX_PATH=str(workdir / "outbox.db"),
            INBOUND_RATE_LIMIT="1000000",
            WEBCHAT_SESSIONS_PER_ADDRESS="1000000",  # every load sender opens sessions from 127.0.0.1
            LOG_LEVEL="WARNING",
            RASA_MANAGED="true",
            RASA_MODEL=str(blue),
            RASA_MODELS_DIR=str(blue.parent),
            RASA_PORTS=f"{self.ports[0]},{self.ports[1]}",
            RASA_ENDPOINTS_FILE=str(endpoints),
        )
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=ROOT, env=self.env, check=True)
        rasa = str(ROOT / ".venv-rasa" / "bin" / "rasa")
        for name, command in (
            ("actions", [rasa, "run", "actions", "--actions", "actions", "--port", str(self.action_port)]),
            (
                "service",
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "bot.api.app:create_app",
                    "--factory",
                    "--port",
                    str(self.service_port),
                ],
            ),
        ):
            with (self.workdir / f"{name}.log").open("ab") as handle:
                self.processes.append(
                    subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT)
                )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.processes):
                raise RuntimeError(f"a process exited; see {self.workdir}")
            try:
                if httpx.get(f"{self.url}/health", timeout=3).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise RuntimeError(f"the service did not become healthy in {START_TIMEOUT_SECONDS} s")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, trust_env=False, **kwargs)

    def run_deploy(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        started = self.admin("POST", path, json=body)
        started.raise_for_status()
        deployment: dict[str, Any] = started.json()
        while deployment["status"] == "running":
            time.sleep(0.5)
            deployment = self.admin("GET", f"/api/v1/models/deployments/{deployment['id']}").json()
        if deployment["status"] != "succeeded":
            raise RuntimeError(f"{deployment['kind']} failed: {deployment['detail']}")
        return deployment


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, help="trained model (default: the CI model, trained if needed)")
    parser.add_argument("--senders", type=int, default=5)
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between two turns of one sender")
    parser.add_argument(
        "--settle", type=float, default=10.0, help="seconds of load before, between and after"
    )
    parser.add_argument(
        "--turns-per-conversation",
        type=int,
        default=8,
        help="a sender starts a new conversation after this many",
    )
    args = parser.parse_args()
    model = (args.model or default_model()).resolve()
    RESULTS.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="deploy-bench-") as tmp:
        workdir = Path(tmp)
        models = workdir / "models"
        models.mkdir()
        blue, green = models / "bench-blue.tar.gz", models / "bench-green.tar.gz"
        shutil.copyfile(model, blue)
        distinct_copy(model, green)
        stack = Stack(workdir, blue)
        log(f"starting the stack with {model.name} (managed Rasa on ports {stack.ports})")
        started = time.monotonic()
        try:
            stack.start()
            log(f"stack up in {time.monotonic() - started:.0f} s")
            subprocess.run(
                [sys.executable, "-m", "bot.cli", "model", "register", str(green)],
                cwd=ROOT,
                env=stack.env,
                check=True,
                capture_output=True,
            )
            load = Load(stack.url, args.senders, args.interval, args.turns_per_conversation)
            load.start()
            time.sleep(args.settle)
            windows: list[dict[str, Any]] = []
            for label, path, body in (
                ("deploy", "/api/v1/models/bench-green/deploy", {"requested_by": "benchmark"}),
                ("rollback", "/api/v1/models/rollback", {"requested_by": "benchmark"}),
            ):
                log(f"{label} ...")
                begin = load.now()
                deployment = stack.run_deploy(path, body)
                end = load.now()
                windows.append(
                    {"action": label, "from_s": round(begin, 1), "to_s": round(end, 1), **deployment}
                )
                log(f"{label} done in {end - begin:.0f} s: {deployment['detail']}")
                time.sleep(args.settle)
            load.stop()
            lost = lost_turns(stack.database, load)
        finally:
            stack.stop()

    overall = summarize(load.results, lost)
    outside = [r for r in load.results if not any(w["from_s"] <= r.started <= w["to_s"] for w in windows)]
    per_window: list[dict[str, Any]] = [
        {"action": "no switch running", "seconds": "-", **summarize(outside, 0)}
    ]
    for window in windows:
        inside = [r for r in load.results if window["from_s"] <= r.started <= window["to_s"]]
        per_window.append(
            {
                "action": window["action"],
                "seconds": round(window["to_s"] - window["from_s"], 1),
                **summarize(inside, 0),
            }
        )
    errors = sorted({r.error for r in load.results if r.error})
    report = {
        "benchmark": "deploy_under_load",
        "model": model.name,
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPUs (shared), "
        f"load {os.getloadavg()[0]:.2f} at end, Python {platform.python_version()}",
        "senders": args.senders,
        "interval_s": args.interval,
        "turns_per_conversation": args.turns_per_conversation,
        "overall": overall,
        "windows": per_window,
        "deployments": [{k: w[k] for k in ("action", "from_s", "to_s", "port", "detail")} for w in windows],
        "errors": errors,
        "target": {"failed": 0, "lost": 0, "max_ms": 2000},
        "met": overall["failed"] == 0 and overall["lost"] == 0 and overall["max_ms"] <= 2000,
        "timeline": timeline(load.results),
    }
    (RESULTS / "deploy_under_load.json").write_text(json.dumps(report, indent=2))
    header = "| window | seconds | turns | failed | lost | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|---|\n"
    rows = [
        f"| {w['action']} | {w['seconds']} | {w['turns']} | {w['failed']} | - | {w['p50_ms']} | {w['p99_ms']} | {w['max_ms']} |"
        for w in per_window
    ]
    rows.append(
        f"| whole run | {round(load.now(), 1)} | {overall['turns']} | {overall['failed']} | {overall['lost']} | "
        f"{overall['p50_ms']} | {overall['p99_ms']} | {overall['max_ms']} |"
    )
    table = header + "\n".join(rows)
    verdict = "met" if report["met"] else "NOT met"
    md = (
        f"# Deploy and rollback under load\n\n{args.senders} web-chat senders, one turn each per "
        f"{args.interval:g} s (a new conversation every {args.turns_per_conversation} turns), real Rasa ({model.name}) managed by the service; a blue/green deploy then a "
        f"rollback.\n\n{table}\n\nTarget (0 failed, 0 lost, max ≤ 2000 ms): **{verdict}**.\n\n"
        f"Machine: {report['machine']}.\n"
    )
    (RESULTS / "deploy_under_load.md").write_text(md)
    print(md)
    if errors:
        print("errors:", ", ".join(errors))
    return 0 if report["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
