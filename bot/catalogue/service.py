"""Answering one citizen question from the catalogue: who is meant, what is asked, the composed reply.

`CatalogueAnswerer` keeps the parsed catalogue and its match index in memory and rebuilds them when the
stored revision moves (checked at most every `refresh_seconds`), so a dashboard edit or an import is live
within seconds with nothing to retrain. Questions it cannot answer are recorded, grouped, for the admins:
an agency name it does not know, or a fact an agency lacks.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.catalogue.answers import (
    OFFICER_BUTTON,
    Composed,
    compose_contact,
    compose_location,
    compose_queue,
    compose_service,
    compose_time,
    missing_text,
    service_sources,
    source_text,
)
from bot.catalogue.aspects import SERVICE_ASPECTS, TIME_ASPECTS, Aspect, detect_aspects
from bot.catalogue.matching import GENERIC_WORDS, CatalogueIndex, Match, ServiceMatch, ambiguous
from bot.catalogue.models import CatalogueMiss
from bot.catalogue.schema import Agency, Catalogue, Service
from bot.catalogue.store import current_revision, load_catalogue
from bot.catalogue.text import normalize
from bot.db import Database, utcnow
from bot.privacy import mask_personal_data

logger = logging.getLogger(__name__)

OFFICE_ASPECTS = TIME_ASPECTS | {Aspect.LOCATION, Aspect.CONTACT}
# "di kantor X", "dinas X", "badan X": a place the citizen names, recorded when no agency matched.
_PLACE = re.compile(r"\b(?:di|ke|kantor|dinas|badan|instansi)\s+((?:[a-z0-9]+\s?){1,3})")
COMPLAINT_WORDS = frozenset(
    "lapor melapor laporan laporkan adu mengadu mengadukan pengaduan aduan komplain keluhan pungli "
    "dipungut calo".split()
)
# Question and politeness words: a message made only of these (and the office's name) asks about the office.
FILLER_WORDS = frozenset(
    "jam buka tutup berapa brp brapa hari apa aja saja ini itu ya yah min kak pak bu bapak ibu mas mbak "
    "kantor sekarang skrg skrang saat di ke mana dimana dmn lokasi lokasinya alamat alamatnya letak letaknya "
    "sabtu minggu senin selasa rabu kamis jumat libur tanggal merah ga gak nggak enggak tidak kah yang kapan "
    "mau tanya boleh lagi masih sudah udah udh bukanya tutupnya pukul sampai sampe layanan pelayanan "
    "operasional kerja nomor telepon telp kontak wa hp halo hai permisi maaf tolong info dong sih nya "
    "buka-tutup mulai hingga biasanya biasa setiap tiap weekend akhir pekan hr".split()
)
_STOP_AFTER_PLACE = {
    "jam",
    "buka",
    "tutup",
    "hari",
    "apa",
    "berapa",
    "brp",
    "syarat",
    "biaya",
    "kapan",
    "itu",
    "mana",
}


class Outcome(StrEnum):
    ANSWERED = "answered"
    AMBIGUOUS = "ambiguous"  # several agencies or services fit: buttons to choose
    MISSING = "missing"  # the agency is known, the fact is not in the catalogue
    NO_MATCH = "no_match"  # nothing in the catalogue fits: let the national FAQ or the fallback answer


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[dict[str, str], ...] = ()

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"text": self.text}
        if self.buttons:
            body["buttons"] = [dict(button) for button in self.buttons]
        return body


@dataclass
class Answer:
    outcome: Outcome
    agency_id: str | None = None
    service_id: str | None = None
    aspects: list[Aspect] = field(default_factory=list)
    missing: list[Aspect] = field(default_factory=list)
    messages: list[Reply] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)


def choice_payload(agency_id: str, service_id: str | None, aspects: Sequence[Aspect]) -> str:
    """A button that asks again with the choice made: read by the `ask_office` intent's entities."""
    entities: dict[str, str] = {"agency": agency_id}
    if service_id:
        entities["service"] = service_id
    if aspects:
        entities["aspect"] = ",".join(aspect.value for aspect in aspects)
    return f"/ask_office{json.dumps(entities, separators=(',', ':'))}"


