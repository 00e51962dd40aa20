"""When officers answer chats: weekly windows in local time, closed on public holidays.

The setting reads `<ISO weekdays> <HH:MM>-<HH:MM>` entries separated by `;`, e.g.
`1-4 08:00-16:00; 5 08:00-16:30` (1 = Monday). Weekdays may be a range (`1-5`), a list (`1,3,5`) or both;
one day may have several windows (`1 08:00-12:00; 1 13:00-16:00`); `24:00` ends a window at midnight.
Holidays come from the SLA's working calendar (bot/tickets/sla.py), so chats and deadlines agree on
which days are closed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from itertools import pairwise

from bot.knowledge.faq import MONTHS_ID
from bot.tickets.sla import WorkingCalendar

MINUTES_PER_DAY = 24 * 60
# Far enough to pass the longest run of holidays and closed weekdays; beyond it the office never opens.
SEARCH_DAYS = 400
_ENTRY = re.compile(
    r"^(?P<days>[1-7](?:\s*[-,]\s*[1-7])*)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$"
)
DAY_NAMES = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]
ZONE_ABBREVIATIONS = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}


class OfficeHoursError(ValueError):
    """The OFFICE_HOURS setting cannot be read; the message says which part and why."""


@dataclass(frozen=True, order=True)
class Window:
    """Minutes after local midnight: [start, end)."""

    start: int
    end: int


def _minutes(value: str, entry: str, *, allow_midnight_end: bool) -> int:
    hours, minutes = (int(part) for part in value.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not allow_midnight_end)):
        raise OfficeHoursError(f"jam tidak valid '{value}' pada '{entry}'")
    return hours * 60 + minutes


def _weekdays(spec: str, entry: str) -> set[int]:
    days: set[int] = set()
    for part in spec.replace(" ", "").split(","):
        first, _, last = part.partition("-")
        low, high = int(first), int(last or first)
        if low > high:
            raise OfficeHoursError(f"rentang hari terbalik '{part}' pada '{entry}'")
        days.update(range(low, high + 1))
    return days


def parse_office_hours(text: str) -> dict[int, tuple[Window, ...]]:
    """ISO weekday (1-7) -> its sorted windows; OfficeHoursError on anything it cannot read."""
    schedule: dict[int, list[Window]] = {}
    entries = [entry.strip() for entry in (text or "").split(";") if entry.strip()]
    if not entries:
        raise OfficeHoursError("jam layanan kosong")
    for entry in entries:
        match = _ENTRY.match(entry)
        if match is None:
            raise OfficeHoursError(f"format tidak dikenal '{entry}' (contoh: '1-4 08:00-16:00')")
        start = _minutes(match["start"], entry, allow_midnight_end=False)
        end = _minutes(match["end"], entry, allow_midnight_end=True)
        if end <= start:
            raise OfficeHoursError(f"jam selesai harus sesudah jam mulai pada '{entry}'")
        for day in _weekdays(match["days"], entry):
            schedule.setdefault(day, []).append(Window(start, end))
    for day, windows in schedule.items():
        windows.sort()
        for before, after in pairwise(windows):
            if after.start < before.end:
                raise OfficeHoursError(f"jam layanan hari ke-{day} saling tumpang tindih")
    return {day: tuple(windows) for day, windows in schedule.items()}


class OfficeHours:
    def __init__(self, schedule: Mapping[int, Iterable[Window]], calendar: WorkingCalendar) -> None:
        self.schedule = {day: tuple(windows) for day, windows in schedule.items()}
        self.calendar = calendar

    @classmethod
    def parse(cls, text: str, calendar: WorkingCalendar) -> OfficeHours:
        return cls(parse_office_hours(text), calendar)

    def windows_on(self, day: date) -> tuple[Window, ...]:
        """The day's windows; none on a public holiday (extra working days of the calendar stay open)."""
        if day not in self.calendar.extra_working_days and self.calendar.holiday_name(day) is not None:
            return ()
        return self.schedule.get(day.isoweekday(), ())

    def is_open(self, now: datetime) -> bool:
        local = _aware(now).astimezone(self.calendar.tz)
        minute = local.hour * 60 + local.minute
        return any(w.start <= minute < w.end for w in self.windows_on(local.date()))

    def next_opening(self, now: datetime) -> datetime | None:
        """When an officer is next available (local time): `now` itself while open, else the start of the
        next window; None when the schedule never opens within SEARCH_DAYS."""
        local = _aware(now).astimezone(self.calendar.tz)
        if self.is_open(local):
            return local
        minute = local.hour * 60 + local.minute
        for offset in range(SEARCH_DAYS):
            day = local.date() + timedelta(days=offset)
            for window in self.windows_on(day):
                if offset > 0 or window.start > minute:
                    start = datetime.combine(day, time(0, 0), tzinfo=self.calendar.tz)
                    return start + timedelta(minutes=window.start)
        return None


def opening_label(moment: datetime, tz_name: str = "Asia/Jakarta") -> str:
    """`Senin, 30 November 2026 pukul 08.00 WIB` (the Indonesian way of writing a time)."""
    zone = ZONE_ABBREVIATIONS.get(tz_name, "")
    day = DAY_NAMES[moment.weekday()]
    text = f"{day}, {moment.day} {MONTHS_ID[moment.month - 1]} {moment.year} pukul {moment:%H.%M}"
    return f"{text} {zone}" if zone else text


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
