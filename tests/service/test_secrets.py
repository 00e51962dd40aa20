"""No secret has a working default: start-up is refused for missing, short or example secrets outside
development (the service, `bot serve` through uvicorn, `bot telegram poll|set-webhook`, `bot model deploy`)."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot import cli
from bot.api.app import create_app
from bot.secret_checks import InsecureSecretsError, find_problems, secret_problem
from bot.settings import PROJECT_ROOT, Settings, get_settings
from tests.service.fake_rasa import FakeRasa

STRONG = {
    "service_token": "Xq3v9Zr1Lk8Tn2Wb7Yc5Hd4Jf6Mg0Ps-Qa_Re",
    "data_encryption_key": "vB3mFz0q0Z2pQm6yXbN4wR1tLk8sJd7hGc5aUe9iOoY=",
    "log_hash_key": "Tz8Yb2Nq5Wc1Xm7Lr4Vk0Hs9Pd3Jf6Gg_Ae-Ui",
}
SECRET_NAMES = (
    "SERVICE_TOKEN",
    "DATA_ENCRYPTION_KEY",
    "LOG_HASH_KEY",
    "TELEGRAM_WEBHOOK_SECRET",
    "WHATSAPP_APP_SECRET",
    "WHATSAPP_VERIFY_TOKEN",
)


def settings(**values: Any) -> Settings:
    """Settings from these values alone (no `.env`, no generated file), in production unless told."""
    return Settings(_env_file=None, database_url="sqlite://", **({"app_env": "production"} | values))


@pytest.fixture(autouse=True)
def no_secrets_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRET_NAMES:
        monkeypatch.delenv(name, raising=False)


# --- the rule ---


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "is missing"),
        ("   ", "is missing"),
        ("dev-service-token-change-me", "is an example value"),
        ("CHANGEME-0123456789-abcdefghijklmnopqrstuvwxyz", "is an example value"),
        ("<a long random string, e.g. `openssl rand -hex 32`>", "is an example value"),
        ("Xq3v9Zr1Lk8Tn2Wb7Yc5Hd4Jf6Mg0Ps", "is shorter than 32 characters"),
        ("ab" * 20, "is not a random string"),
    ],
)
def test_unusable_secrets_are_named_with_the_reason(value: str, reason: str) -> None:
    assert secret_problem("SERVICE_TOKEN", value) == reason


def test_the_encryption_key_must_be_a_fernet_key() -> None:
    assert secret_problem("DATA_ENCRYPTION_KEY", STRONG["data_encryption_key"]) is None
    assert "Fernet" in str(secret_problem("DATA_ENCRYPTION_KEY", STRONG["service_token"]))
    assert secret_problem("LOG_HASH_KEY", STRONG["service_token"]) is None


def test_every_secret_value_shown_in_the_docs_is_refused() -> None:
    pattern = re.compile(rf"^[#\s]*({'|'.join(SECRET_NAMES)})=(.+)$", re.MULTILINE)
    shown = [
        (match.group(1), match.group(2).strip())
        for path in (PROJECT_ROOT / ".env.example", PROJECT_ROOT / "README.md")
        for match in pattern.finditer(path.read_text())
    ]
    assert shown  # the README shows placeholders for the channel secrets
    assert all(find_problems({name: value}) for name, value in shown), shown


# --- the service ---


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({}, "SERVICE_TOKEN is missing"),
        (STRONG | {"service_token": "dev-service-token-change-me"}, "SERVICE_TOKEN is an example value"),
        (STRONG | {"service_token": "short-token"}, "SERVICE_TOKEN is shorter than 32"),
        (STRONG | {"log_hash_key": ""}, "LOG_HASH_KEY is missing"),
        (STRONG | {"data_encryption_key": "x" * 44}, "DATA_ENCRYPTION_KEY is not a random string"),
        (
            STRONG | {"telegram_bot_token": "123:abc", "telegram_webhook_secret": "rahasia"},
            "TELEGRAM_WEBHOOK_SECRET is shorter than 32",
        ),
        (
            STRONG
            | {
                "whatsapp_access_token": "EAAG",
                "whatsapp_phone_number_id": "1",
                "whatsapp_verify_token": STRONG["log_hash_key"],
            },
            "WHATSAPP_APP_SECRET is missing",
        ),
        (STRONG | {"whatsapp_verify_token": "verify-me"}, "WHATSAPP_VERIFY_TOKEN is shorter than 32"),
    ],
)
def test_the_service_refuses_to_start_with_an_unusable_secret(values: dict[str, str], named: str) -> None:
    with pytest.raises(InsecureSecretsError) as refused:
        create_app(settings(**values))
    assert named in str(refused.value)
    assert "APP_ENV=development" in str(refused.value)


def test_a_channel_that_is_not_configured_needs_no_secret() -> None:
    app = create_app(settings(**STRONG, telegram_mode="polling", telegram_bot_token="123:abc"))
    assert app.state.settings.telegram_webhook_secret == ""


def test_the_service_starts_with_strong_secrets(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        app = create_app(settings(**STRONG))
    assert app.state.settings.service_token == STRONG["service_token"]
    assert "INSECURE SECRETS" not in caplog.text


def test_development_starts_with_weak_secrets_and_says_so_loudly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        app = create_app(settings(app_env="development", service_token="dev-service-token-change-me"))
    assert app.state.settings.service_token == "dev-service-token-change-me"
    warning = next(r for r in caplog.records if "INSECURE SECRETS" in r.getMessage())
    assert warning.levelno == logging.WARNING
    assert "SERVICE_TOKEN is an example value" in warning.getMessage()
    assert "DATA_ENCRYPTION_KEY is missing" in warning.getMessage()


def test_without_a_service_token_no_request_authenticates(fake_rasa: FakeRasa) -> None:
    """Development may start without SERVICE_TOKEN; an empty bearer token must not then open the API."""
    app = create_app(settings(app_env="development", rasa_url=fake_rasa.url))
    with TestClient(app) as client:
        for header in ("Bearer ", "Bearer", ""):
            response = client.get("/api/v1/reporters/web/warga-1/tickets", headers={"Authorization": header})
            assert response.status_code == 401, header
            assert response.json()["detail"] == "Token layanan tidak valid."


def test_uvicorn_exits_instead_of_serving_without_secrets(tmp_path: Path) -> None:
    """`bot serve` / `make run` start the service as a uvicorn factory: the process ends at start-up."""
    env = {k: v for k, v in os.environ.items() if k not in SECRET_NAMES}
    env |= {"APP_ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    env |= {name: "" for name in SECRET_NAMES}  # also hides a generated var/secrets.env
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "bot.api.app:create_app", "--factory", "--port", "0"],
        cwd=tmp_path,
        env=env | {"PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "the bot service refuses to start: SERVICE_TOKEN is missing" in result.stderr


# --- the CLI ---


@pytest.fixture
def cli_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.chdir(tmp_path)  # no `.env`
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    for name in SECRET_NAMES:
        monkeypatch.setenv(name, "")  # hides a generated var/secrets.env
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("argv", "extra", "named"),
    [
        (
            ["telegram", "poll"],
            {"TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_MODE": "polling"},
            "SERVICE_TOKEN",
        ),
        (
            ["telegram", "set-webhook", "--url", "https://aduan.example.go.id/webhooks/telegram"],
            {
                "TELEGRAM_BOT_TOKEN": "123:abc",
                "TELEGRAM_WEBHOOK_SECRET": "rahasia",
                **{name.upper(): value for name, value in STRONG.items()},
            },
            "TELEGRAM_WEBHOOK_SECRET is shorter than 32",
        ),
        (["model", "rollback"], {}, "LOG_HASH_KEY is missing"),
    ],
)
def test_cli_commands_that_read_secrets_refuse_to_start(
    cli_environment: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    extra: dict[str, str],
    named: str,
) -> None:
    for name, value in extra.items():
        cli_environment.setenv(name, value)
    assert cli.main(argv) == 2
    assert named in capsys.readouterr().err