def _drop_inside_services(matches: list[Match], services: list[ServiceMatch]) -> list[Match]:
    """An agency alias inside a longer service phrase of another agency ("pajak" in "bayar pajak motor")."""
    if not services:
        return matches
    top = services[0]
    return [
        match
        for match in matches
        if match.id == top.agency_id or not (match.span in top.span and len(top.span) > len(match.span))
    ]


def resolve(
    catalogue: Catalogue,
    index: CatalogueIndex,
    text: str,
    now: datetime,
    agency_id: str | None = None,
    service_id: str | None = None,
    aspects: Sequence[Aspect] | None = None,
    holiday_categories: tuple[str, ...] = ("public",),
) -> Answer:
    """The answer to `text` (or to an explicit agency/service/aspects choice from a button); holidays are
    those of `holiday_categories` in the `holidays` library, as for the SLA (SLA_HOLIDAY_CATEGORIES)."""
    normalized = normalize(text)
    tokens = normalized.split()
    if agency_id is None and COMPLAINT_WORDS.intersection(tokens):
        # "cara lapor pungli di dukcapil": a complaint question, for the complaint flow and its FAQ topics.
        return Answer(Outcome.NO_MATCH)
    asked = list(aspects) if aspects else detect_aspects(normalized)
    agency = catalogue.agency(agency_id) if agency_id else None
    service: Service | None = None
    if agency is None:
        matches = index.match_agencies(tokens)
        services = index.match_services(tokens, None)
        matches = _drop_inside_services(matches, services)
        tied = ambiguous(matches)
        if tied:
            return _choose_agency(catalogue, [m.id for m in tied], asked)
        prefix = index.prefix_candidates(tokens) if not matches else []
        if prefix and services and len(services[0].span.split()) > 1:
            prefix = []  # "bayar pajak motor": a service phrase says more than the word "pajak"
        if matches and not asked and matches[0].score < 100.0:
            # A near-miss spelling and no question about it: more likely an everyday word than an agency.
            return Answer(Outcome.NO_MATCH)
        if matches:
            agency = catalogue.agency(matches[0].id)
        elif prefix and asked:
            return _choose_agency(catalogue, prefix, asked)
        elif services and asked:
            owners = [s for s in services if services[0].score - s.score <= 4.0]
            if len({s.agency_id for s in owners}) > 1:
                return _choose_service(catalogue, owners, asked)
            agency = catalogue.agency(services[0].agency_id)
            service = _service(agency, services[0].service_id)
        elif asked and set(asked) <= OFFICE_ASPECTS and _about_office(normalized, catalogue):
            return _compose(catalogue, None, None, asked, now, holiday_categories)
        else:
            return Answer(Outcome.NO_MATCH, aspects=asked)
    assert agency is not None
    if service is None and service_id:
        service = _service(agency, service_id)
    if service is None and agency.services:
        found = index.match_services(tokens, agency.id)
        if found:
            service = _service(agency, found[0].service_id)
    if not asked:
        asked = [Aspect.REQUIREMENTS, Aspect.FEE] if service is not None else [Aspect.HOURS, Aspect.LOCATION]
    if service is None and any(a in SERVICE_ASPECTS for a in asked) and len(agency.services) > 1:
        return _choose_service_of(agency, asked)
    if service is None and len(agency.services) == 1 and any(a in SERVICE_ASPECTS for a in asked):
        service = agency.services[0]
    return _compose(catalogue, agency, service, asked, now, holiday_categories)


def _about_office(normalized: str, catalogue: Catalogue) -> bool:
    """A question without an agency is the office's when it names the office, or names nothing at all
    ("jam buka berapa?"); "jasa raharja dimana" names something the catalogue does not know."""
    office_words = set(normalize(catalogue.office.name).split()) | {"mpp"}
    if any(word in normalized for word in ("mpp", "mal pelayanan", "kantor ini")):
        return True
    return all(word in FILLER_WORDS or word in office_words for word in normalized.split())


def _service(agency: Agency | None, service_id: str) -> Service | None:
    if agency is None:
        return None
    return next((s for s in agency.services if s.id == service_id), None)


