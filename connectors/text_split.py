"""Long bot messages cut into pieces a messaging platform accepts (Telegram and WhatsApp count UTF-16 units).

A cut falls between paragraphs, else after a sentence, else between words, and only a single word longer
than the limit (a pasted link) is cut anywhere. Among cuts of the same kind the latest one in the second half
of the piece is taken, so that no piece is needlessly short. Whitespace at the cuts is dropped.
"""

from __future__ import annotations

import re

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"[.!?…](?=\s)")
_WHITESPACE = re.compile(r"\s")
# Each kind of boundary with the offset of the cut from the match (after the full stop of a sentence).
_BOUNDARIES = ((_PARAGRAPH_BREAK, 0), (_SENTENCE_END, 1), (_WHITESPACE, 0))


def utf16_units(text: str) -> int:
    """Length as the platforms count it: UTF-16 code units (an emoji counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def prefix_length(text: str, limit: int) -> int:
    """The most characters from the start of `text` that fit in `limit` units."""
    total = 0
    for index, char in enumerate(text):
        total += utf16_units(char)
        if total > limit:
            return index
    return len(text)


def split_text(text: str, limit: int, last_limit: int | None = None) -> list[str]:
    """Pieces of at most `limit` units, the last one at most `last_limit` (an interactive message's body
    after plain text pieces); a blank text gives no pieces."""
    text = text.strip()
    pieces: list[str] = []
    while text:
        if utf16_units(text) <= limit:
            pieces.append(text)
            break
        cut = _cut_before(text, prefix_length(text, limit))
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if last_limit is not None and pieces and utf16_units(pieces[-1]) > last_limit:
        last = pieces.pop()
        cut = _cut_after(last, len(last) - prefix_length(last[::-1], last_limit))
        pieces += [last[:cut].rstrip(), last[cut:].lstrip()]
    return [piece for piece in pieces if piece]


def _boundaries(text: str, low: int, high: int) -> list[list[int]]:
    """Cut positions in [low, high], per kind of boundary (paragraph, sentence, word)."""
    return [
        [m.start() + offset for m in pattern.finditer(text) if low <= m.start() + offset <= high]
        for pattern, offset in _BOUNDARIES
    ]


def _cut_before(text: str, end: int) -> int:
    """Where to cut so the first piece ends at or before `end`: the last boundary of the best kind, one in
    the second half of the piece first."""
    for low in (end // 2, 1):
        for positions in _boundaries(text, max(low, 1), end):
            if positions:
                return positions[-1]
    return max(end, 1)


def _cut_after(text: str, start: int) -> int:
    """Where to cut so the last piece starts at or after `start`: the first boundary of the best kind, one in
    the first half of the last piece first."""
    for high in ((start + len(text)) // 2, len(text)):
        for positions in _boundaries(text, start, high):
            if positions:
                return positions[0]
    return start
