"""Office hours of the handoff: the weekly windows, Friday's longer day, public holidays, the next opening."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.handoff.office_hours import OfficeHours, OfficeHoursError, opening_label, parse_office_hours
from bot.settings import Settings
from bot.tickets.sla import WorkingCalendar

WIB = ZoneInfo("Asia/Jakarta")
DEFAULT = Settings().office_hours  # "1-4 08:00-16:00; 5 08:00-16:30"


def hours(text: str = DEFAULT) -> OfficeHours:
    return OfficeHours.parse(text, WorkingCalendar())


def wib(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=WIB)  # type: ignore[misc]


def test_weekday_windows_and_the_longer_friday() -> None:
    office = hours()
    assert office.is_open(wib(2026, 11, 30, 8, 0))  # Monday, opening minute
    assert not office.is_open(wib(2026, 11, 30, 7, 59))
    assert not office.is_open(wib(2026, 12, 3, 16, 0))  # Thursday closes at 16:00
    assert office.is_open(wib(2026, 11, 27, 16, 15))  # Friday runs to 16:30
    assert not office.is_open(wib(2026, 11, 27, 16, 30))
    assert not office.is_open(wib(2026, 11, 28, 10, 0))  # Saturday


def test_utc_input_is_read_in_jakarta_time() -> None:
    # 01:30 UTC is 08:30 WIB on the same Monday.
    assert hours().is_open(datetime.fromisoformat("2026-11-30T01:30:00+00:00"))
    assert not hours().is_open(datetime.fromisoformat("2026-11-30T09:30:00+00:00"))  # 16:30 WIB


def test_next_opening_after_the_weekend_with_its_indonesian_label() -> None:
    opening = hours().next_opening(wib(2026, 11, 27, 17, 0))  # Friday evening
    assert opening == wib(2026, 11, 30, 8, 0)
    assert opening is not None
    assert opening_label(opening) == "Senin, 30 November 2026 pukul 08.00 WIB"


def test_next_opening_is_now_while_open_and_later_today_before_opening() -> None:
    office = hours()
    assert office.next_opening(wib(2026, 11, 30, 9, 0)) == wib(2026, 11, 30, 9, 0)
    assert office.next_opening(wib(2026, 11, 30, 6, 0)) == wib(2026, 11, 30, 8, 0)


def test_public_holiday_is_closed_and_skipped() -> None:
    office = hours()
    christmas = wib(2026, 12, 25, 10, 0)  # a Friday, Hari Raya Natal
    assert not office.is_open(christmas)
    assert office.next_opening(wib(2026, 12, 24, 17, 0)) == wib(2026, 12, 28, 8, 0)
    assert opening_label(wib(2026, 12, 28, 8, 0)) == "Senin, 28 Desember 2026 pukul 08.00 WIB"


def test_lists_ranges_split_days_and_midnight() -> None:
    office = hours("1,3 08:00-12:00; 1 13:00-24:00; 6-7 09:00-11:00")
    assert office.is_open(wib(2026, 11, 30, 23, 59))  # Monday, until midnight
    assert not office.is_open(wib(2026, 11, 30, 12, 30))  # Monday lunch break
    assert office.next_opening(wib(2026, 11, 30, 12, 30)) == wib(2026, 11, 30, 13, 0)
    assert not office.is_open(wib(2026, 12, 1, 9, 0))  # Tuesday: not listed
    assert office.is_open(wib(2026, 11, 29, 10, 0))  # Sunday


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ; ",
        "senin 08:00-16:00",
        "1-4 16:00-08:00",
        "8 08:00-16:00",
        "1 08:00-25:00",
        "4-1 08:00-10:00",
        "1 08:00-12:00; 1 11:00-13:00",
        "1 08:60-10:00",
    ],
)
def test_unreadable_settings_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(OfficeHoursError):
        parse_office_hours(text)
