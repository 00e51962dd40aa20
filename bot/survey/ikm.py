"""Indeks Kepuasan Masyarakat (IKM) of PermenPANRB 14/2017, from completed SKM surveys.

The regulation's formula: NRR (nilai rata-rata) of each of the 9 elements is the mean of its scores
(1-4); IKM = Σ NRR_i × 1/9 × 25, i.e. the mean of the 9 NRRs × 25, in 25-100. The weight is exactly 1/9:
the "0.111" many agencies write is a rounding that lowers every result (domain.md §2.4, pitfall a), so
the sums stay in `Fraction` and only the final value is rounded, half up, to 2 decimals.

Grades (mutu pelayanan) on the rounded IKM: A 88.31-100, B 76.61-88.30, C 65.00-76.60, D 25.00-64.99.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

ELEMENTS: tuple[int, ...] = tuple(range(1, 10))
MIN_SCORE, MAX_SCORE = 1, 4
CONVERSION_FACTOR = 25

ELEMENT_LABELS: dict[int, str] = {
    1: "Persyaratan",
    2: "Sistem, mekanisme, dan prosedur",
    3: "Waktu penyelesaian",
    4: "Biaya/tarif",
    5: "Produk spesifikasi jenis pelayanan",
    6: "Kompetensi pelaksana",
    7: "Perilaku pelaksana",
    8: "Penanganan pengaduan, saran, dan masukan",
    9: "Sarana dan prasarana",
}

# (lowest IKM of the grade, grade, performance label), best first.
GRADES: tuple[tuple[Decimal, str, str], ...] = (
    (Decimal("88.31"), "A", "Sangat Baik"),
    (Decimal("76.61"), "B", "Baik"),
    (Decimal("65.00"), "C", "Kurang Baik"),
    (Decimal("25.00"), "D", "Tidak Baik"),
)
_CENT = Decimal("0.01")


class IncompleteSurvey(ValueError):
    """A respondent's answers do not cover each of the 9 elements exactly once with a score of 1-4."""


@dataclass(frozen=True)
class ElementResult:
    element: int
    label: str
    nrr: Decimal  # mean score 1-4, rounded to 3 decimals for display only
    converted: Decimal  # NRR × 25, rounded to 2 decimals for display only


@dataclass(frozen=True)
class IkmResult:
    respondents: int
    ikm: Decimal  # rounded half up to 2 decimals, 25.00-100.00
    grade: str
    performance: str
    elements: tuple[ElementResult, ...]


def grade_of(ikm: Decimal) -> tuple[str, str]:
    """(grade, performance) of an IKM already rounded to 2 decimals; outside 25-100 is a programming error."""
    if not Decimal("25.00") <= ikm <= Decimal("100.00"):
        raise ValueError(f"IKM {ikm} is outside 25-100")
    for lowest, grade, performance in GRADES:
        if ikm >= lowest:
            return grade, performance
    raise AssertionError("unreachable: the D grade starts at 25.00")


def _round(value: Fraction, places: Decimal) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(places, rounding=ROUND_HALF_UP)


def _checked(respondent: Mapping[int, int]) -> Mapping[int, int]:
    if sorted(respondent) != list(ELEMENTS):
        raise IncompleteSurvey("every respondent must answer the 9 elements")
    if any(not MIN_SCORE <= score <= MAX_SCORE for score in respondent.values()):
        raise IncompleteSurvey("scores are 1-4")
    return respondent


def compute_ikm(respondents: Iterable[Mapping[int, int]]) -> IkmResult | None:
    """IKM of the respondents (each a mapping element → score); None when there is no respondent."""
    totals = dict.fromkeys(ELEMENTS, 0)
    count = 0
    for respondent in respondents:
        for element, score in _checked(respondent).items():
            totals[element] += score
        count += 1
    if count == 0:
        return None
    nrr = {element: Fraction(total, count) for element, total in totals.items()}
    exact_ikm = sum(nrr.values(), Fraction(0)) / len(ELEMENTS) * CONVERSION_FACTOR
    ikm = _round(exact_ikm, _CENT)
    grade, performance = grade_of(ikm)
    elements = tuple(
        ElementResult(
            element=element,
            label=ELEMENT_LABELS[element],
            nrr=_round(value, Decimal("0.001")),
            converted=_round(value * CONVERSION_FACTOR, _CENT),
        )
        for element, value in nrr.items()
    )
    return IkmResult(respondents=count, ikm=ikm, grade=grade, performance=performance, elements=elements)
