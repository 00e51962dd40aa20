"""What counts as a NIK (bot/nik.py): masked where it is one, left alone where it is a tracking code, a
phone number, an amount or another long number; log lines mask every 16-digit run."""

from __future__ import annotations

import pytest

from bot import nik
from bot.privacy import mask_personal_data

NIK = "3201010101900001"  # Jawa Barat, Kab. Bogor, born 01-01-1990, serial 0001
MASKED = "3201********0001"


@pytest.mark.parametrize(
    "written",
    [
        "3201010101900001",
        "3201 0101 0190 0001",
        "3201.0101.0190.0001",
        "3201-0101-0190-0001",
        "320101 010190 0001",
        "32.01.01.010190.0001",
    ],
)
def test_a_nik_in_any_usual_spelling_is_masked_to_its_first_and_last_four_digits(written: str) -> None:
    redacted = nik.redact(f"NIK saya {written}, tolong dicek.")
    assert redacted.text == f"NIK saya {MASKED}, tolong dicek."
    assert redacted.niks == (NIK,)


def test_a_woman_s_nik_day_plus_40_and_a_kk_number_are_masked() -> None:
    assert nik.mask_niks("nik istri 3174055108850002") == "nik istri 3174********0002"
    assert nik.mask_niks("no KK 3578021503120004 ya") == "no KK 3578********0004 ya"
    assert nik.mask_niks("nik3201010101900001") == "nik" + MASKED  # typed without a space


@pytest.mark.parametrize(
    "text",
    [
        "cek status ADU-7KQ2M9XP",
        "hubungi saya di 081234567890 atau +62 812 3456 7890",
        "pungli Rp 1.500.000 dan Rp1.000.000.000.000",
        "nomor rekening 1234567890123456",  # province 12 exists, but day 78 is no date
        "kode 0001010101900001",  # no province 00
        "3201000101900001",  # district 00
        "3201010113900001",  # month 13
        "3201010101900000",  # serial 0000
        "32010101019000011",  # 17 digits: not a NIK
        "angka 3201 0101.0190-0001",  # mixed separators
        "1.3201010101900001",  # part of a longer number
    ],
)
def test_tracking_codes_phone_numbers_amounts_and_other_numbers_stay_as_written(text: str) -> None:
    assert nik.mask_niks(text) == text
    assert nik.find(text) == []


def test_every_nik_of_a_text_is_found_once_and_masks_are_recognised() -> None:
    other = "3273014506950003"
    redacted = nik.redact(f"saya {NIK}, istri {other}, saya lagi {NIK}")
    assert redacted.niks == (NIK, other)
    assert redacted.text == f"saya {MASKED}, istri 3273********0003, saya lagi {MASKED}"
    assert nik.masked_forms(redacted.text) == [MASKED, "3273********0003", MASKED]
    assert nik.mask_niks(redacted.text) == redacted.text  # masking twice changes nothing


def test_log_lines_mask_any_sixteen_digits_even_an_implausible_one() -> None:
    assert mask_personal_data("nik 1234567890123456") == "nik 1234********3456"
    assert mask_personal_data(f"nik {NIK}") == f"nik {MASKED}"
