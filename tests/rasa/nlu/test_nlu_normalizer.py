"""TextNormalizer: slang, repeated letters, domain terms, robustness. Pure Python (runs in either venv)."""

from __future__ import annotations

import random
import time

import pytest

from bot.nlu.normalizer import LEXICON_FILE, TextNormalizer


@pytest.fixture(scope="module")
def normalizer() -> TextNormalizer:
    return TextNormalizer()


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("tolooong", "tolong"),
        ("bangeeet", "banget"),
        ("gmn", "bagaimana"),
        ("sy udh", "saya sudah"),
        ("blm", "belum"),
        ("gak", "tidak"),
        ("ga", "tidak"),
        ("nggak", "tidak"),
        ("enggak", "tidak"),
        ("tak", "tidak"),
        ("tdk", "tidak"),
        ("bgt", "banget"),
        ("dgn", "dengan"),
        ("krn", "karena"),
        ("krna", "karena"),
        ("yg", "yang"),
        ("GMN", "bagaimana"),
        ("gatau", "tidak tahu"),
        ("maaaaf", "maaf"),
        ("saaaat", "saat"),
        ("tungggu", "tunggu"),
        ("okee", "oke"),
        ("anak2", "anak-anak"),
        ("org2", "orang-orang"),
        ("makasihhh", "terima kasih"),
    ],
)
def test_slang_and_repeated_letters(normalizer: TextNormalizer, typed: str, expected: str) -> None:
    assert normalizer.normalize(typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        # The lexicon reads the doubles as "kakak", "pulang-pergi", "tahi": a held key must not reach them.
        ("aaaaaaaaa", "a"),
        ("ppppp", "p"),
        ("eeeeee", "e"),
        ("PPPPPP", "p"),
        # Runs the lexicon lists itself keep its reading, however long the run.
        ("kkk", "oke"),
        ("kkkkkkkkk", "oke"),
    ],
)
def test_one_letter_held_down_is_that_letter(normalizer: TextNormalizer, typed: str, expected: str) -> None:
    assert normalizer.normalize(typed) == expected


@pytest.mark.parametrize("word", ["saat", "maaf", "taat", "tunggu", "manfaat", "tanggal"])
def test_legit_double_letters_are_kept(normalizer: TextNormalizer, word: str) -> None:
    assert normalizer.normalize_token(word) == word


def test_kk_stays_kartu_keluarga_although_the_lexicon_says_kakak(normalizer: TextNormalizer) -> None:
    lexicon = dict(
        line.rstrip("\n").split("\t", 1) for line in LEXICON_FILE.read_text(encoding="utf-8").splitlines()[1:]
    )
    assert lexicon["kk"] == "kakak"  # the trap the override exists for
    assert normalizer.normalize("KK saya hilang") == "kk saya hilang"
    assert normalizer.normalize_token("kk") == "kk"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        # The lexicon reads "smp" as sampai and "pp" as pulang-pergi: wrong for schools and regulations.
        ("anak saya daftar SMP negeri", "anak saya daftar smp negeri"),
        ("PP 2 tahun 2018 tentang apa", "pp 2 tahun 2018 tentang apa"),
        ("tolong satpol PP turun", "tolong satpol pp turun"),
        ("pungutan di SD dan SMA", "pungutan di sd dan sma"),
        # ... "spt" as seperti and the formal "diubah" as the informal "dirubah".
        ("cara lapor SPT tahunan", "cara lapor spt tahunan"),
        ("nama di ktp diubah", "nama di ktp diubah"),
    ],
)
def test_lexicon_misreadings_in_this_domain_are_overridden(
    normalizer: TextNormalizer, typed: str, expected: str
) -> None:
    assert normalizer.normalize(typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ass wr wb", "assalamualaikum warahmatullahi wabarakatuh"),
        ("Ass. Wr. Wb.", "assalamualaikum warahmatullahi wabarakatuh"),
        ("asw min", "assalamualaikum admin"),
        ("wassalamualaikum wr wb", "wassalamualaikum warahmatullahi wabarakatuh"),
        ("wrwb", "warahmatullahi wabarakatuh"),
    ],
)
def test_short_forms_of_the_islamic_greeting_are_written_out(
    normalizer: TextNormalizer, typed: str, expected: str
) -> None:
    assert normalizer.normalize(typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        # The lexicon had "50rb" -> 50000, "200rb" -> a quoted "200.000", "10rb" -> 10 ribu and no "75rb".
        ("diminta 50rb", "diminta 50 ribu"),
        ("diminta 200rb", "diminta 200 ribu"),
        ("bayar 10rb", "bayar 10 ribu"),
        ("minta 75rb", "minta 75 ribu"),
        ("uang admin 25rban", "uang admin 25 ribu"),
        ("dimintai 50k", "dimintai 50 ribu"),
        ("500ribu", "500 ribu"),
        ("disuruh bayar 2jt", "disuruh bayar 2 juta"),
        ("1,5jt buat pelicin", "1,5 juta buat pelicin"),
        ("3jtan", "3 juta"),
        # The unit after a separate amount, and an amount after "Rp" (the segmenter splits "Rp50" off "rb").
        ("50 rb", "50 ribu"),
        ("Rp50rb", "rp 50 ribu"),
        ("2 jt", "2 juta"),
    ],
)
def test_money_shorthand_becomes_amount_and_unit(
    normalizer: TextNormalizer, typed: str, expected: str
) -> None:
    assert normalizer.normalize(typed) == expected


