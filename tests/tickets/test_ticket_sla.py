"""SLA date logic on real 2026 Indonesian holidays (from the `holidays` library, not a hand list)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.tickets.sla import (
    DEFAULT_TIER,
    DayUnit,
    Span,
    WorkingCalendar,
    compute_deadlines,
    shift_for_pause,
)

WIB = ZoneInfo("Asia/Jakarta")
CAL = WorkingCalendar()


def wib(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=WIB)


def local_day(moment: datetime) -> date:
    return moment.astimezone(WIB).date()


def test_2026_holidays_come_from_the_library() -> None:
    assert CAL.holiday_name(date(2026, 8, 17)) == "Hari Kemerdekaan Republik Indonesia"
    assert CAL.holiday_name(date(2026, 12, 25)) == "Hari Raya Natal"
    assert CAL.holiday_name(date(2026, 3, 19)) is not None  # Nyepi
    assert not CAL.is_working_day(date(2026, 8, 17))
    assert not CAL.is_working_day(date(2026, 3, 21))  # Saturday (and Idul Fitri)
    assert CAL.is_working_day(date(2026, 8, 18))


def test_deadline_is_end_of_day_in_jakarta() -> None:
    due = CAL.due_at(wib(2026, 3, 2), Span(3, DayUnit.WORKING))  # Monday
    assert due.tzinfo is not None
    assert due.astimezone(WIB).replace(tzinfo=None) == datetime(2026, 3, 5, 23, 59, 59)  # Thursday


def test_three_working_days_skip_the_weekend() -> None:
    # Thursday 5 March 2026 -> Fri 6, Mon 9, Tue 10.
    assert local_day(CAL.due_at(wib(2026, 3, 5), DEFAULT_TIER.verification)) == date(2026, 3, 10)


def test_received_on_saturday_counts_from_monday() -> None:
    assert local_day(CAL.due_at(wib(2026, 3, 7), DEFAULT_TIER.verification)) == date(2026, 3, 11)


def test_nyepi_and_idul_fitri_2026() -> None:
    # Wed 18 March: Thu 19 Nyepi (holiday), Fri 20 working, 21-22 Idul Fitri on the weekend, Mon 23, Tue 24.
    assert local_day(CAL.due_at(wib(2026, 3, 18), Span(3, DayUnit.WORKING))) == date(2026, 3, 24)


def test_cuti_bersama_can_be_counted_as_holidays() -> None:
    with_leave = WorkingCalendar(holiday_categories=("public", "government"))
    # Cuti bersama 20, 23, 24 March 2026 are also off: Wed 25, Thu 26, Fri 27.
    assert local_day(with_leave.due_at(wib(2026, 3, 18), Span(3, DayUnit.WORKING))) == date(2026, 3, 27)


def test_independence_day_2026() -> None:
    # Friday 14 August: Mon 17 is Hari Kemerdekaan -> Tue 18, Wed 19, Thu 20.
    assert local_day(CAL.due_at(wib(2026, 8, 14), Span(3, DayUnit.WORKING))) == date(2026, 8, 20)


def test_christmas_2026() -> None:
    # Wednesday 23 December: Thu 24 works, Fri 25 Natal, weekend, Mon 28, Tue 29.
    assert local_day(CAL.due_at(wib(2026, 12, 23), Span(3, DayUnit.WORKING))) == date(2026, 12, 29)


def test_calendar_days_do_not_skip_holidays() -> None:
    received = wib(2026, 8, 10)
    deadlines = compute_deadlines(received, DEFAULT_TIER, CAL)
    assert local_day(deadlines.first_response) == date(2026, 8, 24)  # 14 days, 17 Aug included
    assert local_day(deadlines.resolution) == date(2026, 10, 9)  # 60 days


def test_friday_2330_wib_is_still_friday() -> None:
    # 23:30 WIB Friday 6 March 2026 (16:30 UTC): Friday is the day of receipt -> Mon 9, Tue 10, Wed 11.
    received = wib(2026, 3, 6, 23, 30)
    assert received.astimezone(timezone.utc).date() == date(2026, 3, 6)
    assert local_day(CAL.due_at(received, DEFAULT_TIER.verification)) == date(2026, 3, 11)


def test_jakarta_day_boundary_differs_from_utc() -> None:
    # 00:30 WIB Friday 6 March = 17:30 UTC Thursday. In Jakarta it is Friday: deadline Wednesday 11,
    # while counting from the UTC date (Thursday) would wrongly give Tuesday 10.
    received = datetime(2026, 3, 5, 17, 30, tzinfo=timezone.utc)
    assert received.astimezone(WIB).date() == date(2026, 3, 6)
    due = CAL.due_at(received, DEFAULT_TIER.verification)
    assert local_day(due) == date(2026, 3, 11)
    assert due == datetime(2026, 3, 11, 16, 59, 59, tzinfo=timezone.utc)
    naive_utc = CAL.add_working_days(received.date(), 3)
    assert naive_utc == date(2026, 3, 10)  # what a UTC-based computation would have promised


def test_working_seconds_between() -> None:
    # Friday 10:00 -> Monday 10:00 WIB: 14 h of Friday + 10 h of Monday; the weekend does not count.
    assert CAL.working_seconds_between(wib(2026, 3, 6), wib(2026, 3, 9)) == 24 * 3600
    assert CAL.working_seconds_between(wib(2026, 3, 7), wib(2026, 3, 8)) == 0  # Sat -> Sun
    assert CAL.working_seconds_between(wib(2026, 3, 4), wib(2026, 3, 4, 12)) == 2 * 3600


def test_pause_within_the_week_shifts_by_the_paused_duration() -> None:
    received = wib(2026, 3, 2)  # Monday
    d = compute_deadlines(received, DEFAULT_TIER, CAL)
    paused, resumed = wib(2026, 3, 4), wib(2026, 3, 5)  # Wed 10:00 -> Thu 10:00
    verification = shift_for_pause(d.verification, DayUnit.WORKING, paused, resumed, CAL)
    first = shift_for_pause(d.first_response, DayUnit.CALENDAR, paused, resumed, CAL)
    assert local_day(d.verification) == date(2026, 3, 5)
    assert local_day(verification) == date(2026, 3, 6)  # one working day later, still end of day
    assert verification.astimezone(WIB).time().isoformat() == "23:59:59"
    assert first - d.first_response == timedelta(days=1)


def test_pause_over_a_weekend_costs_one_working_day_not_three() -> None:
    d = compute_deadlines(wib(2026, 3, 2), DEFAULT_TIER, CAL)
    paused, resumed = wib(2026, 3, 6), wib(2026, 3, 9)  # Fri 10:00 -> Mon 10:00
    resolution = shift_for_pause(d.resolution, DayUnit.CALENDAR, paused, resumed, CAL)
    assert resolution - d.resolution == timedelta(days=3)  # calendar clock: the full wall-clock pause
    verification = shift_for_pause(d.verification, DayUnit.WORKING, paused, resumed, CAL)
    assert local_day(verification) == date(2026, 3, 6)  # Thu 5 + one working day


def test_pause_over_independence_day_skips_it_on_both_ends() -> None:
    received = wib(2026, 8, 12)  # Wednesday: 13, 14, 18 (17 is a holiday) -> Tue 18 August
    due = CAL.due_at(received, DEFAULT_TIER.verification)
    assert local_day(due) == date(2026, 8, 18)
    # Paused Fri 14 Aug 12:00 -> Tue 18 Aug 12:00: 12 h Friday + 12 h Tuesday = one working day.
    shifted = shift_for_pause(due, DayUnit.WORKING, wib(2026, 8, 14, 12), wib(2026, 8, 18, 12), CAL)
    assert local_day(shifted) == date(2026, 8, 19)


def test_no_shift_when_resume_is_not_after_pause() -> None:
    due = wib(2026, 3, 5, 23, 59)
    assert shift_for_pause(due, DayUnit.CALENDAR, wib(2026, 3, 4), wib(2026, 3, 4), CAL) == due


def test_negative_span_rejected() -> None:
    with pytest.raises(ValueError):
        Span(-1, DayUnit.WORKING)
