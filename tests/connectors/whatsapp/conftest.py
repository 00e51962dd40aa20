"""Fixtures of the WhatsApp connector tests: the fake Graph API on loopback, migrated databases, a connector."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.db import Database
from connectors.callback_store import CallbackStore
from connectors.whatsapp import WhatsAppConnector
from connectors.whatsapp_menus import NumberedMenus
from tests.connectors.whatsapp.fake_graph_api import FakeGraphApi, FakeGraphApiServer

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

# Copies of real Cloud API webhook bodies (from the project's shared payload collection; see README.md).
PAYLOADS = Path(__file__).parent / "payloads"


def payload_cases() -> list[tuple[str, dict[str, Any]]]:
    """Every webhook body of every payload file, as ("file:case", body)."""
    cases: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(PAYLOADS.glob("*.json")):
        for name, body in json.loads(path.read_text()).items():
            cases.append((f"{path.stem}:{name}", body))
    return cases


def payload(file: str, case: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((PAYLOADS / f"{file}.json").read_text())[case]
    return body


@pytest.fixture(scope="session")
def fake_graph_api_server() -> Iterator[FakeGraphApi]:
    with FakeGraphApiServer() as fake:
        yield fake


@pytest.fixture
def fake_graph_api(fake_graph_api_server: FakeGraphApi) -> Iterator[FakeGraphApi]:
    fake_graph_api_server.reset()
    yield fake_graph_api_server
    fake_graph_api_server.reset()


@pytest.fixture
async def connector(
    fake_graph_api: FakeGraphApi,
    sqlite_database: Database,  # noqa: F811
) -> AsyncIterator[WhatsAppConnector]:
    whatsapp = WhatsAppConnector(
        fake_graph_api.token,
        fake_graph_api.phone_number_id,
        callbacks=CallbackStore(sqlite_database),
        menus=NumberedMenus(sqlite_database),
        api_base_url=fake_graph_api.url,
    )
    await whatsapp.start()
    yield whatsapp
    await whatsapp.aclose()