def test_money_shorthand_keeps_the_span_of_the_typed_amount(normalizer: TextNormalizer) -> None:
    tokens = normalizer.analyze("pungli 75rb")
    assert [(t.text, t.start, t.end) for t in tokens] == [("pungli", 0, 6), ("75", 7, 11), ("ribu", 7, 11)]


@pytest.mark.parametrize(
    "term", ["KTP", "SIM", "SKCK", "BPJS", "NIK", "RT", "RW", "Dukcapil", "Samsat", "KIA", "NPWP", "PDAM"]
)
def test_domain_terms_stay_intact(normalizer: TextNormalizer, term: str) -> None:
    assert normalizer.normalize_token(term) == term.lower()
    assert normalizer.is_domain_term(term)


@pytest.mark.parametrize("variant", ["e-KTP", "eKTP", "E-ktp", "KTP-el", "ktpel", "KTP"])
def test_ktp_variants_become_one_domain_token(normalizer: TextNormalizer, variant: str) -> None:
    assert normalizer.normalize(f"{variant} saya hilang") == "ktp saya hilang"


def test_agency_variants_become_one_token(normalizer: TextNormalizer) -> None:
    assert normalizer.normalize("Disdukcapil capil Dukcapil") == "dukcapil dukcapil dukcapil"
    assert normalizer.normalize("akte kelahiran") == "akta kelahiran"


def test_clitics_are_split_off_domain_terms(normalizer: TextNormalizer) -> None:
    assert normalizer.normalize("BPJS-nya gak aktif") == "bpjs nya tidak aktif"
    assert normalizer.normalize("KTPnya rusak") == "ktp nya rusak"
    # An ordinary word keeps its clitic (the stemmer deals with it).
    assert normalizer.normalize("hilangnya") == "hilangnya"


def test_stop_words_are_not_removed(normalizer: TextNormalizer) -> None:
    text = "bagaimana kalau sudah lapor tapi belum ada tanggapan, berapa lama lagi? tidak jelas"
    normalized = normalizer.normalize(text).split()
    for word in ("bagaimana", "kalau", "sudah", "tapi", "belum", "ada", "berapa", "lama", "lagi", "tidak"):
        assert word in normalized


def test_the_design_example(normalizer: TextNormalizer) -> None:
    assert (
        normalizer.normalize("gmn cara bikin ktp, sy udh 2x dtg blm jd")
        == "bagaimana cara buat ktp saya sudah dua kali datang belum jadi"
    )


def test_addresses(normalizer: TextNormalizer) -> None:
    assert (
        normalizer.normalize("Jl. Merdeka No. 5 RT 03/RW 02 Kel. Sukamaju Kec. Cibeunying")
        == "jalan merdeka nomor 5 rt 03 rw 02 kelurahan sukamaju kecamatan cibeunying"
    )


