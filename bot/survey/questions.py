"""The SKM questionnaire (PermenPANRB 14/2017): nine elements, each scored 1-4, and the chat's wording.

Questions and answer labels follow the regulation's sample questionnaire (its annex), in the order of the
elements as the regulation lists them (domain.md §2.4); "Saudara" reads "Anda" in the chat. The citizen taps
a label, the score is its position (1 = worst, 4 = best).
"""

from __future__ import annotations

from dataclasses import dataclass

ELEMENT_COUNT = 9
MIN_SCORE = 1
MAX_SCORE = 4


@dataclass(frozen=True)
class Question:
    element: int  # 1-9, the regulation's order
    name: str  # the element (unsur) as the regulation names it
    text: str  # the question the citizen reads
    labels: tuple[str, str, str, str]  # answers for scores 1, 2, 3, 4

    def label(self, score: int) -> str:
        return self.labels[score - 1]


QUESTIONS: tuple[Question, ...] = (
    Question(
        1,
        "Persyaratan",
        "Bagaimana pendapat Anda tentang kesesuaian persyaratan pelayanan dengan jenis pelayanannya?",
        ("Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai"),
    ),
    Question(
        2,
        "Sistem, mekanisme, dan prosedur",
        "Bagaimana pemahaman Anda tentang kemudahan prosedur pelayanan?",
        ("Tidak mudah", "Kurang mudah", "Mudah", "Sangat mudah"),
    ),
    Question(
        3,
        "Waktu penyelesaian",
        "Bagaimana pendapat Anda tentang kecepatan waktu dalam memberikan pelayanan?",
        ("Tidak cepat", "Kurang cepat", "Cepat", "Sangat cepat"),
    ),
    Question(
        4,
        "Biaya/tarif",
        "Bagaimana pendapat Anda tentang kewajaran biaya/tarif dalam pelayanan?",
        ("Sangat mahal", "Cukup mahal", "Murah", "Gratis"),
    ),
    Question(
        5,
        "Produk spesifikasi jenis pelayanan",
        "Bagaimana pendapat Anda tentang kesesuaian produk pelayanan antara yang tercantum dalam standar "
        "pelayanan dengan hasil yang diberikan?",
        ("Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai"),
    ),
    Question(
        6,
        "Kompetensi pelaksana",
        "Bagaimana pendapat Anda tentang kompetensi/kemampuan petugas dalam pelayanan?",
        ("Tidak kompeten", "Kurang kompeten", "Kompeten", "Sangat kompeten"),
    ),
    Question(
        7,
        "Perilaku pelaksana",
        "Bagaimana pendapat Anda tentang perilaku petugas dalam pelayanan terkait kesopanan dan keramahan?",
        ("Tidak sopan dan ramah", "Kurang sopan dan ramah", "Sopan dan ramah", "Sangat sopan dan ramah"),
    ),
    Question(
        8,
        "Penanganan pengaduan, saran, dan masukan",
        "Bagaimana pendapat Anda tentang penanganan pengaduan pengguna layanan?",
        ("Tidak ada", "Ada tetapi tidak berfungsi", "Berfungsi kurang maksimal", "Dikelola dengan baik"),
    ),
    Question(
        9,
        "Sarana dan prasarana",
        "Bagaimana pendapat Anda tentang kualitas sarana dan prasarana pelayanan?",
        ("Buruk", "Cukup", "Baik", "Sangat baik"),
    ),
)

_BY_ELEMENT = {question.element: question for question in QUESTIONS}


def question(element: int) -> Question:
    """The question of an element (1-9); KeyError for any other number."""
    return _BY_ELEMENT[element]


def is_valid_answer(element: object, score: object) -> bool:
    """Plain ints in range only (a bool is an int in Python and never a score)."""
    return (
        isinstance(element, int)
        and not isinstance(element, bool)
        and isinstance(score, int)
        and not isinstance(score, bool)
        and element in _BY_ELEMENT
        and MIN_SCORE <= score <= MAX_SCORE
    )
