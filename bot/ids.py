"""The range of the database's integer ids, for ids that arrive as text or numbers from outside.

A value outside a column's range never matches a row, but PostgreSQL refuses to compare it at all
(`integer out of range`, a DataError): ids from requests are checked against these bounds first.
"""

from __future__ import annotations

# PostgreSQL INTEGER and BIGINT (SQLite stores both as 64-bit integers).
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


def parse_db_id(raw: str, maximum: int = INT32_MAX) -> int | None:
    """An id read as text (a form field, a path segment): ASCII digits within the column's range."""
    if not raw or len(raw) > len(str(maximum)) or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if value <= maximum else None
