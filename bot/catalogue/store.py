"""The catalogue in the database: atomic import, export to the YAML format, reading, audited edits.

An import replaces the whole catalogue in one transaction (all or nothing); every change bumps the office
row's `revision` and writes `catalogue_changes` rows (who, when, what, before and after).
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from typing import Any

import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.catalogue.models import CatalogueAgency, CatalogueChange, CatalogueOffice
from bot.catalogue.schema import (
    FORMAT_VERSION,
    Agency,
    Catalogue,
    CatalogueError,
    Issue,
    Office,
    Service,
    validate,
)
from bot.db import utcnow

OFFICE_ROW = 1
_DERIVED = {"schedule", "services"}


def _value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return {str(k): list(v) if isinstance(v, tuple | list) else v for k, v in value.items()}
    return value


def _document(item: Office | Agency | Service) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for spec in fields(item):
        if spec.name in _DERIVED:
            continue
        value = getattr(item, spec.name)
        if value is None or value == () or (spec.name == "open_on_holidays" and value is False):
            continue
        if spec.name == "timezone" and value == "Asia/Jakarta":
            continue
        document[spec.name] = _value(value)
    return document


def agency_document(agency: Agency) -> dict[str, Any]:
    document = _document(agency)
    if agency.services:
        document["services"] = [_document(service) for service in agency.services]
    return document


def catalogue_document(catalogue: Catalogue) -> dict[str, Any]:
    return {
        "version": FORMAT_VERSION,
        "office": _document(catalogue.office),
        "agencies": [agency_document(agency) for agency in catalogue.agencies],
    }


def import_catalogue(session: Session, catalogue: Catalogue, actor: str) -> int:
    """Replace the stored catalogue with `catalogue` (in the caller's transaction); the new revision."""
    office = session.get(CatalogueOffice, OFFICE_ROW)
    now = utcnow()
    if office is None:
        office = CatalogueOffice(id=OFFICE_ROW, document={}, revision=0, updated_at=now)
        session.add(office)
    before = {row.id for row in session.scalars(select(CatalogueAgency))}
    session.execute(delete(CatalogueAgency))
    session.flush()
    office.document = _document(catalogue.office)
    office.revision += 1
    office.updated_at = now
    for position, agency in enumerate(catalogue.agencies):
        session.add(
            CatalogueAgency(
                id=agency.id,
                position=position,
                name=agency.name,
                document=agency_document(agency),
                updated_at=now,
                updated_by=actor[:120],
            )
        )
    after = [agency.id for agency in catalogue.agencies]
    session.add(
        CatalogueChange(
            actor=actor[:120],
            action="import",
            note=(
                f"{len(after)} instansi, {sum(len(a.services) for a in catalogue.agencies)} layanan; "
                f"baru {len(set(after) - before)}, dihapus {len(before - set(after))}"
            ),
            created_at=now,
        )
    )
    session.flush()
    return office.revision


def current_revision(session: Session) -> int:
    revision = session.scalar(select(CatalogueOffice.revision).where(CatalogueOffice.id == OFFICE_ROW))
    return int(revision or 0)


def load_catalogue(session: Session) -> Catalogue | None:
    """The stored catalogue (None when none was imported)."""
    office = session.get(CatalogueOffice, OFFICE_ROW)
    if office is None:
        return None
    rows = session.scalars(select(CatalogueAgency).order_by(CatalogueAgency.position)).all()
    document = {"version": FORMAT_VERSION, "office": office.document, "agencies": [r.document for r in rows]}
    return validate(document)


def export_yaml(catalogue: Catalogue) -> str:
    document = catalogue_document(catalogue)
    for item in [
        document["office"],
        *document["agencies"],
        *(s for a in document["agencies"] for s in a.get("services", [])),
    ]:
        if "as_of" in item:
            item["as_of"] = date.fromisoformat(item["as_of"])
    header = (
        '# Katalog layanan (format: README, "Service catalogue"); diekspor oleh `bot catalogue export`.\n'
    )
    body = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=110)
    return header + body


EDITABLE_FIELDS = (
    "hours",
    "open_on_holidays",
    "location",
    "address",
    "map_url",
    "phone",
    "whatsapp",
    "website",
    "queue",
    "notes",
    "aliases",
    "source",
    "as_of",
)


def edit_agency(session: Session, agency_id: str, changes: dict[str, Any], actor: str) -> Agency:
    """Apply `changes` (field -> new value; None removes it) to one agency, validated as a whole, audited.

    CatalogueError when the result is not valid (e.g. bad hours, an alias of another agency); KeyError when
    the agency does not exist.
    """
    row = session.get(CatalogueAgency, agency_id, with_for_update=True)
    if row is None:
        raise KeyError(agency_id)
    unknown = [name for name in changes if name not in EDITABLE_FIELDS]
    if unknown:
        raise CatalogueError([Issue(None, f"kolom '{name}' tidak dapat diubah di sini") for name in unknown])
    document = dict(row.document)
    applied: list[tuple[str, Any, Any]] = []
    for name, value in changes.items():
        before = document.get(name)
        if value is None or value == "" or value == []:
            document.pop(name, None)
        else:
            document[name] = value
        if document.get(name) != before:
            applied.append((name, before, document.get(name)))
    if not applied:
        return _agency_of(session, row.id, document)
    agency = _agency_of(session, row.id, document)  # validates with every other agency (aliases)
    now = utcnow()
    row.document = agency_document(agency)
    row.updated_at = now
    row.updated_by = actor[:120]
    office = session.get(CatalogueOffice, OFFICE_ROW, with_for_update=True)
    assert office is not None
    office.revision += 1
    for name, before, after in applied:
        session.add(
            CatalogueChange(
                actor=actor[:120],
                action="edit",
                agency_id=agency_id,
                field=name,
                before=_value(before),
                after=_value(after),
                created_at=now,
            )
        )
    session.flush()
    return agency


def _agency_of(session: Session, agency_id: str, document: dict[str, Any]) -> Agency:
    office = session.get(CatalogueOffice, OFFICE_ROW)
    assert office is not None
    rows = session.scalars(select(CatalogueAgency).order_by(CatalogueAgency.position)).all()
    agencies = [document if r.id == agency_id else r.document for r in rows]
    catalogue = validate({"version": FORMAT_VERSION, "office": office.document, "agencies": agencies})
    agency = catalogue.agency(agency_id)
    assert agency is not None
    return agency


def recent_changes(session: Session, limit: int = 50, agency_id: str | None = None) -> list[CatalogueChange]:
    query = select(CatalogueChange).order_by(CatalogueChange.id.desc()).limit(limit)
    if agency_id is not None:
        query = query.where(CatalogueChange.agency_id == agency_id)
    return list(session.scalars(query))
