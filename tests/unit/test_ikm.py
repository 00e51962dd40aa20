"""IKM of PermenPANRB 14/2017: exact 1/9 weights, rounding only at the end, grade boundaries."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.survey.ikm import ELEMENTS, IncompleteSurvey, compute_ikm, grade_of


def respondent(*scores: int) -> dict[int, int]:
    assert len(scores) == 9
    return dict(zip(ELEMENTS, scores, strict=True))


def test_no_respondents_means_no_ikm() -> None:
    assert compute_ikm([]) is None


def test_all_top_scores_give_exactly_100_not_the_99_9_of_a_0_111_weight() -> None:
    result = compute_ikm([respondent(4, 4, 4, 4, 4, 4, 4, 4, 4)] * 5)
    assert result is not None
    assert result.ikm == Decimal("100.00") and result.grade == "A" and result.performance == "Sangat Baik"
    assert result.respondents == 5
    assert all(e.nrr == Decimal("4.000") and e.converted == Decimal("100.00") for e in result.elements)


def test_lowest_scores_give_25_and_grade_d() -> None:
    result = compute_ikm([respondent(1, 1, 1, 1, 1, 1, 1, 1, 1)])
    assert result is not None and result.ikm == Decimal("25.00") and result.grade == "D"


def test_element_means_are_averaged_with_exact_one_ninth_weights() -> None:
    # NRRs: element 1 = 3.5 (scores 3 and 4), the others 3 → mean NRR = (3.5 + 8×3) / 9 = 27.5/9 = 3.0555…
    # IKM = 76.388… → 76.39 (grade C). With a 0.111 weight it would be 76.31; with 0.11, 75.63.
    result = compute_ikm([respondent(3, 3, 3, 3, 3, 3, 3, 3, 3), respondent(4, 3, 3, 3, 3, 3, 3, 3, 3)])
    assert result is not None
    assert result.ikm == Decimal("76.39")
    assert result.grade == "C" and result.performance == "Kurang Baik"
    assert result.elements[0].nrr == Decimal("3.500") and result.elements[0].converted == Decimal("87.50")
    assert result.elements[1].nrr == Decimal("3.000")


def test_domain_worked_example_mean_nrr_gives_91_48() -> None:
    # domain.md §2.4: the exact 1/9 method gives 91.48 where the 0.11 shortcut gave 90.56, i.e. a mean NRR
    # of 3.6592 (NRR sum 32.9328). 2500 respondents totalling 82332 points have exactly that:
    # 2332 × 33 + 168 × 32 = 82332.
    respondents = [respondent(4, 4, 4, 3, 3, 3, 4, 4, 4)] * 2332 + [
        respondent(4, 4, 4, 4, 4, 4, 3, 3, 2)
    ] * 168
    result = compute_ikm(respondents)
    assert result is not None
    assert result.respondents == 2500
    assert result.ikm == Decimal("91.48") and result.grade == "A"


@pytest.mark.parametrize(
    ("ikm", "grade"),
    [
        ("100.00", "A"),
        ("88.31", "A"),
        ("88.30", "B"),
        ("76.61", "B"),
        ("76.60", "C"),
        ("65.00", "C"),
        ("64.99", "D"),
        ("25.00", "D"),
    ],
)
def test_grade_boundaries(ikm: str, grade: str) -> None:
    assert grade_of(Decimal(ikm))[0] == grade


def test_rounding_happens_once_at_the_end_half_up() -> None:
    # 8 respondents: element 1 scores sum 29 (NRR 3.625), others all 4 → mean NRR = (3.625 + 32) / 9
    # = 3.958333… → IKM 98.958333… → 98.96.
    base = [respondent(4, 4, 4, 4, 4, 4, 4, 4, 4) for _ in range(8)]
    for answers in base[:3]:
        answers[1] = 3  # 3 × 3 + 5 × 4 = 29
    result = compute_ikm(base)
    assert result is not None and result.ikm == Decimal("98.96")


def test_boundary_reached_from_answers_88_30_is_b_and_88_31_would_be_a() -> None:
    # 250 respondents, total score 7947 → mean NRR 7947 / 2250 = 3.532 → IKM 88.30 exactly: grade B.
    answers = [respondent(4, 4, 4, 4, 4, 4, 4, 4, 4) for _ in range(250)]
    missing = 250 * 36 - 7947
    for person in answers:
        for element in ELEMENTS:
            if missing and person[element] > 1:
                take = min(missing, person[element] - 1)
                person[element] -= take
                missing -= take
    result = compute_ikm(answers)
    assert result is not None and result.ikm == Decimal("88.30") and result.grade == "B"


@pytest.mark.parametrize(
    "answers",
    [{1: 4}, {**respondent(4, 4, 4, 4, 4, 4, 4, 4, 4), 10: 4}, respondent(4, 4, 4, 4, 5, 4, 4, 4, 4)],
)
def test_incomplete_or_out_of_range_answers_are_refused(answers: dict[int, int]) -> None:
    with pytest.raises(IncompleteSurvey):
        compute_ikm([answers])
