"""SLA deadlines on Indonesian working days, computed in the office's local time (Asia/Jakarta by default).

Pure date logic, no database. Readings of the rules (see domain.md §1.8, §2.1, §2.7):
- Verification: 3 *working* days (LAPOR! FAQ: "paling lambat 3 hari kerja").
- First answer: 14 *calendar* days. The Ombudsman's statement says "14 hari" without "kerja"; Indonesian
  regulations write "hari kerja" when they mean working days, so a bare "hari" is read as calendar days.
- Resolution: 60 calendar days (Perpres 76/2013, "60 hari", same reading).
Every span is configurable per tier in routing.yml, with its own unit.

Counting: the day of receipt is not counted; a deadline falls at the end (23:59:59 local) of the last day.
Working days skip Saturdays, Sundays and the public holidays of the `holidays` library for Indonesia
(optionally also the "government" category, i.e. cuti bersama). A calendar-day deadline is not moved
off a holiday: the rules count "hari", and moving it would only lengthen the citizen's wait.

Pause (status menunggu_pelapor): on resume, each open calendar-day deadline moves by the paused wall-clock
duration, and each open working-day deadline moves by the *working time* that elapsed during the pause
(a pause over a weekend costs the office nothing, because the weekend never counted).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

DEFAULT_TIMEZONE = "Asia/Jakarta"
_DAY = timedelta(days=1)


class DayUnit(StrEnum):
    WORKING = "working_days"
    CALENDAR = "calendar_days"


@dataclass(frozen=True)
class Span:
    amount: int
    unit: DayUnit

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise ValueError("SLA span must not be negative")


@dataclass(frozen=True)
class SlaTier:
    name: str
    verification: Span
    first_response: Span
    resolution: Span


DEFAULT_TIER = SlaTier(
    name="standar",
    verification=Span(3, DayUnit.WORKING),
    first_response=Span(14, DayUnit.CALENDAR),
    resolution=Span(60, DayUnit.CALENDAR),
)


@dataclass(frozen=True)
class Deadlines:
    verification: datetime
    first_response: datetime
    resolution: datetime


class WorkingCalendar:
    """Which local dates are working days, and arithmetic on them."""

    def __init__(
        self,
        tz: str = DEFAULT_TIMEZONE,
        holiday_categories: Iterable[str] = ("public",),
        extra_holidays: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
    ) -> None:
        self.tz = ZoneInfo(tz)
        self.holiday_categories = tuple(holiday_categories)
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_working_days = frozenset(extra_working_days)

    def holiday_name(self, day: date) -> str | None:
        if day in self.extra_holidays:
            return "Hari libur setempat"
        return _holidays_of_year(self.holiday_categories, day.year).get(day)

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        return day.weekday() < 5 and self.holiday_name(day) is None

    def local_date(self, moment: datetime) -> date:
        return _aware(moment).astimezone(self.tz).date()

    def start_of_day(self, day: date) -> datetime:
        return datetime.combine(day, time(0, 0), tzinfo=self.tz).astimezone(timezone.utc)

    def end_of_day(self, day: date) -> datetime:
        return datetime.combine(day, time(23, 59, 59), tzinfo=self.tz).astimezone(timezone.utc)

    def add_working_days(self, start: date, count: int) -> date:
        """The `count`-th working day after `start` (`start` itself is not counted)."""
        day = start
        remaining = count
        while remaining > 0:
            day += _DAY
            if self.is_working_day(day):
                remaining -= 1
        return day

    def due_at(self, received_at: datetime, span: Span) -> datetime:
        received_day = self.local_date(received_at)
        if span.unit is DayUnit.WORKING:
            return self.end_of_day(self.add_working_days(received_day, span.amount))
        return self.end_of_day(received_day + span.amount * _DAY)

    def working_seconds_between(self, start: datetime, end: datetime) -> float:
        """Seconds of [start, end) that fall on working days (local time)."""
        start, end = _aware(start), _aware(end)
        total = 0.0
        day = self.local_date(start)
        while True:
            day_start, day_end = self.start_of_day(day), self.start_of_day(day + _DAY)
            if day_start >= end:
                return total
            if self.is_working_day(day):
                overlap = min(end, day_end) - max(start, day_start)
                total += max(overlap.total_seconds(), 0.0)
            day += _DAY

    def add_working_seconds(self, moment: datetime, seconds: float) -> datetime:
        """Move `moment` forward by `seconds` of working-day time, skipping non-working days entirely."""
        cursor = _aware(moment).astimezone(timezone.utc)
        remaining = timedelta(seconds=seconds)
        while remaining > timedelta(0):
            day = self.local_date(cursor)
            next_midnight = self.start_of_day(day + _DAY)
            if self.is_working_day(day):
                step = min(remaining, next_midnight - cursor)
                cursor += step
                remaining -= step
                if remaining <= timedelta(0):
                    break
            cursor = next_midnight
        return cursor


def compute_deadlines(received_at: datetime, tier: SlaTier, calendar: WorkingCalendar) -> Deadlines:
    return Deadlines(
        verification=calendar.due_at(received_at, tier.verification),
        first_response=calendar.due_at(received_at, tier.first_response),
        resolution=calendar.due_at(received_at, tier.resolution),
    )


def shift_for_pause(
    deadline: datetime, unit: DayUnit, paused_at: datetime, resumed_at: datetime, calendar: WorkingCalendar
) -> datetime:
    """The deadline after a pause from `paused_at` to `resumed_at` (see the module docstring)."""
    paused_at, resumed_at = _aware(paused_at), _aware(resumed_at)
    if resumed_at <= paused_at:
        return _aware(deadline)
    if unit is DayUnit.CALENDAR:
        return _aware(deadline) + (resumed_at - paused_at)
    return calendar.add_working_seconds(deadline, calendar.working_seconds_between(paused_at, resumed_at))


@lru_cache(maxsize=64)
def _holidays_of_year(categories: tuple[str, ...], year: int) -> dict[date, str]:
    """Indonesian holidays of one year, by date; computed once per year (any year, nothing hard-coded)."""
    table = holidays.country_holidays("ID", years=year, categories=categories, language="id")
    return {day: str(name) for day, name in table.items()}


def _aware(moment: datetime) -> datetime:
    # Naive datetimes in this code base are UTC (SQLite drops the zone on the way back).
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
