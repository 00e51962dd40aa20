"""Which agency or service a citizen means, at run time, from names, aliases, abbreviations and typos.

Every agency is known by its id, its name, its aliases and the initials of its name ("Dinas Penanaman Modal
dan Pelayanan Terpadu Satu Pintu" -> "dpmptsp"); every service by its name and aliases. The message's word
n-grams (up to the longest key) are compared with those keys by rapidfuzz's normalised similarity: short keys (≤ 5
characters: "pn", "kua", "pos") must match exactly, longer ones tolerate about one typo in six characters.
Close scores for different agencies, or a word that starts the keys of several agencies ("bpjs" for BPJS
Kesehatan and BPJS Ketenagakerjaan), make the answer ambiguous: the candidates are returned for buttons.
Nothing here is trained: a catalogue change is matched as soon as the index is rebuilt.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.catalogue.hours import warm_holidays
from bot.catalogue.schema import Agency, Catalogue, Service
from bot.catalogue.text import normalize

MAX_NGRAM = 4
MAX_KEY_WORDS = 10
# "... kabupaten tirtamaya": citizens leave the region out of a name.
_REGION = re.compile(r"\s+(?:kabupaten|kab|kota|provinsi|kecamatan)\s+.*$")
# Words that name no agency by themselves; never keys, never the start of an ambiguous prefix.
GENERIC_WORDS = frozenset(
    "dinas kantor badan kabupaten kab kota mal pelayanan publik dan layanan daerah unit bagian loket "
    "perwakilan cabang kelas pemerintah pemkab pemkot di ke yang untuk umum satu".split()
)
AMBIGUITY_MARGIN = 4.0
MAX_CANDIDATES = 4


def min_score(key: str) -> float:
    """Least similarity (0-100) for a key of this length: exact up to 5 characters, ~1 edit per 6 after."""
    # Five letters are exact too: one typo away are everyday words ("depan" for "depag").
    return 100.0 if len(key) <= 5 else 82.0


def _core(text: str) -> str:
    return " ".join(word for word in text.split() if word not in GENERIC_WORDS)


def _core_matches(gram: str, key: str, score: float) -> bool:
    """A fuzzy match must hold without the generic words: "kantor jasa" is not "kantor samsat"."""
    if score >= 100.0:
        return True
    core_gram, core_key = _core(gram), _core(key)
    if not core_gram or not core_key:
        return False
    return fuzz.ratio(core_gram, core_key) >= min_score(core_key)


def initials(name: str) -> str:
    return "".join(
        word[0] for word in normalize(name).split() if word not in {"dan", "serta", "kabupaten", "kota"}
    )


@dataclass(frozen=True)
class Match:
    id: str
    score: float
    key: str  # the catalogue key that matched
    span: str  # the words of the message that matched it


@dataclass(frozen=True)
class ServiceMatch:
    agency_id: str
    service_id: str
    score: float
    span: str


def ngrams(tokens: list[str], longest: int = MAX_NGRAM) -> list[str]:
    grams: list[str] = []
    for size in range(min(longest, len(tokens)), 0, -1):
        grams.extend(" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1))
    return grams


class CatalogueIndex:
    """Keys of one catalogue, ready for matching (rebuilt when the catalogue changes)."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.agency_keys: dict[str, set[str]] = defaultdict(set)  # key -> agency ids
        self.service_keys: dict[str, set[tuple[str, str]]] = defaultdict(set)  # key -> (agency, service)
        self.prefixes: dict[str, set[str]] = defaultdict(set)  # first word of a key -> agency ids
        for agency in catalogue.agencies:
            self._add_agency(agency)
            for service in agency.services:
                self._add_service(agency, service)
        self._agency_choices = list(self.agency_keys)
        self.longest = min(MAX_KEY_WORDS, max((len(key.split()) for key in self.agency_keys), default=1))
        self._service_choices = list(self.service_keys)
        warm_holidays(catalogue.office.timezone)

    def _add_agency(self, agency: Agency) -> None:
        name = normalize(agency.name)
        keys = {
            normalize(agency.id.replace("_", " ")),
            name,
            _REGION.sub("", name),
            *map(normalize, agency.aliases),
        }
        abbreviation = initials(_REGION.sub("", name))
        if len(abbreviation) >= 4:
            keys.add(abbreviation)
        for key in keys:
            if key and key not in GENERIC_WORDS:
                self.agency_keys[key].add(agency.id)
                first = key.split()[0]
                if first not in GENERIC_WORDS and len(key.split()) > 1:
                    self.prefixes[first].add(agency.id)

    def _add_service(self, agency: Agency, service: Service) -> None:
        for key in {normalize(service.name), *map(normalize, service.aliases)}:
            if key and key not in GENERIC_WORDS:
                self.service_keys[key].add((agency.id, service.id))

    def match_agencies(self, tokens: list[str]) -> list[Match]:
        """Best match per agency, best first (empty when nothing is close enough)."""
        best: dict[str, Match] = {}
        for gram in ngrams(tokens, self.longest):
            if gram in GENERIC_WORDS:
                continue
            for key, score, _ in process.extract(
                gram, self._agency_choices, scorer=fuzz.ratio, score_cutoff=80.0, limit=5
            ):
                if score < min_score(key) or score < min_score(gram) or not _core_matches(gram, key, score):
                    continue
                # A longer exact phrase beats a shorter one ("pn slawi" over "pn"); ties keep the first.
                weighted = score + min(len(key), 20) / 10.0
                for agency_id in self.agency_keys[key]:
                    if agency_id not in best or weighted > best[agency_id].score:
                        best[agency_id] = Match(agency_id, weighted, key, gram)
        return sorted(best.values(), key=lambda match: -match.score)

    def prefix_candidates(self, tokens: Iterable[str]) -> list[str]:
        """Agencies whose keys start with a word of the message that no key equals ("bpjs")."""
        for token in tokens:
            owners = self.prefixes.get(token, set())
            if len(owners) > 1 and token not in self.agency_keys:
                return sorted(owners)
        return []

    def match_services(self, tokens: list[str], agency_id: str | None) -> list[ServiceMatch]:
        best: dict[tuple[str, str], ServiceMatch] = {}
        for gram in ngrams(tokens, longest=6):
            if gram in GENERIC_WORDS:
                continue
            for key, score, _ in process.extract(
                gram, self._service_choices, scorer=fuzz.ratio, score_cutoff=80.0, limit=8
            ):
                if score < min_score(key) or score < min_score(gram) or not _core_matches(gram, key, score):
                    continue
                weighted = score + min(len(key), 30) / 10.0
                for owner in self.service_keys[key]:
                    if agency_id is not None and owner[0] != agency_id:
                        continue
                    if owner not in best or weighted > best[owner].score:
                        best[owner] = ServiceMatch(owner[0], owner[1], weighted, gram)
        return sorted(best.values(), key=lambda match: -match.score)


def ambiguous(matches: list[Match]) -> list[Match]:
    """The matches tied with the best one (two or more: ask), else []."""
    if len(matches) < 2:
        return []
    top = matches[0].score
    tied = [match for match in matches if top - match.score <= AMBIGUITY_MARGIN]
    # One exact, longer phrase is not ambiguous with a fuzzy, shorter one.
    return tied[:MAX_CANDIDATES] if len(tied) > 1 else []
