"""Fixtures of the model-operations tests: a migrated SQLite database, model files, a fake Rasa fleet."""

from __future__ import annotations

import io
import json
import socket
import tarfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from bot.db import Database
from bot.gateway.gateway import Gateway
from bot.gateway.rasa_client import RasaClient
from bot.modelops import registry
from bot.modelops.deployer import Deployer, DeployerConfig
from tests.modelops.fake_rasa_fleet import Fleet
from tests.service.conftest import sqlite_template, sqlite_url  # noqa: F401  shared fixtures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_model(directory: Path, name: str, trained_at: str = "2026-11-20T08:00:00+00:00") -> Path:
    """A small archive shaped like a Rasa model (metadata.json with trained_at)."""
    path = directory / f"{name}.tar.gz"
    meta = json.dumps({"trained_at": trained_at, "model_name": name}).encode()
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("metadata.json")
        info.size = len(meta)
        archive.addfile(info, io.BytesIO(meta))
        body = name.encode() * 10
        info = tarfile.TarInfo("components/train_weights.bin")
        info.size = len(body)
        archive.addfile(info, io.BytesIO(body))
    return path


@pytest.fixture
def database(sqlite_url: str) -> Iterator[Database]:  # noqa: F811
    db = Database(sqlite_url)
    yield db
    db.dispose()


@pytest.fixture
def model_files(tmp_path: Path) -> dict[str, Path]:
    directory = tmp_path / "models"
    directory.mkdir()
    return {
        "blue": write_model(directory, "ci-aaaaaaaaaaaaaaaa", "2026-11-20T08:00:00+00:00"),
        "green": write_model(directory, "ci-bbbbbbbbbbbbbbbb", "2026-11-21T08:00:00+00:00"),
        "broken": write_model(directory, "ci-cccccccccccccccc", "2026-11-22T08:00:00+00:00"),
    }


@pytest.fixture
def registered(database: Database, model_files: dict[str, Path]) -> dict[str, int]:
    ids: dict[str, int] = {}
    with database.session() as session:
        for key, path in model_files.items():
            model, _ = registry.register(session, registry.inspect_model_file(path), trained_by="tester")
            ids[key] = model.id
    return ids


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    fleet = Fleet()
    try:
        yield fleet
    finally:
        fleet.stop_all()


@pytest.fixture
async def rasa_http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


@pytest.fixture
def ports() -> tuple[int, int]:
    return free_port(), free_port()


@pytest.fixture
def gateway(database: Database, rasa_http: httpx.AsyncClient, ports: tuple[int, int]) -> Gateway:
    rasa = RasaClient(f"http://127.0.0.1:{ports[0]}", rasa_http, 10.0)
    return Gateway(database, rasa, duplicate_wait_seconds=10.0)


@pytest.fixture
async def make_deployer(
    database: Database, gateway: Gateway, fleet: Fleet, ports: tuple[int, int]
) -> AsyncIterator[Callable[..., Deployer]]:
    made: list[Deployer] = []

    def make(start_timeout: float = 10.0, drain_timeout: float = 10.0) -> Deployer:
        config = DeployerConfig(
            ports=ports, start_timeout_seconds=start_timeout, drain_timeout_seconds=drain_timeout
        )
        deployer = Deployer(database, gateway.rasa, fleet, config)
        made.append(deployer)
        return deployer

    try:
        yield make
    finally:
        for deployer in made:
            await deployer.close()
