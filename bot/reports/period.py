"""The reporting period: whole local days (Asia/Jakarta by default), default the current month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

MAX_DAYS = 366 * 5


class InvalidPeriod(ValueError):
    """`str(error)` is Indonesian and safe to show."""


@dataclass(frozen=True)
class Period:
    start: date  # first local day, inclusive
    end: date  # last local day, inclusive
    tz: str = "Asia/Jakarta"

    @property
    def start_utc(self) -> datetime:
        return datetime.combine(self.start, time(0, 0), tzinfo=ZoneInfo(self.tz)).astimezone(timezone.utc)

    @property
    def end_utc(self) -> datetime:
        """Exclusive: midnight after the last day."""
        after = self.end + timedelta(days=1)
        return datetime.combine(after, time(0, 0), tzinfo=ZoneInfo(self.tz)).astimezone(timezone.utc)


def current_month(now: datetime, tz: str = "Asia/Jakarta") -> Period:
    today = now.astimezone(ZoneInfo(tz)).date()
    first = today.replace(day=1)
    next_first = (first + timedelta(days=32)).replace(day=1)
    return Period(first, next_first - timedelta(days=1), tz)


def _parse(raw: str | None, name: str) -> date | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise InvalidPeriod(f"Tanggal {name} tidak valid (format TTTT-BB-HH).") from error


def parse_period(raw_from: str | None, raw_to: str | None, now: datetime, tz: str = "Asia/Jakarta") -> Period:
    """The period of the `dari`/`sampai` query values; a missing bound falls back to the current month's."""
    default = current_month(now, tz)
    start = _parse(raw_from, "awal") or default.start
    end = _parse(raw_to, "akhir") or default.end
    if end < start:
        raise InvalidPeriod("Tanggal akhir tidak boleh sebelum tanggal awal.")
    if (end - start).days > MAX_DAYS:
        raise InvalidPeriod("Periode laporan paling panjang 5 tahun.")
    return Period(start, end, tz)
