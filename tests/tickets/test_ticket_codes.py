from __future__ import annotations

import re

from bot.tickets.codes import ALPHABET, generate_code, is_valid_code, normalize_code


def test_alphabet_is_crockford_base32() -> None:
    assert len(ALPHABET) == 32 == len(set(ALPHABET))
    assert not set("ILOU") & set(ALPHABET)
    assert set(ALPHABET) == set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") - set("ILOU")


def test_generated_codes_have_the_documented_format() -> None:
    for _ in range(2000):
        code = generate_code()
        assert re.fullmatch(r"ADU-[0-9A-HJKMNP-TV-Z]{8}", code), code
        assert is_valid_code(code)


def test_generated_codes_are_unique_and_use_the_whole_alphabet() -> None:
    codes = [generate_code() for _ in range(20000)]
    assert len(set(codes)) == len(codes)
    used = {ch for code in codes for ch in code[4:]}
    assert used == set(ALPHABET)  # random over the full alphabet, not a narrow or sequential source
    # Not sequential: consecutive codes share no common ordering.
    assert sorted(codes) != codes


def test_normalize_accepts_what_citizens_type() -> None:
    assert normalize_code("ADU-7K3M9PQX") == "ADU-7K3M9PQX"
    assert normalize_code("  adu-7k3m9pqx ") == "ADU-7K3M9PQX"
    assert normalize_code("adu 7k3m 9pqx") == "ADU-7K3M9PQX"
    assert normalize_code("7K3M-9PQX") == "ADU-7K3M9PQX"
    # Crockford reading of confusable letters: O is zero, I and L are one.
    assert normalize_code("ADU-O0ILl111") == "ADU-00111111"


def test_normalize_rejects_non_codes() -> None:
    for raw in ["", "ADU-", "ADU-1234567", "ADU-123456789", "ADU-ABCDEFGU", "123; DROP TABLE", "x" * 500]:
        assert normalize_code(raw) is None, raw
    assert not is_valid_code("adu-7k3m9pqx")  # stored codes are canonical upper case
