"""Property tests (hypothesis) of the parsers that read citizen text on the Rasa side: incident dates,
phone numbers in the complaint form, and the NLU normaliser. Any text must not crash them, and what they
return must keep its promises (no future date without an explicit year, canonical phone numbers,
idempotent normalisation, token spans inside the text)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from actions.complaint import normalize_phone
from actions.dates import parse_incident_date
from bot.nlu.normalizer import TextNormalizer

MONTHS = ["januari", "feb", "maret", "apr", "mei", "juni", "juli", "agustus", "sep", "okt", "november", "des"]
TODAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
# Words that appear around dates in complaints, so the generated texts reach every rule.
DATE_WORDS = st.sampled_from(
    [
        "kemarin",
        "kemarin lusa",
        "tadi pagi",
        "lalu",
        "yang lalu",
        "hari",
        "minggu",
        "bulan",
        "tahun",
        "senin",
        "jumat",
        "sejak",
        "tanggal",
        "se",
        "dua",
        "beberapa",
        *MONTHS,
    ]
)
NUMBERS = st.integers(min_value=0, max_value=3000).map(str)
DATE_TEXTS = st.lists(st.one_of(DATE_WORDS, NUMBERS, st.sampled_from(["/", "-", " "])), max_size=8).map(
    " ".join
)
EXPLICIT_YEAR = re.compile(r"\d{4}|\d{1,2}\s*[/-]\s*\d{1,2}\s*[/-]\s*\d{2,4}")

# derandomize: the same examples on every run, so CI is reproducible; new inputs come from the explicit
# @example cases and from changing the strategies, not from luck.
settings.register_profile(
    "parsers",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    database=None,
)
settings.load_profile("parsers")


# --- incident dates (actions/dates.py) --------------------------------------------------------------


@given(text=st.one_of(st.text(max_size=80), DATE_TEXTS), today=TODAYS)
@settings(max_examples=300)
def test_a_date_is_never_in_the_future_without_an_explicit_year(text: str, today: date) -> None:
    found = parse_incident_date(text, today)
    assert found is None or isinstance(found, date)
    if found is not None and found > today:
        assert EXPLICIT_YEAR.search(text), (text, today, found)


@given(day=st.integers(1, 28), month=st.sampled_from(MONTHS), today=TODAYS)
def test_a_day_and_month_without_a_year_is_the_last_such_day(day: int, month: str, today: date) -> None:
    found = parse_incident_date(f"sejak {day} {month}", today)
    assert found is not None and found.day == day
    assert today - timedelta(days=366) < found <= today


@given(days=st.integers(1, 999), today=TODAYS, filler=st.sampled_from(["", "sudah ", "jalan rusak sejak "]))
def test_n_days_ago_is_exactly_n_days_before_today(days: int, today: date, filler: str) -> None:
    assert parse_incident_date(f"{filler}{days} hari lalu", today) == today - timedelta(days=days)


@given(today=TODAYS)
def test_relative_words_follow_today(today: date) -> None:
    assert parse_incident_date("kemarin", today) == today - timedelta(days=1)
    assert parse_incident_date("kemarin lusa", today) == today - timedelta(days=2)
    assert parse_incident_date("tadi pagi", today) == today
    last_monday = parse_incident_date("senin lalu", today)
    assert last_monday is not None and last_monday.weekday() == 0
    assert 1 <= (today - last_monday).days <= 7


# --- phone numbers in the complaint form (actions/complaint.py) -------------------------------------

MOBILE_NATIONAL = st.from_regex(re.compile(r"8[1-9][0-9]{6,11}", re.ASCII), fullmatch=True)
PREFIXES = st.sampled_from(["0", "62", "+62"])
SEPARATORS = st.sampled_from(["", " ", "-", ".", "(", ")"])


def _written(national: str, prefix: str, separators: list[str]) -> str:
    """The number as a citizen types it: a prefix and separators between some digits."""
    out = prefix
    for index, digit in enumerate(national):
        out += digit + (separators[index % len(separators)] if separators else "")
    return out


@given(text=st.text(max_size=40))
@example("+6281٢٣٤٥٦٧٨٩")  # Arabic-Indic digits after "81"
def test_a_phone_number_is_none_or_canonical_ascii(text: str) -> None:
    phone = normalize_phone(text)
    if phone is not None:
        assert re.fullmatch(r"\+628[1-9][0-9]{6,11}", phone, re.ASCII), phone


@given(national=MOBILE_NATIONAL, prefix=PREFIXES, separators=st.lists(SEPARATORS, max_size=4))
def test_every_writing_of_a_mobile_number_gives_the_same_number(
    national: str, prefix: str, separators: list[str]
) -> None:
    phone = normalize_phone(_written(national, prefix, separators))
    assert phone == "+62" + national
    assert normalize_phone(phone) == phone  # idempotent


@given(text=st.text(max_size=40))
def test_normalising_a_phone_number_twice_changes_nothing(text: str) -> None:
    phone = normalize_phone(text)
    if phone is not None:
        assert normalize_phone(phone) == phone


# --- the NLU normaliser (bot/nlu/normalizer.py) ------------------------------------------------------


@pytest.fixture(scope="module")
def normalizer() -> TextNormalizer:
    return TextNormalizer()


CHAT_WORDS = [
    "gmn",
    "cara",
    "bikin",
    "ktp",
    "sy",
    "udh",
    "dtg",
    "blm",
    "jd",
    "tolooong",
    "kk",
    "ass",
    "wr",
    "wb",
]
OTHER_TOKENS = [
    "2x",
    "e-KTP",
    "BPJS-nya",
    "ADU-7K3M9PQX",
    "0812-3456-7890",
    "aaaaaaa",
    "👍",
    "50rb",
    "!",
    "?",
]
CHAT_TEXT = st.one_of(
    st.text(max_size=60), st.lists(st.sampled_from(CHAT_WORDS + OTHER_TOKENS), max_size=10).map(" ".join)
)
WORDS = st.lists(
    st.one_of(
        st.from_regex(re.compile(r"[a-z]{1,12}", re.ASCII), fullmatch=True), st.sampled_from(CHAT_WORDS)
    ),
    max_size=10,
).map(" ".join)


@given(text=CHAT_TEXT)
@settings(max_examples=300)
def test_any_text_normalises_to_single_spaced_words(normalizer: TextNormalizer, text: str) -> None:
    once = normalizer.normalize(text)
    assert once == " ".join(once.split())


@given(text=WORDS)
@settings(max_examples=300)
def test_normalising_words_twice_is_normalising_once(normalizer: TextNormalizer, text: str) -> None:
    # Not for any text: compatibility characters ("¼" -> "1⁄4" -> "1 4") and digit groups separated by
    # punctuation ("080;000;000" -> "080 000 000" -> a phone number) read differently the second time.
    once = normalizer.normalize(text)
    assert normalizer.normalize(once) == once


@given(text=CHAT_TEXT)
@settings(max_examples=300)
def test_every_token_points_into_the_text(normalizer: TextNormalizer, text: str) -> None:
    for token in normalizer.analyze(text):
        assert 0 <= token.start < token.end <= len(text), (text, token)
        assert token.text.strip()
