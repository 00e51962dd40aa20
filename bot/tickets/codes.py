"""Public tracking codes: `ADU-` + 8 Crockford base32 characters, cryptographically random.

32**8 ≈ 1.1e12 codes, so guessing a valid code is hopeless at the rate the lookup limiter allows,
and codes reveal nothing about volume or order (unlike a sequence).
"""

from __future__ import annotations

import re
import secrets

PREFIX = "ADU-"
BODY_LENGTH = 8
# Crockford base32: digits and letters without I, L, O, U (no 1/I/L or 0/O confusion on a phone screen).
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_PATTERN = re.compile(rf"^{PREFIX}[{ALPHABET}]{{{BODY_LENGTH}}}$")

# Crockford decoding rules for what citizens type: case-insensitive, I/L read as 1, O read as 0.
_CONFUSABLES = str.maketrans({"I": "1", "L": "1", "O": "0"})
_SEPARATORS = re.compile(r"[\s\-_.]")


def generate_code() -> str:
    return PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))


def is_valid_code(code: str) -> bool:
    # fullmatch: `$` alone also matches before a final line break ("ADU-7K3M9PQX\n").
    return CODE_PATTERN.fullmatch(code) is not None


def normalize_code(raw: str) -> str | None:
    """Canonical code for what a citizen typed ("adu 7k3m-9pqx", "ADU-7K3M9PQX"), or None."""
    text = raw.strip().upper()
    if len(text) > 40:
        return None
    body = _SEPARATORS.sub("", text)
    if body.startswith("ADU"):
        body = body[3:]
    body = body.translate(_CONFUSABLES)
    code = PREFIX + body
    return code if is_valid_code(code) else None
