"""The range of the database's integer ids, for ids that arrive from outside (paths, queries, bodies,
form fields).

A value outside a column's range never matches a row, but PostgreSQL refuses to compare it at all
(`integer out of range`, a DataError; SQLite raises OverflowError past 64 bits): without a bound,
`?after=99999999999999999999999` or a huge id in a path was a 500. Every integer parameter or field
compared with an id column uses `DbId` / `DbBigId` (a 422 with the usual Indonesian error before any
query); ids read as text go through `parse_db_id`.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le

# PostgreSQL INTEGER and BIGINT (SQLite stores both as 64-bit integers).
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

# An id of an INTEGER primary key (tickets, staff users, models, handoffs, training runs, ...).
DbId = Annotated[int, Ge(0), Le(INT32_MAX)]
# An id of a BIGINT primary key (conversations, messages, media).
DbBigId = Annotated[int, Ge(0), Le(INT64_MAX)]


def parse_db_id(raw: str, maximum: int = INT32_MAX) -> int | None:
    """An id read as text (a form field, a path segment): ASCII digits within the column's range."""
    if not raw or len(raw) > len(str(maximum)) or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if value <= maximum else None
