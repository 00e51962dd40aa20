"""Weekly service hours of the catalogue: parsing, open-now and next opening, in the office's time zone.

Hours are written per day or day range in Indonesian (`senin`, `senin-kamis`, `sabtu-minggu`), each with one
window `"08.00-12.00"` or a list of windows (split shifts: `["08.00-11.00", "13.00-14.00"]`). `24.00` ends a
window at midnight. A day not listed is closed. Public holidays come from the same calendar as the SLA
(bot/tickets/sla.py: the `holidays` library), unless the agency is open on holidays.
Time zones: an IANA name (Asia/Jakarta) or WIB / WITA / WIT.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.handoff.office_hours import DAY_NAMES, ZONE_ABBREVIATIONS, Window
from bot.tickets.sla import WorkingCalendar

DAY_KEYS = ("senin", "selasa", "rabu", "kamis", "jumat", "sabtu", "minggu")
_DAY_ALIASES = {"jum'at": "jumat", "ahad": "minggu"}
ZONE_NAMES = {"WIB": "Asia/Jakarta", "WITA": "Asia/Makassar", "WIT": "Asia/Jayapura"}
_WINDOW = re.compile(r"^\s*(\d{1,2})[.:](\d{2})\s*[-–]\s*(\d{1,2})[.:](\d{2})\s*$")
# Far enough to pass the longest run of holidays; beyond it the agency is treated as never opening.
SEARCH_DAYS = 60

Schedule = Mapping[int, tuple[Window, ...]]  # weekday 0 (Monday) .. 6 -> sorted windows


class HoursError(ValueError):
    """An hours value that cannot be read; the message (Indonesian) says which part."""


def resolve_timezone(name: str) -> str:
    """IANA name of `name` (WIB/WITA/WIT or an IANA zone); HoursError if unknown."""
    zone = ZONE_NAMES.get(name.strip().upper(), name.strip())
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise HoursError(
            f"zona waktu tidak dikenal '{name}' (pakai WIB, WITA, WIT atau Asia/Jakarta)"
        ) from error
    return zone


def zone_label(zone: str) -> str:
    return ZONE_ABBREVIATIONS.get(zone, zone)


def _day_index(word: str) -> int:
    key = _DAY_ALIASES.get(word.strip().lower(), word.strip().lower())
    if key not in DAY_KEYS:
        raise HoursError(f"nama hari tidak dikenal '{word.strip()}' (senin sampai minggu)")
    return DAY_KEYS.index(key)


def parse_days(spec: str) -> list[int]:
    """`senin` -> [0]; `senin-kamis` -> [0, 1, 2, 3]; `jumat-senin` wraps over the weekend."""
    first, separator, last = str(spec).partition("-")
    if not separator:
        return [_day_index(first)]
    low, high = _day_index(first), _day_index(last)
    if low == high:
        raise HoursError(f"rentang hari '{spec}' hanya satu hari")
    return [(low + offset) % 7 for offset in range((high - low) % 7 + 1)]


def parse_window(text: str) -> Window:
    match = _WINDOW.match(str(text))
    if match is None:
        raise HoursError(f"jam '{text}' tidak dapat dibaca (contoh: \"08.00-12.00\")")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if start_h > 23 or start_m > 59 or end_m > 59 or end_h > 24 or (end_h == 24 and end_m):
        raise HoursError(f"jam '{text}' tidak valid")
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if end <= start:
        raise HoursError(f"jam selesai harus sesudah jam mulai pada '{text}'")
    return Window(start, end)


def parse_hours(spec: Mapping[str, object]) -> dict[int, tuple[Window, ...]]:
    """`{"senin-kamis": "08.00-14.00", "jumat": ["08.00-11.00", "13.00-14.00"]}` -> weekday -> windows."""
    schedule: dict[int, list[Window]] = {}
    for days, value in spec.items():
        values = value if isinstance(value, list) else [value]
        if not values:
            raise HoursError(f"hari '{days}' tidak berisi jam")
        windows = [parse_window(str(item)) for item in values]
        for day in parse_days(str(days)):
            if day in schedule:
                raise HoursError(f"hari {DAY_NAMES[day]} tercantum lebih dari sekali")
            schedule[day] = windows
    result: dict[int, tuple[Window, ...]] = {}
    for day, windows in schedule.items():
        ordered = sorted(windows)
        for before, after in pairwise(ordered):
            if after.start < before.end:
                raise HoursError(f"jam hari {DAY_NAMES[day]} saling tumpang tindih")
        result[day] = tuple(ordered)
    return result


@dataclass(frozen=True)
class OpenState:
    """What the open/closed-now line says."""

    now: datetime  # local
    is_open: bool
    closes_at: datetime | None  # local end of the current window, while open
    opens_at: datetime | None  # local start of the next window, while closed (None: not within SEARCH_DAYS)
    holiday: str | None  # name of today's holiday when it closes the agency


@dataclass(frozen=True)
class WeeklyHours:
    schedule: Schedule
    zone: str
    open_on_holidays: bool = False
    holiday_categories: tuple[str, ...] = ("public",)

    def holiday_on(self, day: date) -> str | None:
        if self.open_on_holidays:
            return None
        return _calendar(self.zone, self.holiday_categories).holiday_name(day)

    def windows_on(self, day: date) -> tuple[Window, ...]:
        if self.holiday_on(day) is not None:
            return ()
        return tuple(self.schedule.get(day.weekday(), ()))

    def local(self, moment: datetime) -> datetime:
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
        return aware.astimezone(ZoneInfo(self.zone))

    def state(self, moment: datetime) -> OpenState:
        now = self.local(moment)
        minute = now.hour * 60 + now.minute
        today = now.date()
        for window in self.windows_on(today):
            if window.start <= minute < window.end:
                return OpenState(now, True, _at(today, window.end, now.tzinfo), None, None)
        return OpenState(now, False, None, self._next_start(today, minute, now), self.holiday_on(today))

    def _next_start(self, today: date, minute: int, now: datetime) -> datetime | None:
        for offset in range(SEARCH_DAYS):
            day = today + timedelta(days=offset)
            for window in self.windows_on(day):
                if offset > 0 or window.start > minute:
                    return _at(day, window.start, now.tzinfo)
        return None


def _at(day: date, minute: int, tz: object) -> datetime:
    assert tz is None or hasattr(tz, "utcoffset")
    start = datetime.combine(day, time(0, 0), tzinfo=tz)  # type: ignore[arg-type]
    return start + timedelta(minutes=minute)


@lru_cache(maxsize=16)
def _calendar(zone: str, categories: tuple[str, ...]) -> WorkingCalendar:
    return WorkingCalendar(zone, categories)


def clock(minute: int) -> str:
    """540 -> '09.00' (the Indonesian way of writing a time)."""
    return f"{minute // 60:02d}.{minute % 60:02d}"


def window_text(window: Window) -> str:
    return f"{clock(window.start)}–{clock(window.end)}"


def day_groups(schedule: Schedule) -> list[tuple[list[int], tuple[Window, ...]]]:
    """Consecutive days with identical windows, Monday first: [([0,1,2,3], windows), ([4], windows)]."""
    groups: list[tuple[list[int], tuple[Window, ...]]] = []
    for day in range(7):
        windows = tuple(schedule.get(day, ()))
        if not windows:
            continue
        if groups and groups[-1][1] == windows and groups[-1][0][-1] == day - 1:
            groups[-1][0].append(day)
        else:
            groups.append(([day], windows))
    return groups


def days_text(days: list[int]) -> str:
    if len(days) == 1:
        return DAY_NAMES[days[0]]
    if len(days) == 2:
        return f"{DAY_NAMES[days[0]]} dan {DAY_NAMES[days[1]]}"
    return f"{DAY_NAMES[days[0]]}–{DAY_NAMES[days[-1]]}"


def hours_to_spec(schedule: Schedule) -> dict[str, str | list[str]]:
    """The YAML form of a schedule (day ranges grouped): the inverse of parse_hours."""
    spec: dict[str, str | list[str]] = {}
    for days, windows in day_groups(schedule):
        key = DAY_KEYS[days[0]] if len(days) == 1 else f"{DAY_KEYS[days[0]]}-{DAY_KEYS[days[-1]]}"
        values = [f"{clock(w.start)}-{clock(w.end)}" for w in windows]
        spec[key] = values[0] if len(values) == 1 else values
    return spec


def warm_holidays(zone: str, categories: tuple[str, ...] = ("public",)) -> None:
    """Compute this year's and next year's holidays now, so the first answer does not pay for it (~0.1 s)."""
    today = datetime.now(ZoneInfo(zone)).date()
    for year in (today.year, today.year + 1):
        _calendar(zone, categories).holiday_name(date(year, 1, 1))
