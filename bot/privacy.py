"""Masking of personal data before it reaches a log line (UU 27/2022 on personal data protection).

Citizens type their NIK, phone number or e-mail into complaints. The database keeps what they wrote (it is
the record of the complaint and access to it is controlled), except NIKs, which it keeps masked and, on a
ticket, encrypted (bot/nik.py, bot/nik_vault.py); logs are copied, shipped and read far more
widely, so anything written to a log that may contain citizen text goes through `mask_personal_data`.
"""

from __future__ import annotations

import re

from bot import nik

# Indonesian phone numbers: +62 / 62 / 0, then 8-12 more digits with optional separators
# ("0812-3456-7890", "+62 812 3456 7890", "(021) 555-1234"). Applied after the NIK rule. It also catches
# some dates written with a time ("02.03.2024 10"): over-masking a log line is the safe side.
_PHONE = re.compile(r"(?<![\d\w+(])\(?(?:\+62|62|0)(?:[ .\-)]{0,2}\d){8,12}(?!\d)")
_EMAIL = re.compile(r"\b([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9.\-]+\.[A-Za-z]{2,})\b")


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _mask_phone(match: re.Match[str]) -> str:
    raw = match.group(0)
    digits = _digits(raw)
    prefix = "+" if raw.startswith("+") else ""
    # Keep the operator prefix and the last three digits: enough to tell two numbers apart in a log.
    return prefix + digits[:4] + "*" * (len(digits) - 7) + digits[-3:]


def _mask_email(match: re.Match[str]) -> str:
    return f"{match.group(1)}***@{match.group(2)}"


def mask_personal_data(text: str) -> str:
    """`text` with NIK/KK numbers, phone numbers and e-mail addresses masked, for logging only."""
    # A NIK (or Kartu Keluarga number) in a log line: any 16 digits, plausible or not (bot/nik.py).
    text = nik.mask_sixteen_digit_runs(text)
    text = _PHONE.sub(_mask_phone, text)
    return _EMAIL.sub(_mask_email, text)


# Names a citizen gives in free text ("nama saya Budi Santoso", "atas nama siti aminah"): the words after
# the phrase, up to three, stopping at a word that is clearly not part of a name.
_NAME_INTRO = re.compile(
    r"\b(nama\s+(?:saya|sy|aku|ku|lengkap(?:\s+saya)?)|namaku|atas\s+nama|saya\s+bernama|panggil\s+saya|nama(?=\s*:))"
    r"(\s*(?:adalah|ialah)?\s*[:\-]?\s*)((?:[A-Za-z][A-Za-z'.]*)(?:\s+[A-Za-z][A-Za-z'.]*){0,2})",
    re.IGNORECASE,
)
_NOT_A_NAME = frozenset(
    "dan mau ingin dari di ke yang tinggal warga mohon tolong minta sudah belum bisa pak bu ibu bapak "
    "kak untuk dengan karena tapi tetapi nik no nomor alamat rt rw umur usia".split()
)


def _mask_name(match: re.Match[str]) -> str:
    kept: list[str] = []
    words = match.group(3).split()
    for index, word in enumerate(words):
        if word.lower() in _NOT_A_NAME:
            kept.extend(words[index:])
            break
        kept.append(word[0] + "***")
    return match.group(1) + match.group(2) + " ".join(kept)


def mask_for_review(text: str) -> str:
    """`mask_personal_data` plus names introduced in the text: what staff see of citizen text in the NLU
    inbox and what a training example keeps (an example needs the wording, never the person)."""
    return _NAME_INTRO.sub(_mask_name, mask_personal_data(text))
