"""The report as CSV for Excel: UTF-8 with BOM, `;` separator, one section per table.

Spreadsheet formula injection: every cell goes through the guard of bot/csv_safety.py, like every other
CSV export (unit names come from configuration and labels from code, but the guard costs nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot import csv_safety
from bot.reports.figures import Figures

BOM = "\ufeff"
SEPARATOR = ";"


def _decimal(value: object) -> str:
    # Indonesian Excel reads a comma as the decimal separator.
    return "" if value is None else str(value).replace(".", ",")


def rows_of(figures: Figures, units_label: str) -> list[Sequence[object]]:
    period = figures.period
    rows: list[Sequence[object]] = [
        ["Laporan pengaduan"],
        ["Periode", period.start.isoformat(), period.end.isoformat()],
        ["Unit", units_label],
        ["Jumlah aduan", figures.total],
        [],
        ["Kategori", "Jumlah"],
        *[[c.label, c.count] for c in figures.by_category],
        [],
        ["Status", "Jumlah"],
        *[[c.label, c.count] for c in figures.by_status],
        [],
        ["Kanal", "Jumlah"],
        *[[c.label, c.count] for c in figures.by_channel],
        [],
        ["Median waktu tanggapan pertama (jam kalender)", _decimal(figures.median_first_response_hours)],
        ["Aduan yang sudah ditanggapi", figures.answered],
        [],
        ["Kepatuhan SLA", "Jatuh tempo (sudah pasti)", "Tepat waktu", "Persen"],
        *[[s.label, s.decided, s.on_time, _decimal(s.percent)] for s in figures.sla],
        [],
    ]
    ikm = figures.ikm
    if ikm is None:
        rows.append(["IKM", "belum ada data"])
    else:
        rows += [
            ["IKM", _decimal(ikm.ikm), ikm.grade, ikm.performance],
            ["Responden", ikm.respondents],
            ["Unsur", "NRR", "NRR x 25"],
            *[[e.label, _decimal(e.nrr), _decimal(e.converted)] for e in ikm.elements],
        ]
    return rows


def to_csv(rows: Iterable[Sequence[object]]) -> str:
    return csv_safety.to_csv(rows, delimiter=SEPARATOR, bom=BOM)
