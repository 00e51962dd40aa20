"""Removes the artefacts of copied or scraped complaints before normalisation.

Complaints arrive pasted from social media and news feeds: URLs, @mentions, hashtags (#lapor,
#JalanRusak), a trailing "Selengkapnya" or "... more", emoji, phone numbers and NIKs, and "!!!!". None of
that says what the complaint is about, and all of it adds noise to n-gram features, so it is dropped or
reduced here. Letter squeezing and slang are the normaliser's job (`bot.nlu.normalizer`), not this module's.
"""

from __future__ import annotations

import re
import unicodedata

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_URL = re.compile(
    r"(?:https?://|www\.)\S+" r"|\b[\w-]+(?:\.[\w-]+)*\.(?:com|id|net|org|ly|io|me|info|gl)(?:/\S*)?",
    re.IGNORECASE,
)
_MENTION = re.compile(r"(?<![\w.])@\w+")
_HASHTAG = re.compile(r"#(\w+)")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
# "Selengkapnya", "Baca selengkapnya", "…lihat selengkapnya", "... more", "See more", "Read more".
_TRUNCATION = re.compile(
    r"(?:\.{2,}|…)?\s*\b(?:(?:baca|lihat|klik)\s+)?selengkapnya\b"
    r"|(?:\.{2,}|…)\s*(?:see\s+|read\s+|show\s+)?more\b"
    r"|\b(?:see|read|show)\s+more\b",
    re.IGNORECASE,
)
# Phone numbers and NIKs (8+ digits, maybe with spaces, dots or dashes); short numbers such as RT 03 stay.
_LONG_NUMBER = re.compile(r"\+?\d(?:[\s.-]?\d){7,}")
_REPEATED_PUNCTUATION = re.compile(r"([!?.,;:])[!?.,;:]+")
_WHITESPACE = re.compile(r"\s+")
# Unicode categories dropped: symbols such as emoji (So, Sk), format characters such as the zero-width joiner
# (Cf), combining marks such as the emoji variation selector (Mn), and private-use or unpaired code points.
_DROPPED_CATEGORIES = frozenset({"So", "Sk", "Cf", "Mn", "Co", "Cs", "Cn"})


def _split_hashtag(match: re.Match[str]) -> str:
    # "#JalanRusak" carries two words; "#lapor" is just the word.
    return " " + _CAMEL_BOUNDARY.sub(" ", match.group(1)).replace("_", " ") + " "


def _drop_symbols(text: str) -> str:
    return "".join(" " if unicodedata.category(ch) in _DROPPED_CATEGORIES else ch for ch in text)


def clean_text(text: str) -> str:
    """Returns `text` without platform artefacts; case and wording are kept for the normaliser."""
    # NFKC folds the "fancy font" letters of social media (𝗝𝗮𝗹𝗮𝗻) and full-width forms into plain ones.
    text = unicodedata.normalize("NFKC", text)
    text = _EMAIL.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    text = _HASHTAG.sub(_split_hashtag, text)
    text = _TRUNCATION.sub(" ", text)
    text = _LONG_NUMBER.sub(" ", text)
    text = _drop_symbols(text)
    text = _REPEATED_PUNCTUATION.sub(r"\1", text)
    return _WHITESPACE.sub(" ", text).strip()
