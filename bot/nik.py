"""NIKs (Nomor Induk Kependudukan) in citizen text: what counts as one, and how it is masked.

The one place that decides what a NIK-shaped number is. Stored chat text, the text Rasa gets, ticket
descriptions and log lines all go through this module. Pure Python (no service imports).

A NIK is 16 digits: PP KK CC DDMMYY SSSS, i.e. province, regency/city and district codes, the birth date
(day + 40 for women) and a serial number. A number is taken for a NIK when

- it is exactly 16 digits, written plain ("3201010101900001"), in four groups of four ("3201 0101 0190
  0001"), as 6-6-4 ("320101 010190 0001") or along its parts ("32.01.01.010190.0001"), one kind of
  separator (space, dot or dash) throughout, and not part of a longer number;
- its first two digits are a province code, the regency and district codes are not 00, the day is 01-31 or
  41-71, the month 01-12 and the serial not 0000.

That keeps tracking codes (ADU-XXXXXXXX), phone numbers (10-14 digits, starting 0 or +62), amounts
("Rp 1.500.000", groups of three) and most other long numbers as they are. A Kartu Keluarga number has the
same shape and is masked too, which is what its holder would want.

Masked form: the first four digits (province and regency), eight `*` and the last four
("3201********0001"): enough for an officer or the citizen to recognise which number it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Kemendagri province codes, including the Papua provinces created in 2022 (93-96) and 97 kept free.
PROVINCE_CODES = frozenset(
    [11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53]
    + [61, 62, 63, 64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96, 97]
)
MASK_FILL = "*" * 8

# Not inside a longer number ("12.3201..." or "...0001,5" are not NIKs); letters may touch it ("nik3201...").
_BEFORE = r"(?<![\d+])(?<!\d[.,])"
_AFTER = r"(?![.,]?\d)"
_SHAPES = (
    r"\d{16}",
    r"\d{4}(?P<s4>[ .\-])\d{4}(?P=s4)\d{4}(?P=s4)\d{4}",
    r"\d{6}(?P<s6>[ .\-])\d{6}(?P=s6)\d{4}",
    r"\d{2}(?P<sp>[ .\-])\d{2}(?P=sp)\d{2}(?P=sp)\d{6}(?P=sp)\d{4}",
)
_CANDIDATE = re.compile(_BEFORE + "(?:" + "|".join(_SHAPES) + ")" + _AFTER)
# Any 16 digits with optional single separators: what log lines mask (over-masking a log is the safe side).
_LOOSE = re.compile(r"(?<![\d+])\d(?:[ .\-]?\d){15}(?!\d)")
# A NIK as `mask` writes it.
MASKED = re.compile(r"(?<!\d)\d{4}\*{8}\d{4}(?!\d)")


@dataclass(frozen=True)
class Redacted:
    """Text with its NIKs masked, and the NIKs (digits only, in order of appearance, no repeats)."""

    text: str
    niks: tuple[str, ...]


def digits_of(raw: str) -> str:
    return "".join(ch for ch in raw if ch.isdigit())


def is_plausible(digits: str) -> bool:
    """True for 16 digits that read as a NIK: province code, non-zero regency and district, a birth date."""
    if len(digits) != 16 or not digits.isdigit():
        return False
    day, month = int(digits[6:8]), int(digits[8:10])
    return (
        int(digits[:2]) in PROVINCE_CODES
        and digits[2:4] != "00"
        and digits[4:6] != "00"
        and (1 <= day <= 31 or 41 <= day <= 71)
        and 1 <= month <= 12
        and digits[12:] != "0000"
    )


def mask(digits: str) -> str:
    """'3201010101900001' -> '3201********0001'."""
    return digits[:4] + MASK_FILL + digits[-4:]


def find(text: str) -> list[str]:
    """The NIKs in `text`, digits only, in order of appearance (repeats kept)."""
    found = []
    for match in _CANDIDATE.finditer(text):
        digits = digits_of(match.group(0))
        if is_plausible(digits):
            found.append(digits)
    return found


def redact(text: str) -> Redacted:
    """`text` with every NIK masked, and the NIKs that were in it."""
    niks: list[str] = []

    def replace(match: re.Match[str]) -> str:
        digits = digits_of(match.group(0))
        if not is_plausible(digits):
            return match.group(0)
        if digits not in niks:
            niks.append(digits)
        return mask(digits)

    return Redacted(_CANDIDATE.sub(replace, text), tuple(niks))


def mask_niks(text: str) -> str:
    """`text` with every NIK masked (see the module docstring for what counts as one)."""
    return redact(text).text


def mask_sixteen_digit_runs(text: str) -> str:
    """Every run of 16 digits masked like a NIK, plausible or not: for log lines, where a mistyped NIK must
    not leak either."""
    return _LOOSE.sub(lambda match: mask(digits_of(match.group(0))), text)


def masked_forms(text: str) -> list[str]:
    """The masked NIKs ('3201********0001') that `text` holds."""
    return MASKED.findall(text)
