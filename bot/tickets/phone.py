"""Indonesian phone numbers: validate and normalise to E.164 (+62...). Masking for logs: bot.privacy."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-().]")
# National significant number: mobile 8xx with 9-12 digits in all, or a fixed line (area code 2x-7x,
# e.g. 21 Jakarta, 274 Yogyakarta) with 8-11 digits in all.
# ASCII digits only: `\d` and str.isdigit() also accept other scripts' digits ("٢٣٤").
_MOBILE = re.compile(r"8[1-9][0-9]{7,10}")
_FIXED = re.compile(r"[2-7][0-9]{7,10}")


class InvalidPhone(ValueError):
    pass


def normalize_phone(raw: str) -> str:
    """'0812-3456-7890', '62812...', '+62 812...' -> '+628123456789'; raise InvalidPhone otherwise."""
    text = _SEPARATORS.sub("", raw.strip())
    if text.startswith("+62"):
        national = text[3:]
    elif text.startswith("62"):
        national = text[2:]
    elif text.startswith("0"):
        national = text[1:]
    else:
        raise InvalidPhone("Nomor telepon harus diawali 0, 62, atau +62.")
    if not (_MOBILE.fullmatch(national) or _FIXED.fullmatch(national)):
        raise InvalidPhone("Nomor telepon tidak dikenali sebagai nomor Indonesia.")
    return "+62" + national
