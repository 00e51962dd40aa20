"""Regular expressions for the values citizens type that must stay whole: tracking codes, NIKs, phone numbers.

The same pattern strings are the regexes of `nlu_data/nlu/entities.yml` (RegexEntityExtractor and
RegexFeaturizer); a test keeps the two in step. They are written for Python's `re` with IGNORECASE, which is
how Rasa applies them. Pure Python: no Rasa import, usable from both environments.
"""

from __future__ import annotations

import re

# `ADU-` + 8 Crockford base32 characters (bot/tickets/codes.py). Citizens write "adu-7kq2m9xp",
# "ADU 7KQ2-M9XP", "adu 7kq2 m9xp", "ADU7KQ2M9XP". I/L/O are accepted because the ticket lookup reads them
# as 1/0; U never (it is in no code, and excluding it keeps "adu 2019 lalu" out). With "-", "_" or "." after
# ADU any 8 characters match; with a space or nothing the body needs a digit, so that ordinary words
# ("adu kejadian", "aduanwarga") are not taken for codes.
TICKET_CODE = (
    r"\bADU(?:[-_.][0-9A-TV-Z]{4}[- ]?[0-9A-TV-Z]{4}"
    r"|\s?(?=[0-9A-TV-Z -]{0,9}[0-9])[0-9A-TV-Z]{4}[- ]?[0-9A-TV-Z]{4})\b"
)

# Nomor Induk Kependudukan: 16 digits, plain or in four groups of four ("3201 0101 0101 0001"). It starts
# with a province code (11-94), never with 0, which keeps it apart from phone numbers. No capturing groups:
# the tokenizer joins these patterns into one alternation.
NIK = r"(?<![\d+])[1-9]\d{3}(?:\d{12}|(?:[ .-]\d{4}){3})(?!\d)"

# Indonesian mobile numbers: 08…, 62 8…, +62 8… Either compact ("081234567890", "+6281234567890") or in
# groups with a separator between every group ("0812-3456-7890", "+62 812 3456 7890"); requiring the
# separator keeps a following count ("08123456789 100 kali") out of the number.
PHONE_NUMBER = r"(?<![\w+])(?:\+62|62|0)(?:8\d{7,11}|[ .-]?8\d{1,3}(?:[ .-]\d{3,4}){2,3})(?!\d)"

URL = r"(?:https?://|www\.)[^\s<>\"']+"
# Bounded repetitions: an unbounded local part would make a long run of "a.a.a.a…" quadratic to scan.
EMAIL = r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}"

ENTITY_PATTERNS: dict[str, str] = {
    "ticket_code": TICKET_CODE,
    "nik": NIK,
    "phone_number": PHONE_NUMBER,
}

_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")
_NON_DIGIT = re.compile(r"\D")


def canonical_ticket_code(raw: str) -> str:
    """ "adu 7kq2-m9xp" -> "ADU-7KQ2M9XP" (confusable letters are left to the ticket lookup)."""
    body = _NON_ALNUM.sub("", raw).upper()
    return "ADU-" + body[3:]


def canonical_nik(raw: str) -> str:
    return _NON_DIGIT.sub("", raw)


def canonical_phone(raw: str) -> str:
    """Any accepted spelling -> "+62" and the national number without its trunk 0 ("+6281234567890")."""
    digits = _NON_DIGIT.sub("", raw)
    if digits.startswith("62"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = digits[1:]
    return "+62" + digits
