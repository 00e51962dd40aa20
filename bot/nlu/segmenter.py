"""Splits a message into pieces (words, codes, numbers, URLs) with their character offsets in the original text.

One regular-expression alternation, tried left to right at each position, so that values which must stay
whole (a tracking code, an NIK, a phone number written with spaces, a URL) win over the plain word rule.
Punctuation, symbols and most emoji belong to no piece and are skipped; the few emoji that citizens send as a
yes or a no (👍, ❌, ...) are pieces of their own, which the normaliser reads as words. Pure Python,
deterministic, linear in the length of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.nlu.patterns import EMAIL, NIK, PHONE_NUMBER, TICKET_CODE, URL

# Abbreviations that are written with a full stop; the stop joins the piece ("Jl." -> one piece) so that the
# normaliser can tell "no." (nomor) from "no" and "dr." (dokter) from "dr" (dari).
DOTTED_ABBREVIATIONS = tuple(
    "jln jl gg kel kec kab prov ds dsn no nmr tgl bpk sdr sdri dll dsb dst dr kp rt rw".split()
)

_ABBREVIATION = r"\b(?:" + "|".join(DOTTED_ABBREVIATIONS) + r")\."
# 50.000 · 3,5 · 08.00 · 08:30 · 12/03/2024
_NUMBER = r"\d+(?:[.,:/]\d+)+"
# Rp50.000 · Rp 50.000 · Rp. 50.000,00 (the pungli complaints quote amounts)
_MONEY = r"\bRp\.?\s?\d+(?:[.,]\d+)*"
# HTML tags pasted from web pages or sent by web chat: skipped like punctuation.
_MARKUP = r"</?[A-Za-z][^<>]{0,200}>"
# Letters and digits, joined by inner hyphens or apostrophes: "e-KTP", "BPJS-nya", "anak-anak", "jum'at".
_WORD = r"[^\W_]+(?:['’-][^\W_]+)*"

# Emoji sent alone as an answer to a yes/no question: the normaliser reads them as these words. Emoji whose
# meaning depends on the sentence (🙏 is "please" as often as "thanks", 👋 is hello or bye) stay skipped.
EMOJI_WORDS = {
    "👍": "iya",
    "👌": "iya",
    "✅": "iya",
    "☑": "iya",
    "✔": "iya",
    "🆗": "oke",
    "👎": "tidak",
    "❌": "tidak",
    "✖": "tidak",
    "🙅": "tidak",
}
# The emoji itself, then any skin-tone modifier or variation selector that belongs to it.
_EMOJI = "[" + "".join(EMOJI_WORDS) + "][\U0001f3fb-\U0001f3ff\ufe0f]*"

_PIECE = re.compile(
    rf"(?P<url>{URL})"
    rf"|(?P<email>{EMAIL})"
    rf"|(?P<ticket_code>{TICKET_CODE})"
    rf"|(?P<phone_number>{PHONE_NUMBER})"
    rf"|(?P<nik>{NIK})"
    rf"|(?P<markup>{_MARKUP})"
    rf"|(?P<money>{_MONEY})"
    rf"|(?P<number>{_NUMBER})"
    rf"|(?P<abbreviation>{_ABBREVIATION})"
    rf"|(?P<word>{_WORD})"
    rf"|(?P<emoji>{_EMOJI})",
    re.IGNORECASE,
)
_URL_TRAILING_PUNCTUATION = ".,;:!?)]}\"'"


@dataclass(frozen=True)
class Piece:
    text: str
    start: int
    end: int
    # url, email, ticket_code, phone_number, nik, money, number, abbreviation, word or emoji
    kind: str


def segment(text: str) -> list[Piece]:
    pieces = []
    for match in _PIECE.finditer(text):
        kind = match.lastgroup or "word"
        if kind == "markup":
            continue
        start, end = match.span()
        if kind == "url":
            # A URL at the end of a sentence should not swallow the full stop or a closing bracket.
            while end > start and text[end - 1] in _URL_TRAILING_PUNCTUATION:
                end -= 1
        pieces.append(Piece(text[start:end], start, end, kind))
    return pieces
