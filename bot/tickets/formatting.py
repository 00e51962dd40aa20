"""Indonesian date and time wording for citizens ("Rabu, 25 Maret 2026", "pukul 14.30 WIB")."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
MONTHS = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)  # fmt: skip
# Indonesia's three zones; anything else is shown with its UTC offset.
ZONE_NAMES = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


def format_date_id(day: date) -> str:
    return f"{DAYS[day.weekday()]}, {day.day} {MONTHS[day.month - 1]} {day.year}"


def format_datetime_id(moment: datetime, tz: str = "Asia/Jakarta") -> str:
    local = moment.astimezone(ZoneInfo(tz))
    zone = ZONE_NAMES.get(tz) or local.strftime("UTC%z")
    return f"{format_date_id(local.date())} pukul {local:%H.%M} {zone}"
