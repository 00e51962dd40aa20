"""CSV for spreadsheets, with the one guard against formula injection every CSV export goes through.

A cell starting with = + - @, a tab or a carriage return is read as a formula by Excel, LibreOffice and
Google Sheets ("=HYPERLINK(...)" in a citizen's message would become a link when an admin opens the export),
so it is prefixed with a single quote, which makes the spreadsheet show it as text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def to_csv(rows: Iterable[Sequence[object]], *, delimiter: str = ",", bom: str = "") -> str:
    """Rows as CSV text (CRLF line ends), every cell through `safe_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return bom + buffer.getvalue()
