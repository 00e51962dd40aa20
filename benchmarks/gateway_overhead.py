#!/usr/bin/env python3
"""Gateway overhead: how long the bot service takes before Rasa is called, per channel.

Starts the real bot service (uvicorn, SQLite file) with WhatsApp configured against the fake Graph API
and Rasa replaced by the fake REST server of the tests (it answers at once), then sends N messages:
- WhatsApp: signed webhook POST -> the service's 200 (ack), and POST -> the fake Rasa receiving the turn
  (verify signature, parse, persist, schedule, claim, call Rasa);
- web chat: POST /api/v1/chat/sessions (a new server-issued identity: limit check, insert), and the
  POST /api/v1/chat round trip with its bearer token (session look-up, persist, Rasa, tracker read, persist
  replies).
Each message comes from its own sender (a new session for each web-chat message), so the per-sender rate
limit never applies. Prints a table and writes
benchmarks/results/gateway_overhead.json and .md. Run: `.venv/bin/python benchmarks/gateway_overhead.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.connectors.whatsapp import fake_graph_api  # noqa: E402
from tests.service.fake_rasa import FakeRasaServer  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {
        "n": len(ordered),
        "mean": round(statistics.fmean(ordered), 2),
        "p50": pick(0.50),
        "p95": pick(0.95),
        "p99": pick(0.99),
        "max": round(ordered[-1], 2),
    }


def start_service(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    python = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run(
        [python, "-m", "bot.cli", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    process = subprocess.Popen(
        [
            python,
            "-m",
            "uvicorn",
            "bot.api.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/categories", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"service did not start; see {log}")


def measure(count: int) -> dict[str, Any]:
    arrivals: dict[str, float] = {}
    arrived = threading.Condition()
    with (
        FakeRasaServer() as rasa,
        fake_graph_api.FakeGraphApiServer() as graph,
        tempfile.TemporaryDirectory() as tmp,
    ):
        original_turn = rasa.turn

        def timed_turn(body: dict[str, Any]) -> tuple[int, Any]:
            with arrived:
                arrivals[str(body.get("message"))] = time.perf_counter()
                arrived.notify_all()
            return original_turn(body)

        rasa.turn = timed_turn  # type: ignore[method-assign]
        port = free_port()
        env = dict(
            os.environ,
            PYTHONPATH=str(ROOT),
            DATABASE_URL=f"sqlite:///{tmp}/service.db",
            RASA_URL=rasa.url,
            APP_ENV="development",  # a throwaway service on loopback with test secrets
            ATTACHMENTS_DIR=f"{tmp}/attachments",
            WHATSAPP_ACCESS_TOKEN=graph.token,
            WHATSAPP_PHONE_NUMBER_ID=graph.phone_number_id,
            WHATSAPP_APP_SECRET=fake_graph_api.APP_SECRET,
            WHATSAPP_VERIFY_TOKEN=fake_graph_api.VERIFY_TOKEN,
            WHATSAPP_API_BASE_URL=graph.url,
            # One session per web-chat message, all from 127.0.0.1: above the per-address limit.
            WEBCHAT_SESSIONS_PER_ADDRESS=str(count + 10),
        )
        service = start_service(env, port, Path(tmp) / "service.log")
        url = f"http://127.0.0.1:{port}"
        try:
            ack_ms, to_rasa_ms, session_ms, chat_ms = [], [], [], []
            for i in range(count + 5):  # the first 5 warm up connections and caches
                text = f"halo bench {i}"
                body = fake_graph_api.envelope(
                    [fake_graph_api.text_message(f"62812000{i:05d}", f"wamid.bench{i}", text)],
                    sender=f"62812000{i:05d}",
                )
                started = time.perf_counter()
                response = fake_graph_api.post_webhook(url, body)
                acked = time.perf_counter()
                response.raise_for_status()
                with arrived:
                    arrived.wait_for(lambda text=text: text in arrivals, timeout=30)
                session_started = time.perf_counter()
                created = httpx.post(f"{url}/api/v1/chat/sessions", timeout=30)
                created.raise_for_status()
                chat_started = time.perf_counter()
                httpx.post(
                    f"{url}/api/v1/chat",
                    json={"text": "halo"},
                    headers={"Authorization": f"Bearer {created.json()['token']}"},
                    timeout=30,
                ).raise_for_status()
                chat_done = time.perf_counter()
                if i >= 5 and text in arrivals:
                    ack_ms.append((acked - started) * 1000)
                    to_rasa_ms.append((arrivals[text] - started) * 1000)
                    session_ms.append((chat_started - session_started) * 1000)
                    chat_ms.append((chat_done - chat_started) * 1000)
                time.sleep(0.02)
        finally:
            service.terminate()
            service.wait(timeout=20)
    return {
        "whatsapp_webhook_ack_ms": percentiles(ack_ms),
        "whatsapp_webhook_to_rasa_ms": percentiles(to_rasa_ms),
        "web_chat_session_ms": percentiles(session_ms),
        "web_chat_round_trip_ms": percentiles(chat_ms),
    }


def render(report: dict[str, Any]) -> str:
    lines = [
        "# Gateway overhead",
        "",
        f"- Date: {report['date']}; command: `python benchmarks/gateway_overhead.py --count {report['count']}`",
        f"- Machine: {os.cpu_count()} CPUs (shared), load {report['load']:.2f} at start; Rasa replaced by a fake "
        "that answers at once, so the figures are the service's own cost.",
        "",
        "| path | n | mean ms | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|---|",
    ]
    labels = {
        "whatsapp_webhook_ack_ms": "WhatsApp webhook → 200 to the platform",
        "whatsapp_webhook_to_rasa_ms": "WhatsApp webhook received → Rasa called",
        "web_chat_session_ms": "web chat POST /sessions → token",
        "web_chat_round_trip_ms": "web chat POST (bearer token) → replies (fake Rasa)",
    }
    for key, label in labels.items():
        row = report["results"][key]
        lines.append(
            f"| {label} | {row['n']} | {row['mean']} | {row['p50']} | {row['p95']} | {row['p99']} | {row['max']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    report = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "count": args.count,
        "load": os.getloadavg()[0],
        "results": measure(args.count),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "gateway_overhead.json").write_text(json.dumps(report, indent=2))
    markdown = render(report)
    (RESULTS / "gateway_overhead.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
