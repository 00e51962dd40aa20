"""Open now, closed now and the next opening: split shifts, holidays, after closing on Friday, WIB/WITA/WIT."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.catalogue.hours import HoursError, WeeklyHours, hours_to_spec, parse_days, parse_hours

SPLIT = parse_hours({"senin-kamis": "08.00-14.00", "jumat": ["08.00-11.00", "13.30-14.30"]})


def at(text: str, zone: str = "Asia/Jakarta") -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def test_day_ranges_and_wrapping() -> None:
    assert parse_days("senin-kamis") == [0, 1, 2, 3]
    assert parse_days("jumat-senin") == [4, 5, 6, 0]
    assert parse_days("Jum'at") == [4]
    with pytest.raises(HoursError):
        parse_days("senin-senin")


def test_split_shift_is_closed_during_the_break_and_reopens_the_same_day() -> None:
    hours = WeeklyHours(SPLIT, "Asia/Jakarta")
    # Friday 4 December 2026, 12.00 WIB: between the two windows.
    state = hours.state(at("2026-12-04T12:00"))
    assert (state.is_open, state.opens_at) == (False, at("2026-12-04T13:30"))
    during = hours.state(at("2026-12-04T10:59"))
    assert (during.is_open, during.closes_at) == (True, at("2026-12-04T11:00"))


def test_after_closing_on_friday_the_next_opening_is_monday() -> None:
    hours = WeeklyHours(SPLIT, "Asia/Jakarta")
    state = hours.state(at("2026-12-04T14:30"))  # the second window ends at 14.30 (end excluded)
    assert not state.is_open
    assert state.opens_at == at("2026-12-07T08:00")


def test_public_holidays_close_the_agency_unless_it_opens_on_holidays() -> None:
    # Friday 25 December 2026 is Christmas (holidays library, as the SLA uses it).
    closed = WeeklyHours(SPLIT, "Asia/Jakarta").state(at("2026-12-25T09:00"))
    assert not closed.is_open
    assert closed.holiday is not None and "Natal" in closed.holiday
    assert closed.opens_at == at("2026-12-28T08:00")
    open_anyway = WeeklyHours(SPLIT, "Asia/Jakarta", open_on_holidays=True).state(at("2026-12-25T09:00"))
    assert open_anyway.is_open and open_anyway.holiday is None


def test_a_holiday_on_the_next_working_day_is_skipped() -> None:
    # Thursday 24 December 2026 after closing: Friday the 25th is Christmas, so the next opening is Monday.
    state = WeeklyHours(SPLIT, "Asia/Jakarta").state(at("2026-12-24T15:00"))
    assert state.opens_at == at("2026-12-28T08:00")


@pytest.mark.parametrize(
    ("zone", "is_open"),
    [("Asia/Jakarta", True), ("Asia/Makassar", True), ("Asia/Jayapura", False)],
)
def test_the_same_moment_in_wib_wita_and_wit(zone: str, is_open: bool) -> None:
    hours = WeeklyHours(parse_hours({"senin-jumat": "08.00-14.00"}), zone)
    moment = datetime(2026, 12, 7, 5, 30, tzinfo=timezone.utc)  # 12.30 WIB, 13.30 WITA, 14.30 WIT
    state = hours.state(moment)
    assert state.is_open is is_open
    assert state.now.tzinfo is not None and str(state.now.tzinfo) == zone


def test_hours_spec_round_trip_groups_day_ranges() -> None:
    spec = {"senin-kamis": "08.00-14.00", "jumat": ["08.00-11.00", "13.30-14.30"], "sabtu": "08.00-12.00"}
    assert hours_to_spec(parse_hours(spec)) == spec


def test_midnight_end_and_invalid_minutes() -> None:
    assert parse_hours({"sabtu": "20.00-24.00"})[5][0].end == 24 * 60
    with pytest.raises(HoursError):
        parse_hours({"sabtu": "08.60-10.00"})
