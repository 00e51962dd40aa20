"""Small pure helpers: Indonesian phone numbers, Indonesian dates, attachment names, the lookup limiter."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from bot.tickets.attachments import safe_filename, sniff_content_type
from bot.tickets.formatting import format_date_id, format_datetime_id
from bot.tickets.phone import InvalidPhone, normalize_phone
from bot.tickets.ratelimit import MissLimiter


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("081234567890", "+6281234567890"),
        ("0812-3456-7890", "+6281234567890"),
        ("+62 812 3456 7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("(021) 555-1234", "+62215551234"),
        ("0274 512345", "+62274512345"),
    ],
)
def test_indonesian_numbers_are_normalised(raw: str, normalised: str) -> None:
    assert normalize_phone(raw) == normalised


@pytest.mark.parametrize(
    "raw", ["12345", "+1 202 555 0100", "0812", "08123456789012345", "0812-abc-7890", "0012345678"]
)
def test_other_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(raw)


def test_indonesian_dates() -> None:
    assert format_date_id(date(2026, 8, 17)) == "Senin, 17 Agustus 2026"
    # 16:30 UTC is 23:30 WIB the same day; 17:30 UTC is already the next day in Jakarta.
    assert (
        format_datetime_id(datetime(2026, 3, 6, 16, 30, tzinfo=timezone.utc))
        == "Jumat, 6 Maret 2026 pukul 23.30 WIB"
    )
    assert (
        format_datetime_id(datetime(2026, 3, 5, 17, 30, tzinfo=timezone.utc))
        == "Jumat, 6 Maret 2026 pukul 00.30 WIB"
    )
    assert format_datetime_id(datetime(2026, 3, 6, 1, 0, tzinfo=timezone.utc), "Asia/Makassar").endswith(
        "09.00 WITA"
    )


def test_sniffing_and_names() -> None:
    assert sniff_content_type(b"\x89PNG\r\n\x1a\n....") == ("image/png", "png")
    assert sniff_content_type(b"<svg xmlns='http://www.w3.org/2000/svg'>") is None
    assert safe_filename("C:\\Users\\budi\\foto<script>.php", "jpg") == "foto_script.jpg"
    assert safe_filename(None, "pdf") == "lampiran.pdf"
    assert safe_filename("../../.htaccess", "png") == "lampiran.png"


def test_limiter_counts_per_key_and_bounds_memory() -> None:
    now = [0.0]
    limiter = MissLimiter(2, 100, clock=lambda: now[0], max_keys=3)
    limiter.record_miss("a")
    assert limiter.blocked_for("a") == 0
    limiter.record_miss("a")
    assert limiter.blocked_for("a") == 100 and limiter.blocked_for("b") == 0
    for key in ("b", "c", "d"):
        limiter.record_miss(key)
    assert limiter.blocked_for("a") == 0  # least recently missing key forgotten once over max_keys
