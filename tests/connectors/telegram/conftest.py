"""Fixtures of the Telegram connector tests: the fake Bot API on loopback, migrated databases, a connector."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.db import Database
from connectors.callback_store import CallbackStore
from connectors.telegram import TelegramConnector
from tests.connectors.telegram.fake_bot_api import FakeBotApi, FakeBotApiServer

# The service tests' database and fake-Rasa fixtures (SQLite copies of a migrated template, PostgreSQL).
from tests.service.conftest import (  # noqa: F401
    database,
    fake_rasa,
    fake_rasa_server,
    postgres_migrated,
    postgres_scratch,
    postgres_url,
    rasa_http,
    sqlite_database,
    sqlite_template,
    sqlite_url,
)

# Copies of real Bot API payload shapes (from the project's shared payload collection).
PAYLOADS = Path(__file__).parent / "payloads"


def load_payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return data


@pytest.fixture(scope="session")
def fake_bot_api_server() -> Iterator[FakeBotApi]:
    with FakeBotApiServer() as fake:
        yield fake


@pytest.fixture
def fake_bot_api(fake_bot_api_server: FakeBotApi) -> Iterator[FakeBotApi]:
    fake_bot_api_server.reset()
    yield fake_bot_api_server
    fake_bot_api_server.reset()


@pytest.fixture
def callbacks(sqlite_database: Database) -> CallbackStore:  # noqa: F811
    return CallbackStore(sqlite_database)


@pytest.fixture
async def connector(fake_bot_api: FakeBotApi, callbacks: CallbackStore) -> AsyncIterator[TelegramConnector]:
    telegram = TelegramConnector(fake_bot_api.token, callbacks, api_base_url=fake_bot_api.url)
    yield telegram
    await telegram.aclose()
