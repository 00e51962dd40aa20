"""`mask_personal_data`: NIK, phone numbers and e-mail addresses never reach a log line in clear."""

from __future__ import annotations

import pytest

from bot.privacy import mask_personal_data


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("NIK saya 3201010101900001 ya", "NIK saya 3201********0001 ya"),
        ("nik: 3201 0101 0190 0001.", "nik: 3201********0001."),
        ("KK 3201-0101-0190-0002", "KK 3201********0002"),
        ("hp 081234567890", "hp 0812*****890"),
        ("wa +62 812-3456-7890 ya", "wa +6281******890 ya"),
        ("6281234567890", "6281******890"),
        ("telp (021) 555-1234", "telp 0215***234"),
        ("email budi.santoso@gmail.com", "email b***@gmail.com"),
    ],
)
def test_personal_data_is_masked(text: str, masked: str) -> None:
    assert mask_personal_data(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "jalan rusak di RT 05 RW 03 sejak 12-03-2024",
        "biaya Rp 1.500.000",
        "kode ADU-7K3M9PQX",
        "nomor seri 12345678901234567",  # 17 digits: not a NIK
        "halo 😀 <b>tebal</b>",
    ],
)
def test_other_text_is_left_alone(text: str) -> None:
    assert mask_personal_data(text) == text
