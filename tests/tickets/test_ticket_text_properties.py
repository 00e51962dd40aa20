"""Property tests (hypothesis) of what the service reads from citizens' text: tracking codes and phone
numbers. Any text must not crash them; what they accept must be canonical, and reading it again must
give the same value."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.tickets.codes import ALPHABET, BODY_LENGTH, generate_code, is_valid_code, normalize_code
from bot.tickets.phone import InvalidPhone, normalize_phone

# The same examples on every run, so CI is reproducible (see tests/rasa/test_text_parser_properties.py).
settings.register_profile("ticket_text", derandomize=True, database=None, deadline=None)
settings.load_profile("ticket_text")

CODE_BODIES = st.text(alphabet=ALPHABET, min_size=BODY_LENGTH, max_size=BODY_LENGTH)
SEPARATORS = st.sampled_from(["", " ", "-", ".", "_", "  "])


# --- tracking codes (bot/tickets/codes.py) ------------------------------------------------------------


@given(text=st.text(max_size=50))
@example("ADU-7K3M9PQX\n")
def test_a_code_is_none_or_canonical(text: str) -> None:
    code = normalize_code(text)
    if code is not None:
        assert re.fullmatch(rf"ADU-[{ALPHABET}]{{{BODY_LENGTH}}}", code)
        assert normalize_code(code) == code  # idempotent


@given(text=st.text(max_size=50))
@example("ADU-7K3M9PQX\n")
def test_only_canonical_codes_are_valid(text: str) -> None:
    # "ADU-7K3M9PQX\n" passed `$` in the pattern: a code with a line break was "valid".
    if is_valid_code(text):
        assert normalize_code(text) == text


@given(body=CODE_BODIES, separator=SEPARATORS, split=st.integers(0, BODY_LENGTH), lower=st.booleans())
def test_a_code_however_typed_reads_back(body: str, separator: str, split: int, lower: bool) -> None:
    typed = f"adu{separator}{body[:split]}{separator}{body[split:]}"
    assert normalize_code(typed.lower() if lower else typed.upper()) == f"ADU-{body}"


@given(body=CODE_BODIES)
def test_confusable_letters_read_as_the_digits(body: str) -> None:
    typed = "ADU-" + body.replace("1", "I").replace("0", "O")
    assert normalize_code(typed) == f"ADU-{body}"


def test_generated_codes_are_valid_and_read_back() -> None:
    for _ in range(200):
        code = generate_code()
        assert is_valid_code(code) and normalize_code(code.lower()) == code


# --- phone numbers (bot/tickets/phone.py) -------------------------------------------------------------

NATIONAL = st.one_of(
    st.from_regex(re.compile(r"8[1-9][0-9]{7,10}", re.ASCII), fullmatch=True),
    st.from_regex(re.compile(r"[2-7][0-9]{7,10}", re.ASCII), fullmatch=True),
)
PHONE_SEPARATORS = st.sampled_from(["", " ", "-", ".", "(", ")"])


@given(text=st.text(max_size=40))
@example("+6281٢٣٤٥٦٧٨٩")  # Arabic-Indic digits after "81"
@example("08123456789\n")
def test_a_phone_number_is_refused_or_canonical_ascii(text: str) -> None:
    try:
        phone = normalize_phone(text)
    except InvalidPhone:
        return
    assert re.fullmatch(r"\+62[2-8][0-9]{7,10}", phone, re.ASCII), phone
    assert normalize_phone(phone) == phone  # idempotent


@given(
    national=NATIONAL,
    prefix=st.sampled_from(["0", "62", "+62"]),
    separators=st.lists(PHONE_SEPARATORS, max_size=3),
)
def test_every_writing_of_a_number_gives_the_same_number(
    national: str, prefix: str, separators: list[str]
) -> None:
    typed = prefix + "".join(
        digit + (separators[i % len(separators)] if separators else "") for i, digit in enumerate(national)
    )
    assert normalize_phone(typed) == "+62" + national
