"""Incident dates read from citizen text, and how believable they are (actions/dates.py)."""

from __future__ import annotations

from datetime import date

import pytest

from actions.dates import Plausibility, parse_incident_date, plausibility, stored_incident_date

TODAY = date(2026, 12, 7)  # a Monday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sejak minggu lalu", date(2026, 11, 30)),
        ("2026-11-30", date(2026, 11, 30)),  # an ISO date is that date, never "11-30"
        ("tanggal 2026-11-30 pagi", date(2026, 11, 30)),
        ("2026-13-40", None),
        ("5/3", date(2026, 3, 5)),
        ("tgl 5/3.", date(2026, 3, 5)),
        ("5/3/2025", date(2025, 3, 5)),
        ("30 Desember", date(2025, 12, 30)),  # said in December before the 30th: last year's
        ("Senin lalu", date(2026, 11, 30)),
        ("hp saya 0812-3456-7890", None),  # digits of a phone number are no date
    ],
)
def test_dates_read_from_text(text: str, expected: date | None) -> None:
    assert parse_incident_date(text, TODAY) == expected


@pytest.mark.parametrize(
    ("incident", "verdict"),
    [
        (TODAY, Plausibility.PLAUSIBLE),
        (date(2021, 12, 7), Plausibility.PLAUSIBLE),  # exactly five years back
        (date(2021, 12, 6), Plausibility.LONG_AGO),
        (date(1945, 8, 17), Plausibility.LONG_AGO),
        (date(1945, 8, 16), Plausibility.TOO_OLD),
        (date(1930, 12, 11), Plausibility.TOO_OLD),
        (date(2026, 12, 8), Plausibility.FUTURE),
    ],
)
def test_plausibility(incident: date, verdict: Plausibility) -> None:
    assert plausibility(incident, TODAY) is verdict


def test_stored_dates_are_iso_only() -> None:
    assert stored_incident_date("2026-11-30") == date(2026, 11, 30)
    assert stored_incident_date("minggu lalu") is None
    assert stored_incident_date(None) is None
    assert stored_incident_date(20261130) is None
