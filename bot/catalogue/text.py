"""Text normalisation shared by the catalogue's matching and validation (lower case, words only)."""

from __future__ import annotations

import re

_NON_WORD = re.compile(r"[^0-9a-z]+")


def normalize(text: str) -> str:
    """'Disdukcapil (Kab. Contoh)' -> 'disdukcapil kab contoh'; 'KTP-el' -> 'ktp el'."""
    return _NON_WORD.sub(" ", text.lower()).strip()


def words(text: str) -> list[str]:
    return normalize(text).split()
