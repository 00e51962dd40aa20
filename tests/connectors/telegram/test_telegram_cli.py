"""`bot telegram set-webhook` and `bot telegram poll`, run as the operator runs them (subprocesses)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.pool import NullPool

from bot.conversations.models import Direction, Message
from tests.connectors.telegram.conftest import load_payload
from tests.connectors.telegram.fake_bot_api import FakeBotApi
from tests.service.fake_rasa import FakeRasa

ROOT = Path(__file__).resolve().parents[3]
SECRET = "cli-secret-0123456789"


def cli_env(fake: FakeBotApi, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    return env | {
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": fake.url,
        **extra,
    }


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "telegram", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_set_webhook(fake_bot_api: FakeBotApi, sqlite_url: str) -> None:
    url = "https://aduan.example.go.id/webhooks/telegram"
    done = run_cli(
        "set-webhook", env=cli_env(fake_bot_api, TELEGRAM_WEBHOOK_URL=url, DATABASE_URL=sqlite_url)
    )
    assert done.returncode == 0, done.stderr
    assert fake_bot_api.webhook == {
        "url": url,
        "secret_token": SECRET,
        "allowed_updates": ["message", "edited_message", "callback_query"],
    }
    assert fake_bot_api.calls_of("setMyCommands")
    assert fake_bot_api.token not in done.stdout + done.stderr  # the token is never printed


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"TELEGRAM_WEBHOOK_SECRET": ""}, "TELEGRAM_WEBHOOK_SECRET"),
        ({}, "TELEGRAM_WEBHOOK_URL"),
        ({"TELEGRAM_WEBHOOK_URL": "http://aduan.example.go.id/webhooks/telegram"}, "https://"),
    ],
)
def test_set_webhook_refuses_an_incomplete_setup(
    fake_bot_api: FakeBotApi, sqlite_url: str, extra: dict[str, str], message: str
) -> None:
    done = run_cli("set-webhook", env=cli_env(fake_bot_api, DATABASE_URL=sqlite_url, **extra))
    assert done.returncode == 2
    assert message in done.stderr
    assert fake_bot_api.calls == []


def test_poll_refuses_to_remove_a_webhook_in_webhook_mode(fake_bot_api: FakeBotApi, sqlite_url: str) -> None:
    done = run_cli("poll", env=cli_env(fake_bot_api, DATABASE_URL=sqlite_url))
    assert done.returncode == 2 and "TELEGRAM_MODE=polling" in done.stderr
    assert fake_bot_api.calls == []


def test_poll_answers_a_citizen_and_stops_on_sigterm(
    fake_bot_api: FakeBotApi, fake_rasa: FakeRasa, sqlite_url: str, tmp_path: Path
) -> None:
    env = cli_env(
        fake_bot_api,
        TELEGRAM_MODE="polling",
        DATABASE_URL=sqlite_url,
        RASA_URL=fake_rasa.url,
        ATTACHMENTS_DIR=str(tmp_path / "attachments"),
        DELIVERY_MIN_INTERVAL_SECONDS="0",
    )
    fake_bot_api.webhook["url"] = "https://old.example/webhooks/telegram"  # polling must remove it
    fake_bot_api.push_update(load_payload("message_text.json"))
    log = (tmp_path / "poll.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "telegram", "poll", "--timeout", "2"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        [reply] = fake_bot_api.wait_for(lambda fake: fake.calls_of("sendMessage"), timeout=60)
        assert reply.params["text"] == "Mohon maaf, saya belum mengerti."
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
    assert fake_bot_api.calls_of("deleteWebhook")
    engine = create_engine(sqlite_url, poolclass=NullPool)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Message.platform_message_id).where(Message.direction == Direction.IN)
        ).all()
    engine.dispose()
    assert [row[0] for row in rows] == ["1760450482:600"]
    assert fake_bot_api.token not in (tmp_path / "poll.log").read_text()
