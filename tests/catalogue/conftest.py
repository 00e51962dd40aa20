"""Fixtures of the catalogue tests: the fictional test catalogue (WITA) and migrated databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bot.catalogue.matching import CatalogueIndex
from bot.catalogue.schema import Catalogue, parse_catalogue
from bot.db import Database
from tests.service import conftest as service_fixtures

fake_rasa_server = service_fixtures.fake_rasa_server
fake_rasa = service_fixtures.fake_rasa
sqlite_template = service_fixtures.sqlite_template
sqlite_url = service_fixtures.sqlite_url
postgres_scratch = service_fixtures.postgres_scratch
postgres_migrated = service_fixtures.postgres_migrated

DATA = Path(__file__).parent / "data"
TEST_CATALOGUE = DATA / "mpp_tirtamaya.yml"
CATALOGUE_TABLES = "catalogue_office, catalogue_agencies, catalogue_changes, catalogue_misses"


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return parse_catalogue(TEST_CATALOGUE.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def index(catalogue: Catalogue) -> CatalogueIndex:
    return CatalogueIndex(catalogue)


@pytest.fixture
def postgres_url(postgres_migrated: str) -> str:
    engine = create_engine(postgres_migrated, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {CATALOGUE_TABLES} RESTART IDENTITY"))
    engine.dispose()
    return postgres_migrated


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    url: str = request.getfixturevalue(f"{request.param}_url")
    db = Database(url)
    yield db
    db.dispose()
