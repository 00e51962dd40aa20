"""action_request_human on Tracker.from_dict trackers, against real bot services on SQLite: one whose
office is open all week, one whose office is closed today (OFFICE_HOURS set for another weekday)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import SERVICE_DOWN, WITHIN_HOURS, ActionRequestHuman, handoff_reason
from tests.rasa.actions.conftest import ROOT, SERVICE_PYTHON, TOKEN, free_port


@dataclass
class OfficeService:
    url: str
    database: Path

    def handoffs(self, sender: str) -> list[tuple[str, str, Any]]:
        with sqlite3.connect(self.database) as db:
            return db.execute(
                "SELECT h.status, h.reason, h.ticket_id FROM handoffs h JOIN conversations c"
                " ON c.id = h.conversation_id WHERE c.sender_id = ?",
                (sender,),
            ).fetchall()


def _start(workdir: Path, office_hours: str) -> tuple[subprocess.Popen[bytes], OfficeService]:
    port = free_port()
    database = workdir / "service.db"
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        DATABASE_URL=f"sqlite:///{database}",
        SERVICE_TOKEN=TOKEN,
        RASA_URL="http://127.0.0.1:9",
        ATTACHMENTS_DIR=str(workdir / "attachments"),
        OFFICE_HOURS=office_hours,
    )
    subprocess.run([str(SERVICE_PYTHON), "-m", "bot.cli", "db", "upgrade"], cwd=ROOT, env=env, check=True)
    log = (workdir / "service.log").open("wb")
    process = subprocess.Popen(
        [str(SERVICE_PYTHON), "-m", "uvicorn", "bot.api.app:create_app", "--factory", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/api/v1/categories", timeout=2)
            break
        except requests.ConnectionError:
            time.sleep(0.3)
    return process, OfficeService(url, database)


@pytest.fixture(scope="module")
def offices(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, OfficeService]]:
    today = datetime.now(ZoneInfo("Asia/Jakarta")).isoweekday()
    other_day = today % 7 + 1
    started = [
        ("open", *_start(tmp_path_factory.mktemp("open"), "1-7 00:00-24:00")),
        ("closed", *_start(tmp_path_factory.mktemp("closed"), f"{other_day} 08:00-16:00")),
    ]
    try:
        yield {name: service for name, _, service in started}
    finally:
        for _, process, _ in started:
            process.terminate()
            process.wait(timeout=20)


def use(office: OfficeService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE_URL", office.url)
    monkeypatch.setenv("SERVICE_TOKEN", TOKEN)


def tracker(
    sender: str, events: list[dict[str, Any]] | None = None, active_loop: str | None = None
) -> Tracker:
    meta = {"channel": "web", "sender_id": sender}
    latest = {
        "text": "saya mau bicara dengan petugas",
        "intent": {"name": "request_human", "confidence": 0.97},
        "entities": [],
        "metadata": meta,
    }
    user = {"event": "user", "text": latest["text"], "parse_data": latest, "metadata": meta}
    return Tracker.from_dict(
        {
            "sender_id": f"web:{sender}",
            "slots": {},
            "latest_message": latest,
            "events": [*(events or []), user],
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": active_loop} if active_loop else {},
            "latest_action_name": None,
        }
    )


async def run(current: Tracker) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    await ActionRequestHuman().run(dispatcher, current, {})
    return dispatcher.messages


def new_sender() -> str:
    return f"u{uuid.uuid4().hex[:8]}"


async def test_within_hours_the_request_is_queued_once(
    offices: dict[str, OfficeService], monkeypatch: pytest.MonkeyPatch
) -> None:
    office = offices["open"]
    use(office, monkeypatch)
    sender = new_sender()
    messages = await run(tracker(sender))
    if "di luar jam layanan" in messages[0]["text"]:
        pytest.skip("today is a public holiday: the office is closed even with all-week hours")
    assert messages[0]["text"] == WITHIN_HOURS
    assert messages[0]["text"].startswith(
        "Permintaan Anda sudah kami teruskan, petugas akan segera membalas di sini"
    )
    again = await run(tracker(sender))
    assert "sudah kami terima sebelumnya" in again[0]["text"]
    assert office.handoffs(sender) == [("menunggu", "request_human", None)]


async def test_outside_hours_names_the_next_opening_and_the_ticket(
    offices: dict[str, OfficeService], monkeypatch: pytest.MonkeyPatch
) -> None:
    office = offices["closed"]
    use(office, monkeypatch)
    sender = new_sender()
    text = (await run(tracker(sender)))[0]["text"]
    assert "di luar jam layanan" in text
    assert "pukul 08.00 WIB" in text
    assert any(day in text for day in ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"))
    rows = office.handoffs(sender)
    assert len(rows) == 1 and rows[0][2] is not None
    with sqlite3.connect(office.database) as db:
        code, kind = db.execute("SELECT code, type FROM tickets WHERE id = ?", (rows[0][2],)).fetchone()
    assert code in text and kind == "permintaan_informasi"
    assert code in (await run(tracker(sender)))[0]["text"]  # asked again: same ticket
    with sqlite3.connect(office.database) as db:
        assert db.execute(
            "SELECT count(*) FROM tickets WHERE reporter_sender_id = ?", (sender,)
        ).fetchone() == (1,)


async def test_the_fallbacks_offer_is_recorded_as_the_reason(
    offices: dict[str, OfficeService], monkeypatch: pytest.MonkeyPatch
) -> None:
    office = offices["open"]
    use(office, monkeypatch)
    sender = new_sender()
    earlier = [
        {"event": "user", "text": "asdf qwer", "parse_data": {"intent": {"name": "nlu_fallback"}}},
        {"event": "action", "name": "action_handle_fallback"},
        {"event": "action", "name": "action_listen"},
    ]
    await run(tracker(sender, earlier))
    assert office.handoffs(sender)[0][1] == "fallback"


def test_reason_inside_the_complaint_form() -> None:
    earlier = [
        {"event": "user", "text": "jalan rusak", "parse_data": {"intent": {"name": "file_complaint"}}},
        {"event": "action", "name": "complaint_form"},
        {"event": "action", "name": "action_listen"},
    ]
    assert handoff_reason(tracker("x", earlier)) == "complaint_form"
    assert handoff_reason(tracker("x")) == "request_human"


async def test_service_down_gets_a_polite_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE_URL", f"http://127.0.0.1:{free_port()}")
    messages = await run(tracker(new_sender()))
    assert messages[0]["text"] == SERVICE_DOWN
