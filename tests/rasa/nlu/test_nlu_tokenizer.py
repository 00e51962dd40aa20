"""IndonesianTokenizer: normalised token texts with offsets into the original message."""

from __future__ import annotations

import pytest
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.tokenizer import IndonesianTokenizer


@pytest.fixture(scope="module")
def tokenizer() -> IndonesianTokenizer:
    return IndonesianTokenizer(IndonesianTokenizer.get_default_config())


def tokenize(tokenizer: IndonesianTokenizer, text: str) -> list[Token]:
    message = Message(data={TEXT: text})
    tokenizer.process([message])
    tokens: list[Token] = message.get(TOKENS_NAMES[TEXT])
    return tokens


def pairs(tokenizer: IndonesianTokenizer, text: str) -> list[tuple[str, str]]:
    """(token text, the original characters its offsets point at)."""
    return [(token.text, text[token.start : token.end]) for token in tokenize(tokenizer, text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("e-KTP saya hilang", [("ktp", "e-KTP"), ("saya", "saya"), ("hilang", "hilang")]),
        ("BPJS-nya gak aktif", [("bpjs", "BPJS"), ("nya", "nya"), ("tidak", "gak"), ("aktif", "aktif")]),
        ("KTPnya", [("ktp", "KTP"), ("nya", "nya")]),
        ("di Jl. Merdeka", [("di", "di"), ("jalan", "Jl."), ("merdeka", "Merdeka")]),
        ("Jln.Sudirman", [("jalan", "Jln."), ("sudirman", "Sudirman")]),
        ("status ADU-7KQ2M9XP?", [("status", "status"), ("ADU-7KQ2M9XP", "ADU-7KQ2M9XP")]),
        ("cek adu-7kq2m9xp", [("cek", "cek"), ("ADU-7KQ2M9XP", "adu-7kq2m9xp")]),
        ("NIK 3201010101010001", [("nik", "NIK"), ("3201010101010001", "3201010101010001")]),
        ("hp 0812-3456-7890", [("handphone", "hp"), ("+6281234567890", "0812-3456-7890")]),
        ("+62 812 3456 7890", [("+6281234567890", "+62 812 3456 7890")]),
        ("6281234567890.", [("+6281234567890", "6281234567890")]),
        (
            "lihat https://lapor.go.id/aduan?id=1.",
            [("lihat", "lihat"), ("https://lapor.go.id/aduan?id=1", "https://lapor.go.id/aduan?id=1")],
        ),
        ("jalan rusak 😡😡 tolong", [("jalan", "jalan"), ("rusak", "rusak"), ("tolong", "tolong")]),
        ("gatau", [("tidak", "gatau"), ("tahu", "gatau")]),
        ("tolooong bangeeet", [("tolong", "tolooong"), ("banget", "bangeeet")]),
    ],
)
def test_tokens_and_their_original_spans(
    tokenizer: IndonesianTokenizer, text: str, expected: list[tuple[str, str]]
) -> None:
    assert pairs(tokenizer, text) == expected


def test_offsets_are_inside_the_text_and_ordered(tokenizer: IndonesianTokenizer) -> None:
    text = "Selamat pagi min, e-KTP sy udh 2x dtg ke Disdukcapil tp blm jd 🙏 NIK 3201010101010001 wa 081234567890"
    tokens = tokenize(tokenizer, text)
    starts = [token.start for token in tokens]
    assert starts == sorted(starts)
    for token in tokens:
        assert 0 <= token.start < token.end <= len(text)
        assert text[token.start : token.end].strip() == text[token.start : token.end]


@pytest.mark.parametrize(("text", "token_text"), [("😡", "😡"), ("  ?? ", "??"), ("", "")])
def test_a_message_without_words_still_has_one_token(
    tokenizer: IndonesianTokenizer, text: str, token_text: str
) -> None:
    tokens = tokenize(tokenizer, text)
    assert [token.text for token in tokens] == [token_text]
    assert text[tokens[0].start : tokens[0].end] == token_text


def test_training_data_tokenizes_text_and_intent(tokenizer: IndonesianTokenizer) -> None:
    data = TrainingData([Message(data={TEXT: "gmn cara bikin e-KTP", INTENT: "faq"})])
    tokenizer.process_training_data(data)
    example = data.training_examples[0]
    assert [token.text for token in example.get(TOKENS_NAMES[TEXT])] == ["bagaimana", "cara", "buat", "ktp"]
    assert [token.text for token in example.get(TOKENS_NAMES[INTENT])] == ["faq"]


def test_a_thumbs_up_alone_is_a_yes(tokenizer: IndonesianTokenizer) -> None:
    [token] = tokenize(tokenizer, "👍")
    assert (token.text, token.start, token.end) == ("iya", 0, 1)
