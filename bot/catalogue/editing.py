"""What the dashboard needs from the catalogue, without a web framework: who may edit which agency, the
hours as editable text ("senin-kamis: 08.00-14.00" per line), and the unanswered questions an admin acts on.

Admins edit every agency; other staff only agencies whose id or name is one of their units.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from bot.catalogue.hours import HoursError, parse_hours
from bot.catalogue.models import CatalogueMiss
from bot.catalogue.schema import Agency, CatalogueError, Issue
from bot.catalogue.store import edit_agency
from bot.db import utcnow


def may_edit(agency: Agency, is_admin: bool, units: Iterable[str]) -> bool:
    own = set(units)
    return is_admin or agency.id in own or agency.name in own


def hours_text(spec: Mapping[str, Any] | None) -> str:
    if not spec:
        return ""
    lines = []
    for days, value in spec.items():
        windows = value if isinstance(value, list) else [value]
        lines.append(f"{days}: {', '.join(str(w) for w in windows)}")
    return "\n".join(lines)


def parse_hours_text(text: str) -> dict[str, Any] | None:
    """The text of the hours field -> the catalogue's hours mapping (None when empty: the office's hours)."""
    spec: dict[str, Any] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        days, separator, windows = line.partition(":")
        parts = [part.strip() for part in windows.split(",") if part.strip()]
        if not separator or not days.strip() or not parts:
            raise CatalogueError(
                [Issue(number, f"tulis 'hari: jam', mis. 'senin-kamis: 08.00-14.00' ('{line}')")]
            )
        spec[days.strip().lower()] = parts[0] if len(parts) == 1 else parts
    if not spec:
        return None
    try:
        parse_hours(spec)
    except HoursError as error:
        raise CatalogueError([Issue(None, f"jam layanan: {error}")]) from error
    return spec


def add_alias_from_miss(session: Session, miss_id: int, agency: Agency, actor: str) -> Agency:
    """One step from an unknown name citizens used to an alias of `agency`; the miss is marked resolved."""
    miss = session.get(CatalogueMiss, miss_id)
    if miss is None or miss.kind != "unknown_agency":
        raise CatalogueError([Issue(None, "pertanyaan tersebut tidak ditemukan")])
    updated = edit_agency(session, agency.id, {"aliases": [*agency.aliases, miss.key]}, actor)
    miss.resolved_at = utcnow()
    return updated


def resolve_miss(session: Session, miss_id: int) -> bool:
    miss = session.get(CatalogueMiss, miss_id)
    if miss is None:
        return False
    miss.resolved_at = utcnow()
    return True