def _choose_agency(catalogue: Catalogue, agency_ids: Sequence[str], asked: Sequence[Aspect]) -> Answer:
    buttons = []
    for agency_id in agency_ids:
        agency = catalogue.agency(agency_id)
        if agency is not None:
            buttons.append({"title": agency.name[:60], "payload": choice_payload(agency.id, None, asked)})
    text = "Maksud Bapak/Ibu instansi yang mana? Silakan pilih:"
    return Answer(
        Outcome.AMBIGUOUS,
        aspects=list(asked),
        candidates=list(agency_ids),
        messages=[Reply(text, tuple(buttons))],
    )


def _choose_service(catalogue: Catalogue, options: Sequence[ServiceMatch], asked: Sequence[Aspect]) -> Answer:
    buttons = []
    for option in options[:4]:
        agency = catalogue.agency(option.agency_id)
        service = _service(agency, option.service_id)
        if agency is not None and service is not None:
            title = f"{service.name} ({agency.aliases[0] if agency.aliases else agency.name})"
            buttons.append({"title": title[:60], "payload": choice_payload(agency.id, service.id, asked)})
    text = "Layanan ini ada di beberapa instansi. Maksud Bapak/Ibu yang mana?"
    return Answer(
        Outcome.AMBIGUOUS,
        aspects=list(asked),
        candidates=[f"{o.agency_id}/{o.service_id}" for o in options[:4]],
        messages=[Reply(text, tuple(buttons))],
    )


def _choose_service_of(agency: Agency, asked: Sequence[Aspect]) -> Answer:
    buttons = tuple(
        {"title": service.name[:60], "payload": choice_payload(agency.id, service.id, asked)}
        for service in agency.services[:10]
    )
    text = f"Layanan {agency.name} yang mana yang Bapak/Ibu maksud?"
    return Answer(
        Outcome.AMBIGUOUS,
        agency_id=agency.id,
        aspects=list(asked),
        candidates=[f"{agency.id}/{s.id}" for s in agency.services[:10]],
        messages=[Reply(text, buttons)],
    )


def _compose(
    catalogue: Catalogue,
    agency: Agency | None,
    service: Service | None,
    asked: Sequence[Aspect],
    now: datetime,
    holiday_categories: tuple[str, ...] = ("public",),
) -> Answer:
    out = Composed()
    time_done = False
    for aspect in dict.fromkeys(asked):
        if aspect in TIME_ASPECTS:
            if not time_done:
                compose_time(catalogue, agency, aspect, now, out, holiday_categories)
                time_done = True
        elif aspect is Aspect.LOCATION:
            compose_location(catalogue, agency, out)
        elif aspect is Aspect.CONTACT:
            compose_contact(catalogue, agency, out)
        elif aspect is Aspect.QUEUE:
            compose_queue(agency, out)
        elif agency is not None and service is not None:
            compose_service(agency, service, aspect, out)
        else:
            out.missing.append(aspect)
    messages = [Reply(line) for line in out.lines]
    sources = _sources(agency, service, asked, bool(out.lines))
    if sources and messages:
        messages[-1] = Reply(f"{messages[-1].text}\n{sources}")
    if out.missing:
        messages.append(Reply(missing_text(catalogue, agency, service, out.missing), (OFFICER_BUTTON,)))
    outcome = Outcome.ANSWERED if out.lines else Outcome.MISSING
    return Answer(
        outcome,
        agency_id=agency.id if agency else None,
        service_id=service.id if service else None,
        aspects=list(asked),
        missing=list(out.missing),
        messages=messages,
    )


def _sources(agency: Agency | None, service: Service | None, asked: Sequence[Aspect], answered: bool) -> str:
    if not answered:
        return ""
    if service is not None and any(a in SERVICE_ASPECTS for a in asked):
        return service_sources(service)
    if agency is not None:
        return source_text(agency.source, agency.as_of)
    return ""


# --- the service object ----------------------------------------------------------------------------------


@dataclass
class _Loaded:
    revision: int
    catalogue: Catalogue | None
    index: CatalogueIndex | None
    checked_at: float