def test_lexicon_entries_that_would_corrupt_words_are_overridden(normalizer: TextNormalizer) -> None:
    assert normalizer.normalize("kota Malang") == "kota malang"


def test_values_stay_whole_and_canonical(normalizer: TextNormalizer) -> None:
    assert normalizer.normalize("cek adu 7kq2-m9xp") == "cek ADU-7KQ2M9XP"
    assert normalizer.normalize("NIK 3201 0101 0101 0001") == "nik 3201010101010001"
    assert normalizer.normalize("wa 0812-3456-7890") == "whatsapp +6281234567890"
    assert normalizer.normalize("dimintai Rp50.000") == "dimintai rp 50.000"


def test_offsets_point_at_the_original_characters(normalizer: TextNormalizer) -> None:
    text = "Tolooong, e-KTP sy BPJS-nya +62 812 3456 7890 gatau 👍"
    spans = [(token.text, text[token.start : token.end]) for token in normalizer.analyze(text)]
    assert spans == [
        ("tolong", "Tolooong"),
        ("ktp", "e-KTP"),
        ("saya", "sy"),
        ("bpjs", "BPJS"),
        ("nya", "nya"),
        ("+6281234567890", "+62 812 3456 7890"),
        ("tidak", "gatau"),
        ("tahu", "gatau"),
        ("iya", "👍"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "👍",
        "😀😀😀🙏🏽👨‍👩‍👧",
        "???!!!...",
        "<p>Jalan <b>rusak</b></p>&nbsp;",
        "𝗝𝗮𝗹𝗮𝗻 𝗿𝘂𝘀𝗮𝗸 ＫＴＰ",
        "السلام عليكم",
        "道路损坏",
        "e\u0301 cafe\u0301 \u200b\u200d zero-width",
        "\x00\x01 control \ufffd",
        "ß İstanbul ǅ",
    ],
)
def test_odd_input_does_not_crash(normalizer: TextNormalizer, text: str) -> None:
    for token in normalizer.analyze(text):
        assert token.text and " " not in token.text
        assert 0 <= token.start < token.end <= len(text)
    assert isinstance(normalizer.normalize(text), str)


def test_emoji_and_markup_are_dropped(normalizer: TextNormalizer) -> None:
    assert normalizer.normalize("<b>jalan</b> rusak 😡😡") == "jalan rusak"
    assert normalizer.normalize("🙏👋😀") == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("👍", "iya"),
        ("👍🏽", "iya"),
        ("✅", "iya"),
        ("✔️", "iya"),
        ("❌", "tidak"),
        ("👎🏻", "tidak"),
        ("ok 👌", "oke iya"),
    ],
)
def test_yes_and_no_emoji_are_read_as_words(normalizer: TextNormalizer, text: str, expected: str) -> None:
    assert normalizer.normalize(text) == expected


def test_an_emoji_word_spans_the_emoji_and_its_modifier(normalizer: TextNormalizer) -> None:
    [token] = normalizer.analyze("🙅🏽‍♀️")
    assert (token.text, token.start, token.end) == ("tidak", 0, 2)


@pytest.mark.parametrize(
    "text",
    [
        " ".join(
            random.Random(7).choice(["gmn", "tolooong", "e-KTP", "BPJS-nya", "xqzw", "0812-3456-7890"])
            for _ in range(2_000)
        )[:10_000],
        "a." * 5_000,
        "a" * 10_000,
        "1" * 10_000,
        "a-" * 5_000,
        "😀" * 10_000,
        "@" * 10_000,
        "adu " * 2_500,
        ("x" * 63 + "@") * 150,
    ],
)
def test_ten_thousand_characters_are_handled_in_linear_time(normalizer: TextNormalizer, text: str) -> None:
    started = time.perf_counter()
    tokens = normalizer.analyze(text)
    elapsed = time.perf_counter() - started
    assert all(0 <= token.start < token.end <= len(text) for token in tokens)
    # Generous: linear work is milliseconds; a quadratic regex would take tens of seconds here.
    assert elapsed < 5.0
