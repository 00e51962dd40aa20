"""Complaints the bot service could not take yet: stored locally, filed later, code sent to the citizen.

A row is written before the citizen is told "tersimpan", so a crash of either server loses nothing; the
ticket's idempotency key makes a late or repeated filing return the same ticket, and the notification
carries its own key so the citizen gets the code once.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import requests

from actions.service_client import REQUEST_TIMEOUT_SECONDS, auth_headers, service_url

logger = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 300.0

_worker_lock = threading.Lock()
_worker: Optional[threading.Thread] = None


def outbox_path() -> Path:
    default = Path(__file__).resolve().parent.parent / "var" / "action_outbox.db"
    return Path(os.environ.get("ACTION_OUTBOX_PATH", str(default)))


def poll_seconds() -> float:
    return float(os.environ.get("ACTION_OUTBOX_POLL_SECONDS", "5"))


def _connect() -> sqlite3.Connection:
    path = outbox_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    connection.execute(
        "CREATE TABLE IF NOT EXISTS pending_tickets ("
        " idempotency_key TEXT PRIMARY KEY, payload TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',"
        " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL, last_error TEXT,"
        " ticket_code TEXT, created_at REAL NOT NULL)"
    )
    return connection


def enqueue(payload: Dict[str, Any]) -> None:
    """Keep a complaint for later filing; a second enqueue of the same key is a no-op."""
    now = time.time()
    with closing(_connect()) as connection:
        connection.execute(
            "INSERT OR IGNORE INTO pending_tickets (idempotency_key, payload, next_attempt_at, created_at)"
            " VALUES (?, ?, ?, ?)",
            (payload["idempotency_key"], json.dumps(payload), now, now),
        )
    start_worker()


def pending_count() -> int:
    with closing(_connect()) as connection:
        row = connection.execute("SELECT COUNT(*) FROM pending_tickets WHERE status = 'pending'").fetchone()
    return int(row[0])


def _post(path: str, body: Dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{service_url()}{path}", json=body, headers=auth_headers(), timeout=REQUEST_TIMEOUT_SECONDS
    )


def _file_one(payload: Dict[str, Any], confirmation: Callable[[Dict[str, Any]], str]) -> str:
    """Files the ticket and tells the citizen its code; returns the code. Raises on any failure."""
    response = _post("/api/v1/tickets", payload)
    if response.status_code >= 500:
        raise ConnectionError(f"HTTP {response.status_code}")
    if response.status_code >= 400:
        raise ValueError(f"refused: HTTP {response.status_code} {response.text[:300]}")
    ticket = response.json()
    notice = {
        "channel": payload["channel"],
        "sender_id": payload["sender_id"],
        "text": confirmation(ticket),
        "idempotency_key": f"{payload['idempotency_key']}:filed",
    }
    sent = _post("/api/v1/notifications", notice)
    if sent.status_code >= 400:
        raise ConnectionError(f"notification HTTP {sent.status_code}")
    return str(ticket["code"])


def process_due(confirmation: Callable[[Dict[str, Any]], str]) -> int:
    """One pass over the due rows; returns how many were filed."""
    filed = 0
    with closing(_connect()) as connection:
        rows = connection.execute(
            "SELECT idempotency_key, payload, attempts FROM pending_tickets"
            " WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY created_at",
            (time.time(),),
        ).fetchall()
        for key, payload, attempts in rows:
            try:
                code = _file_one(json.loads(payload), confirmation)
            except ValueError as error:  # the service refused the data: retrying will not help
                connection.execute(
                    "UPDATE pending_tickets SET status = 'refused', last_error = ? WHERE idempotency_key = ?",
                    (str(error), key),
                )
                logger.error("outbox: complaint %s refused by the service: %s", key, error)
            except (requests.RequestException, ConnectionError, KeyError) as error:
                delay = min(MAX_BACKOFF_SECONDS, poll_seconds() * 2**attempts)
                connection.execute(
                    "UPDATE pending_tickets SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?"
                    " WHERE idempotency_key = ?",
                    (time.time() + delay, str(error)[:500], key),
                )
            else:
                connection.execute(
                    "UPDATE pending_tickets SET status = 'filed', ticket_code = ? WHERE idempotency_key = ?",
                    (code, key),
                )
                filed += 1
    return filed


def _run_forever() -> None:
    from actions.complaint_messages import filed_confirmation

    while True:
        try:
            process_due(filed_confirmation)
        except Exception:  # the worker must outlive any single bad pass
            logger.exception("outbox pass failed")
        time.sleep(poll_seconds())


def worker_enabled() -> bool:
    # Tests drive process_due() themselves and switch the thread off.
    return os.environ.get("ACTION_OUTBOX_WORKER", "1") != "0"


def start_worker() -> None:
    """Start the background filer once per process (also at import, to resume after a restart)."""
    global _worker
    if not worker_enabled():
        return
    with _worker_lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_run_forever, name="complaint-outbox", daemon=True)
            _worker.start()
