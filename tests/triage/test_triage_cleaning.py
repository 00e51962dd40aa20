"""Artefact cleaning of pasted and scraped complaints."""

from __future__ import annotations

import pytest

from bot.triage.cleaning import clean_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("jalan rusak https://t.co/AbC123 parah", "jalan rusak parah"),
        ("lihat www.contoh.go.id/berita/1 dan bit.ly/xYz", "lihat dan"),
        ("email saya budi.s@gmail.com ya", "email saya ya"),
        ("@LAPOR1708 tolong dibantu", "tolong dibantu"),
        ("sampah numpuk #lapor", "sampah numpuk lapor"),
        ("#JalanRusak di depan sekolah", "Jalan Rusak di depan sekolah"),
        ("air mati sudah seminggu... Selengkapnya", "air mati sudah seminggu"),
        ("air mati …Baca selengkapnya", "air mati"),
        ("lampu jalan mati ... more", "lampu jalan mati"),
        ("lampu jalan mati…See more", "lampu jalan mati"),
        ("kenapa??!! lama sekali!!!!", "kenapa? lama sekali!"),
        ("banjir lagi 😡😡🙏🏻 tolong", "banjir lagi tolong"),
        ("👨‍👩‍👧 keluarga miskin", "keluarga miskin"),
        ("𝗝𝗮𝗹𝗮𝗻 berlubang", "Jalan berlubang"),
        ("hub 0812-3456-7890 atau +62 812 3456 7890", "hub atau"),
        ("NIK 3201234567890001 belum aktif", "NIK belum aktif"),
    ],
)
def test_removes_artefacts(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_keeps_what_carries_meaning() -> None:
    # Short numbers (RT/RW, house numbers, amounts), street names and negations are content, not noise.
    text = "Jl. A. Yani no. 5 RT 03/RW 05 belum diperbaiki, pungli Rp 50.000"
    assert clean_text(text) == text


def test_collapses_whitespace_and_handles_empty_text() -> None:
    assert clean_text("  jalan \n\n rusak\t ") == "jalan rusak"
    assert clean_text("") == ""
    assert clean_text("https://t.co/x 😡") == ""
