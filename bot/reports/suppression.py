"""Small-count suppression of a published unit × category table, so no individual can be singled out.

Primary: a cell counting 1 or 2 tickets is shown as "< 3" (0 reveals nobody and stays visible).
Secondary: a row or column total is published, so a line with exactly one hidden cell would give it away
by subtraction; another non-zero cell of that line is hidden too (the smallest), repeated until stable.
A total below 3 is itself hidden, which also makes its line safe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

THRESHOLD = 3
SUPPRESSED = "< 3"


@dataclass(frozen=True)
class PublicTable:
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: dict[tuple[str, str], str]  # shown text: a number or "< 3"
    row_totals: dict[str, str]
    column_totals: dict[str, str]
    total: str


def _shown(count: int) -> str:
    return SUPPRESSED if 0 < count < THRESHOLD else str(count)


def _lines(rows: Sequence[str], columns: Sequence[str]) -> list[list[tuple[str, str]]]:
    return [[(r, c) for c in columns] for r in rows] + [[(r, c) for r in rows] for c in columns]


def suppress(
    counts: Mapping[str, Mapping[str, int]], rows: Sequence[str], columns: Sequence[str]
) -> PublicTable:
    value = {(r, c): counts.get(r, {}).get(c, 0) for r in rows for c in columns}
    hidden = {key for key, n in value.items() if 0 < n < THRESHOLD}
    changed = True
    while changed:
        changed = False
        for line in _lines(rows, columns):
            if sum(value[key] for key in line) < THRESHOLD:
                continue  # the total is hidden: nothing to subtract from
            if sum(key in hidden for key in line) == 1:
                candidates = [key for key in line if key not in hidden and value[key] > 0]
                if candidates:
                    hidden.add(min(candidates, key=lambda key: value[key]))
                    changed = True
    cells = {key: SUPPRESSED if key in hidden else str(n) for key, n in value.items()}
    return PublicTable(
        rows=tuple(rows),
        columns=tuple(columns),
        cells=cells,
        row_totals={r: _shown(sum(value[(r, c)] for c in columns)) for r in rows},
        column_totals={c: _shown(sum(value[(r, c)] for r in rows)) for c in columns},
        total=_shown(sum(value.values())),
    )


def shown(count: int) -> str:
    """A single published count: "< 3" for 1 or 2."""
    return _shown(count)
