"""Normalises informal Indonesian chat text word by word, keeping public-service terms intact.

For each word, in this order:
1. Unicode NFKC and lower case ("𝗞𝗧𝗣", "ＫＴＰ" -> "ktp").
2. Domain terms (data/domain_terms.txt: ktp, kk, sim, bpjs, rt, rw, …) stay as they are.
3. Domain overrides (data/domain_overrides.tsv): spelling variants of domain terms ("e-KTP", "ektp", "KTP-el"
   -> "ktp"; "disdukcapil", "capil" -> "dukcapil"), chat slang this domain needs ("gmn" -> "bagaimana",
   "gak"/"tdk"/"tak" -> "tidak", "bgt" -> "banget"), and lexicon entries that would corrupt a word here
   ("malang" -> "malang", not "ngalam").
   Amounts in chat shorthand ("50rb", "50k", "75rban", "2jt", "1,5jt") become the number and its unit word
   ("50 ribu", "2 juta") before any list is read: the lexicon spells a few of them as digits ("50rb" ->
   "50000") and most not at all, so the same amount reached the model in three forms.
4. The general informal->formal lexicon (data/indocollex_informal_formal_dict.tsv, MIT).
5. Repeated letters: a run of three or more ("tolooong", "bangeeet", "maaaf") is squeezed to two and to one;
   a word that is one letter held down ("aaaaa", "ppppp") becomes that letter, not a two-letter abbreviation;
   the first candidate that is a known word wins ("maaf", "banget"), else the single-letter form ("tolong").
   Words that merely contain a double ("saat", "maaf", "tunggu") are left alone unless the single-letter
   form is a known word and the double is not ("okee" -> "oke").
6. Reduplication written with a 2 ("anak2", "org2") -> "anak-anak", "orang-orang" (not for domain terms).

Stop words are never removed: tidak, belum, bagaimana, sudah carry the intent.

On top of the words, `analyze` keeps values whole and canonical (tracking code "ADU-7KQ2M9XP", NIK digits,
phone "+62…", URL), splits a clitic off a domain term ("BPJS-nya", "KTPnya" -> bpjs/ktp + nya) and reports
each output word with the character span of the text it came from. A multi-word expansion ("gatau" -> "tidak
tahu") yields one output word per word, all with the span of the original word.

Pure Python (no Rasa import): the Rasa tokenizer (Python 3.10) and the triage classifier (Python 3.11) share it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.nlu.patterns import canonical_nik, canonical_phone, canonical_ticket_code
from bot.nlu.segmenter import EMOJI_WORDS, Piece, segment

DATA_DIR = Path(__file__).resolve().with_name("data")
LEXICON_FILE = DATA_DIR / "indocollex_informal_formal_dict.tsv"
OVERRIDES_FILE = DATA_DIR / "domain_overrides.tsv"
DOMAIN_TERMS_FILE = DATA_DIR / "domain_terms.txt"
# Everything whose content shapes the output of `TextNormalizer`: hash these to key a cache of anything
# trained on normalised text (the triage classifier does).
NORMALIZER_FILES = (
    Path(__file__).resolve(),
    Path(__file__).resolve().with_name("segmenter.py"),
    Path(__file__).resolve().with_name("patterns.py"),
    LEXICON_FILE,
    OVERRIDES_FILE,
    DOMAIN_TERMS_FILE,
)

# Clitics split off a domain term when attached ("ktpnya") or off any word when hyphenated ("BPJS-nya").
ATTACHED_CLITICS = ("nya", "ku", "mu")
HYPHENATED_CLITICS = frozenset({"nya", "ku", "mu", "lah", "kah", "pun"})

# Standard words with a genuine double letter, so that an elongated "maaaaf" returns to "maaf", not "maf".
LEGIT_DOUBLE_WORDS = frozenset(
    {
        "maaf",
        "saat",
        "taat",
        "manfaat",
        "jemaah",
        "jamaah",
        "jemaat",
        "telaah",
        "riil",
        "rakaat",
        "syafaat",
        "koordinasi",
        "koordinator",
        "kooperatif",
        "allah",
        "alhamdulillah",
        "insyaallah",
        "assalamualaikum",
        "tunggu",
        "minggu",
        "tinggal",
        "tanggal",
        "panggil",
        "ganggu",
        "gangguan",
        "anggaran",
        "anggota",
        "tanggung",
        "pinggir",
        "tinggi",
        "unggah",
        "sungguh",
        "mengganggu",
    }
)

# "50rb", "50rbu", "50ribu", "50k", "25rban", "2jt", "1,5jt", "3jtan": the amount, then its unit.
_MONEY_SHORTHAND = re.compile(r"(\d+(?:[.,]\d+)?)(rb|rbu|ribu|rban|ribuan|k|jt|juta|jtan|jutaan)")
_MONEY_UNITS = {"jt": "juta", "juta": "juta", "jtan": "juta", "jutaan": "juta"}
_LETTER_RUN = re.compile(r"([^\W\d_])\1{2,}")
_DOUBLE_LETTER = re.compile(r"([^\W\d_])\1")
_REDUPLICATION = re.compile(r"([^\W\d_]{3,})2")
_WORD_CACHE_LIMIT = 50_000


def _single_letter(run: re.Match[str]) -> str:
    # A run becomes one letter, except that "ngg" is the Indonesian spelling of /ŋg/ ("tungggu" -> "tunggu").
    letter = run.group(1)
    if letter == "g" and run.start() > 0 and run.string[run.start() - 1] == "n":
        return "gg"
    return letter


@dataclass(frozen=True)
class NormalizedToken:
    text: str
    # Character span in the original text; several tokens may share one span (multi-word expansions).
    start: int
    end: int
    # The segmenter's kind: word, abbreviation, number, money, ticket_code, nik, phone_number, url or email.
    kind: str = "word"


def _read_pairs(path: Path) -> dict[str, str]:
    pairs: dict[str, str] = {}
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            informal, _, formal = line.partition("\t")
            if line_number == 0 and (informal, formal) == ("informal", "formal"):
                continue
            informal, formal = informal.strip().lower(), " ".join(formal.lower().split())
            # First entry wins, as in the source lexicon; an empty mapping would delete a word, never wanted.
            if informal and formal and informal not in pairs:
                pairs[informal] = formal
    return pairs


def _read_terms(path: Path) -> frozenset[str]:
    with path.open(encoding="utf-8") as handle:
        return frozenset(
            line.strip().lower() for line in handle if line.strip() and not line.lstrip().startswith("#")
        )


def _words(values: Iterable[str]) -> set[str]:
    return {word for value in values for word in value.split()}


class TextNormalizer:
    """Informal Indonesian -> normalised words; construct once (it reads ~2,700 lexicon lines)."""

    def __init__(
        self,
        lexicon_path: Path = LEXICON_FILE,
        overrides_path: Path = OVERRIDES_FILE,
        domain_terms_path: Path = DOMAIN_TERMS_FILE,
    ) -> None:
        self.domain_terms = _read_terms(domain_terms_path)
        self._overrides = _read_pairs(overrides_path)
        self._lexicon = _read_pairs(lexicon_path)
        # Words we trust as written: targets of both lists, domain terms and standard double-letter words.
        self._known = (
            frozenset(_words(self._overrides.values()) | _words(self._lexicon.values()) | self.domain_terms)
            | LEGIT_DOUBLE_WORDS
        )
        self._cache: dict[str, str] = {}

    # Public API ---------------------------------------------------------------------------------------

    def normalize(self, text: str) -> str:
        """The normalised words of `text` joined by single spaces (punctuation and most emoji dropped)."""
        return " ".join(token.text for token in self.analyze(text))

    def normalize_token(self, token: str) -> str:
        """The normalisation of one token as typed; may hold several words ("gatau" -> "tidak tahu")."""
        return self.normalize(token)

    def is_domain_term(self, word: str) -> bool:
        return word.lower() in self.domain_terms

    def analyze(self, text: str) -> list[NormalizedToken]:
        """Normalised tokens of `text`, each with the span of the original characters it came from."""
        tokens: list[NormalizedToken] = []
        for piece in segment(text):
            tokens.extend(self._analyze_piece(piece))
        return tokens

    def normalize_word(self, word: str) -> str:
        """Steps 1-6 of the module docstring for one word (no splitting); may return several words."""
        folded = unicodedata.normalize("NFKC", word).lower().replace("’", "'")
        cached = self._cache.get(folded)
        if cached is not None:
            return cached
        result = self._normalize_folded(folded)
        if len(self._cache) >= _WORD_CACHE_LIMIT:
            # A flood of distinct words must not grow memory without bound; the hot words come back quickly.
            self._cache.clear()
        self._cache[folded] = result
        return result

    # Pieces -------------------------------------------------------------------------------------------

    def _analyze_piece(self, piece: Piece) -> list[NormalizedToken]:
        kind = piece.kind
        if kind == "ticket_code":
            return [NormalizedToken(canonical_ticket_code(piece.text), piece.start, piece.end, kind)]
        if kind == "nik":
            return [NormalizedToken(canonical_nik(piece.text), piece.start, piece.end, kind)]
        if kind == "phone_number":
            return [NormalizedToken(canonical_phone(piece.text), piece.start, piece.end, kind)]
        if kind in ("url", "email"):
            return [NormalizedToken(piece.text.lower(), piece.start, piece.end, kind)]
        if kind == "number":
            return [NormalizedToken(piece.text, piece.start, piece.end, kind)]
        if kind == "money":
            # "Rp50.000" -> "rp" + "50.000": the currency is a feature of its own (illegal levies).
            digits_at = next(i for i, char in enumerate(piece.text) if char.isdigit())
            return [
                NormalizedToken("rp", piece.start, piece.start + 2, kind),
                NormalizedToken(piece.text[digits_at:], piece.start + digits_at, piece.end, kind),
            ]
        if kind == "emoji":
            return self._expand(self.normalize_word(EMOJI_WORDS[piece.text[0]]), piece.start, piece.end, kind)
        if kind == "word" and ("-" in piece.text or "'" in piece.text or "’" in piece.text):
            return self._analyze_compound(piece)
        if kind == "word":
            split = self._split_attached_clitic(piece)
            if split is not None:
                return split
        return self._expand(self.normalize_word(piece.text), piece.start, piece.end, kind)

    def _analyze_compound(self, piece: Piece) -> list[NormalizedToken]:
        """Hyphenated or apostrophised words: "e-KTP", "BPJS-nya", "SIM-A", "anak-anak", "jum'at"."""
        whole = self.normalize_word(piece.text)
        folded = unicodedata.normalize("NFKC", piece.text).lower().replace("’", "'")
        if whole != folded or "-" not in folded:
            # A list knew the whole compound ("e-ktp" -> "ktp"), or it has apostrophes only ("jum'at").
            return self._expand(whole, piece.start, piece.end, piece.kind)
        parts = self._parts(piece)
        if len(parts) == 2 and parts[1].text.lower() in HYPHENATED_CLITICS:
            return self._expand(self.normalize_word(parts[0].text), parts[0].start, parts[0].end, "word") + [
                NormalizedToken(parts[1].text.lower(), parts[1].start, parts[1].end, "word")
            ]
        normalized = [self.normalize_word(part.text) for part in parts]
        if any(word in self.domain_terms for word in normalized) or any(" " in word for word in normalized):
            # "SIM-A", "KTP-KK": the domain term must stay a token of its own.
            tokens: list[NormalizedToken] = []
            for part, word in zip(parts, normalized, strict=True):
                tokens.extend(self._expand(word, part.start, part.end, "word"))
            return tokens
        # "anak-anak", "sehari-hari", "tolooong-tolooong": one token, each part normalised.
        return [NormalizedToken("-".join(normalized), piece.start, piece.end, piece.kind)]

    def _split_attached_clitic(self, piece: Piece) -> list[NormalizedToken] | None:
        """Splits "KTPnya" into ktp + nya, only after a domain term ("hilangnya" is left to the stemmer)."""
        folded = unicodedata.normalize("NFKC", piece.text).lower()
        if len(folded) != len(piece.text):
            return None  # NFKC changed the length: offsets inside the word would be wrong, keep it whole
        for clitic in ATTACHED_CLITICS:
            base = folded[: -len(clitic)]
            if folded.endswith(clitic) and len(base) >= 2:
                base_word = self.normalize_word(base)
                if base_word in self.domain_terms and self.normalize_word(folded) == folded:
                    cut = piece.start + len(base)
                    return [
                        NormalizedToken(base_word, piece.start, cut, "word"),
                        NormalizedToken(clitic, cut, piece.end, "word"),
                    ]
        return None

    @staticmethod
    def _parts(piece: Piece) -> list[Piece]:
        parts = []
        offset = 0
        for text in piece.text.split("-"):
            if text:
                parts.append(Piece(text, piece.start + offset, piece.start + offset + len(text), "word"))
            offset += len(text) + 1
        return parts

    @staticmethod
    def _expand(words: str, start: int, end: int, kind: str) -> list[NormalizedToken]:
        return [NormalizedToken(word, start, end, kind) for word in words.split()]

    # Words --------------------------------------------------------------------------------------------

    def _lookup(self, word: str) -> str | None:
        if word in self.domain_terms:
            return word
        found = self._overrides.get(word)
        if found is None:
            found = self._lexicon.get(word)
        return found

    def _normalize_folded(self, word: str) -> str:
        amount = _MONEY_SHORTHAND.fullmatch(word)
        if amount:
            return f"{amount.group(1)} {_MONEY_UNITS.get(amount.group(2), 'ribu')}"
        found = self._lookup(word)
        if found is not None:
            return found
        if word.endswith("."):
            # "Jl." reaches here when "jl." itself is not listed: the full stop carries no meaning.
            word = word.rstrip(".")
            found = self._lookup(word)
            if found is not None:
                return found
        if not word or word in self._known:
            return word
        if _LETTER_RUN.search(word):
            return self._squeeze(word)
        if _DOUBLE_LETTER.search(word):
            single = _DOUBLE_LETTER.sub(r"\1", word)
            found = self._lookup(single)
            if found is not None:
                return found
            if single in self._known:
                return single
        reduplicated = _REDUPLICATION.fullmatch(word)
        if reduplicated:
            base = self._normalize_folded(reduplicated.group(1))
            # "ktp2" is as likely "KTP 2" as "KTP-KTP": leave numbered domain terms alone.
            if " " not in base and base not in self.domain_terms:
                return f"{base}-{base}"
        return word

    def _squeeze(self, word: str) -> str:
        if _LETTER_RUN.fullmatch(word):
            # One key held down ("aaaaaa", "ppppp") is a cry or a ping, never the two-letter abbreviation its
            # double would spell ("aa" = kakak, "pp" = pulang-pergi); the lexicon's own runs ("kkk") still count.
            return self._lookup(word[0] * 3) or word[0]
        doubled = _LETTER_RUN.sub(r"\1\1", word)
        single = _LETTER_RUN.sub(_single_letter, word)
        for candidate in (doubled, single):
            found = self._lookup(candidate)
            if found is not None:
                return found
            if candidate in self._known:
                return candidate
        return single
