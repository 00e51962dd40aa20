"""Indonesian incident dates: "kemarin", "2 hari lalu", "Senin lalu", "5 Maret" -> a date, never in the future.

Relative expressions are read with a few explicit rules (dateparser does not know "Senin lalu" or
"minggu lalu" in Indonesian); absolute dates go to dateparser, which knows Indonesian month names.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from enum import Enum
from typing import Optional

import dateparser

WEEKDAYS = {
    "senin": 0,
    "selasa": 1,
    "rabu": 2,
    "kamis": 3,
    "jumat": 4,
    "jum'at": 4,
    "sabtu": 5,
    "minggu": 6,
    "ahad": 6,
}
UNIT_DAYS = {"hari": 1, "minggu": 7, "pekan": 7, "bulan": 30, "tahun": 365}
NUMBER_WORDS = {
    "se": 1,
    "satu": 1,
    "dua": 2,
    "tiga": 3,
    "empat": 4,
    "lima": 5,
    "enam": 6,
    "tujuh": 7,
    "delapan": 8,
    "sembilan": 9,
    "sepuluh": 10,
    "beberapa": 3,
}
UNKNOWN_ANSWERS = {
    "tidak tahu",
    "gak tahu",
    "ga tau",
    "gak tau",
    "nggak tahu",
    "tidak ingat",
    "lupa",
    "gak ingat",
    "ga ingat",
    "tidak tau",
    "entah",
}

_AGO = re.compile(
    r"\b(?P<n>\d{1,3}|se|satu|dua|tiga|empat|lima|enam|tujuh|delapan|sembilan|sepuluh|beberapa)\s*"
    r"(?P<unit>hari|minggu|pekan|bulan|tahun)\s*(?:yang\s+|yg\s+)?(?:lalu|kemarin|yang lalu|lewat|silam)\b"
)
_SEUNIT_AGO = re.compile(r"\bse(?P<unit>hari|minggu|pekan|bulan|tahun)\s*(?:yang\s+|yg\s+)?(?:lalu|lewat)\b")
_LAST_UNIT = re.compile(r"\b(?P<unit>minggu|pekan|bulan|tahun)\s+(?:lalu|kemarin|kemaren|lewat)\b")
_LAST_WEEKDAY = re.compile(
    r"\b(?:hari\s+)?(?P<day>senin|selasa|rabu|kamis|jum'?at|sabtu|minggu|ahad)\s*(?:lalu|kemarin|kemaren)?\b"
)
# A day/month pair must stand alone: "11-30" inside "2026-11-30" is not a date of its own.
_EXPLICIT = re.compile(
    r"(?<![\d/-])\d{1,2}\s*[/-]\s*\d{1,2}(?:\s*[/-]\s*\d{2,4})?(?![\d/-])|"
    r"\b\d{1,2}\s+(?:jan|feb|mar|apr|mei|jun|jul|agu|agt|ags|sep|okt|nov|des)[a-z]*(?:\s+\d{4})?\b"
)


_ISO_DATE = re.compile(r"(?<![\d/-])(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})(?![\d/-])")
EARLIEST_PLAUSIBLE = date(1945, 8, 17)
YEARS_BEFORE_CONFIRMATION = 5


class Plausibility(Enum):
    """How believable an incident date is for a complaint filed today."""

    PLAUSIBLE = "plausible"
    FUTURE = "future"  # refused: it has not happened yet
    TOO_OLD = "too_old"  # refused: before the Republic, a misreading rather than a memory
    LONG_AGO = "long_ago"  # possible, but asked back before it is stored


def plausibility(incident: date, today: date) -> Plausibility:
    if incident > today:
        return Plausibility.FUTURE
    if incident < EARLIEST_PLAUSIBLE:
        return Plausibility.TOO_OLD
    if incident < _years_before(today, YEARS_BEFORE_CONFIRMATION):
        return Plausibility.LONG_AGO
    return Plausibility.PLAUSIBLE


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def stored_incident_date(value: object) -> Optional[date]:
    """The date a complaint slot holds (ISO `YYYY-MM-DD`, as the form stores it), or None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _number(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS[word]


def is_unknown_answer(text: str) -> bool:
    return text.strip().lower().rstrip(".!") in UNKNOWN_ANSWERS


def parse_incident_date(text: str, today: date) -> Optional[date]:
    """The date the citizen means, or None when the text holds no date we can read.

    Only an explicit future date ("1 Januari 2027") comes back later than `today`; callers refuse it.
    """
    lowered = " ".join(text.lower().split())
    if re.search(r"\b(hari ini|tadi|barusan|sekarang|td pagi|tadi pagi|tadi malam)\b", lowered):
        return today
    if re.search(r"\bkemarin lusa\b", lowered):
        return today - timedelta(days=2)
    if re.search(r"\b(kemarin|kemaren|kmrn|kmarin|semalam|tadi malam)\b", lowered) and not _AGO.search(
        lowered
    ):
        return today - timedelta(days=1)
    if match := _AGO.search(lowered):
        return today - timedelta(days=_number(match["n"]) * UNIT_DAYS[match["unit"]])
    if match := _SEUNIT_AGO.search(lowered):
        return today - timedelta(days=UNIT_DAYS[match["unit"]])
    if match := _LAST_UNIT.search(lowered):
        return today - timedelta(days=UNIT_DAYS[match["unit"]])
    if match := _ISO_DATE.search(lowered):
        return _iso(match)
    if match := _EXPLICIT.search(lowered):
        return _absolute(match.group(0), today)
    if match := _LAST_WEEKDAY.search(lowered):
        days_back = (today.weekday() - WEEKDAYS[match["day"].replace("'", "")]) % 7 or 7
        return today - timedelta(days=days_back)
    return None


def _iso(match: re.Match[str]) -> Optional[date]:
    try:
        return date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError:
        return None


def _absolute(text: str, today: date) -> Optional[date]:
    parsed = dateparser.parse(
        text,
        languages=["id"],
        settings={"PREFER_DATES_FROM": "past", "DATE_ORDER": "DMY", "RELATIVE_BASE": _midday(today)},
    )
    if parsed is None:
        return None
    found = parsed.date()
    has_year = re.search(r"\d{4}|[/-]\s*\d{2,4}\s*$", text) is not None
    if found > today and not has_year:  # "30 Desember" said in November means last December
        try:
            found = found.replace(year=found.year - 1)
        except ValueError:
            return None
    return found  # a future date with an explicit year is returned so the form can explain the refusal


def _midday(day: date):  # type: ignore[no-untyped-def]
    from datetime import datetime

    return datetime(day.year, day.month, day.day, 12, 0)