class CatalogueAnswerer:
    """Answers from the stored catalogue; rebuilds its index when the revision moves."""

    def __init__(
        self,
        database: Database,
        refresh_seconds: float = 2.0,
        holiday_categories: Sequence[str] = ("public",),
    ) -> None:
        self.database = database
        self.refresh_seconds = refresh_seconds
        self.holiday_categories = tuple(holiday_categories)
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._loaded = None

    def current(self) -> tuple[Catalogue | None, CatalogueIndex | None]:
        loaded = self._loaded
        now = time.monotonic()
        if loaded is not None and now - loaded.checked_at < self.refresh_seconds:
            return loaded.catalogue, loaded.index
        with self._lock:
            with self.database.session() as session:
                revision = current_revision(session)
                if self._loaded is not None and self._loaded.revision == revision:
                    self._loaded.checked_at = now
                    return self._loaded.catalogue, self._loaded.index
                catalogue = load_catalogue(session)
            index = CatalogueIndex(catalogue) if catalogue is not None else None
            self._loaded = _Loaded(revision, catalogue, index, now)
            return catalogue, index

    def answer(
        self,
        text: str,
        now: datetime | None = None,
        agency_id: str | None = None,
        service_id: str | None = None,
        aspects: Sequence[Aspect] | None = None,
        record: bool = True,
    ) -> Answer:
        catalogue, index = self.current()
        if catalogue is None or index is None:
            return Answer(Outcome.NO_MATCH)
        answer = resolve(
            catalogue, index, text, now or utcnow(), agency_id, service_id, aspects, self.holiday_categories
        )
        if record:
            self._record(answer, text)
        return answer

    def _record(self, answer: Answer, text: str) -> None:
        try:
            self._record_misses(answer, text)
        except SQLAlchemyError as error:  # two replicas recording the same new miss at once: keep answering
            logger.warning("catalogue miss not recorded: %s", type(error).__name__)

    def _record_misses(self, answer: Answer, text: str) -> None:
        misses: list[tuple[str, str, str | None, str | None]] = []
        if answer.outcome in (Outcome.MISSING, Outcome.ANSWERED) and answer.agency_id and answer.missing:
            for aspect in answer.missing:
                subject = f"{answer.agency_id}/{answer.service_id}" if answer.service_id else answer.agency_id
                misses.append(("missing_fact", f"{subject}:{aspect.value}", answer.agency_id, aspect.value))
        elif answer.outcome is Outcome.NO_MATCH and answer.aspects:
            place = unknown_place(normalize(text))
            if place:
                misses.append(("unknown_agency", place, None, None))
        if misses:
            record_misses(self.database, misses, text)


def unknown_place(normalized: str) -> str | None:
    """The name a question uses that the catalogue does not know: after "di/kantor/dinas ...", else its
    words that are not question words ("jasa raharja dimana" -> "jasa raharja"); None when there is none."""
    match = _PLACE.search(normalized)
    candidates = match.group(1).split() if match else normalized.split()
    words = []
    for word in candidates:
        if match and word in _STOP_AFTER_PLACE:
            break
        if word not in GENERIC_WORDS and word not in FILLER_WORDS:
            words.append(word)
    return " ".join(words[:4]) or None


def record_misses(
    database: Database, misses: Sequence[tuple[str, str, str | None, str | None]], text: str
) -> None:
    example = mask_personal_data(text)[:300]
    now = utcnow()
    with database.session() as session:
        for kind, key, agency_id, aspect in misses:
            row = session.scalar(
                select(CatalogueMiss).where(CatalogueMiss.kind == kind, CatalogueMiss.key == key[:200])
            )
            if row is None:
                session.add(
                    CatalogueMiss(
                        kind=kind,
                        key=key[:200],
                        agency_id=agency_id,
                        aspect=aspect,
                        example=example,
                        count=1,
                        first_seen=now,
                        last_seen=now,
                    )
                )
            else:
                row.count += 1
                row.example = example
                row.last_seen = now
                row.resolved_at = None


def open_misses(session: Session, limit: int = 200) -> list[CatalogueMiss]:
    query = (
        select(CatalogueMiss)
        .where(CatalogueMiss.resolved_at.is_(None))
        .order_by(CatalogueMiss.kind, CatalogueMiss.count.desc(), CatalogueMiss.last_seen.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
