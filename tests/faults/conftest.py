"""A PostgreSQL server of the suite's own (crashed and restarted by the tests), started once per session."""

from __future__ import annotations

import glob
import shutil
from collections.abc import Iterator

import pytest

from tests.faults.harness import PG_BIN_GLOB, Postgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    if not glob.glob(PG_BIN_GLOB) or shutil.which("runuser") is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    server = Postgres().init()
    server.start()
    try:
        yield server
    finally:
        server.remove()
