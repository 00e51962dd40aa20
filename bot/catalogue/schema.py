"""The service catalogue's YAML format: reading it with line numbers, validating it, and the typed model.

Format (README "Service catalogue"): `version: 1`, an `office` (name, address, hours, timezone) and a list of
`agencies`, each with an id, a name, aliases, weekly hours, location and contacts, and `services` after the
Standar Pelayanan components (UU 25/2009 Pasal 21). Every problem is reported with its line, all at once:
unknown keys, bad hours, duplicate ids, an alias used by two agencies, missing names, malformed dates.
The same validation reads the documents stored in the database (there without lines).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from bot.catalogue.hours import HoursError, Schedule, parse_hours, resolve_timezone
from bot.catalogue.text import normalize

FORMAT_VERSION = 1
ID_PATTERN = re.compile(r"^[a-z0-9_]+$")
TOP_KEYS = ("version", "office", "agencies")
CONTACT_KEYS = ("address", "map_url", "phone", "whatsapp", "website")
OFFICE_KEYS = ("name", "hours", "timezone", *CONTACT_KEYS)
AGENCY_TEXT_KEYS = ("location", *CONTACT_KEYS, "queue", "notes", "source")
AGENCY_KEYS = ("id", "name", "aliases", "hours", "open_on_holidays", *AGENCY_TEXT_KEYS, "as_of", "services")
SERVICE_TEXT_KEYS = ("duration", "fee", "product", "online", "complaints", "notes", "source")
SERVICE_LIST_KEYS = ("requirements", "procedure")
SERVICE_KEYS = ("id", "name", "aliases", *SERVICE_LIST_KEYS, *SERVICE_TEXT_KEYS, "as_of")
DEFAULT_TIMEZONE = "Asia/Jakarta"

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Issue:
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"baris {self.line}: {self.message}" if self.line else self.message


class CatalogueError(ValueError):
    """The catalogue is not valid; `issues` lists every problem found."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        super().__init__("; ".join(str(issue) for issue in issues))
        self.issues = list(issues)


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    procedure: tuple[str, ...] = ()
    duration: str | None = None
    fee: str | None = None
    product: str | None = None
    online: str | None = None
    complaints: str | None = None
    notes: str | None = None
    source: str | None = None
    as_of: date | None = None


@dataclass(frozen=True)
class Agency:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    hours: Mapping[str, Any] | None = None  # as written; None = the office's hours
    schedule: Schedule | None = None
    open_on_holidays: bool = False
    location: str | None = None
    address: str | None = None
    map_url: str | None = None
    phone: str | None = None
    whatsapp: str | None = None
    website: str | None = None
    queue: str | None = None
    notes: str | None = None
    source: str | None = None
    as_of: date | None = None
    services: tuple[Service, ...] = ()


@dataclass(frozen=True)
class Office:
    name: str
    hours: Mapping[str, Any] | None = None
    schedule: Schedule | None = None
    timezone: str = DEFAULT_TIMEZONE
    address: str | None = None
    map_url: str | None = None
    phone: str | None = None
    whatsapp: str | None = None
    website: str | None = None


@dataclass(frozen=True)
class Catalogue:
    office: Office
    agencies: tuple[Agency, ...] = field(default_factory=tuple)

    def agency(self, agency_id: str) -> Agency | None:
        return next((agency for agency in self.agencies if agency.id == agency_id), None)


# --- YAML with lines -------------------------------------------------------------------------------------


def load_yaml_with_lines(text: str) -> tuple[Any, dict[Path, int]]:
    """The document as plain Python values, and the 1-based line of every mapping key and list item."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    lines: dict[Path, int] = {}
    if node is None:
        return None, lines
    return _plain(node, (), lines, SafeConstructor()), lines


def _plain(node: yaml.Node, path: Path, lines: dict[Path, int], constructor: SafeConstructor) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            key = str(key) if not isinstance(key, str) else key
            if key in result:
                lines[(*path, "__duplicate__", key)] = key_node.start_mark.line + 1
            lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = _plain(value_node, (*path, key), lines, constructor)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, (*path, index), lines, constructor) for index, item in enumerate(node.value)]
    try:
        return constructor.construct_object(node, deep=True)
    except ValueError:  # an impossible date such as 2026-13-01: kept as text, reported by the validation
        return str(node.value)


# --- validation ------------------------------------------------------------------------------------------


class _Checker:
    def __init__(self, lines: Mapping[Path, int]) -> None:
        self.lines = lines
        self.issues: list[Issue] = []

    def line(self, path: Path) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())

    def add(self, path: Path, message: str) -> None:
        self.issues.append(Issue(self.line(path), message))

    def mapping(self, value: Any, path: Path, what: str, known: Sequence[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.add(path, f"{what} harus berupa pemetaan (kunci: nilai)")
            return {}
        for key in value:
            if key not in known:
                self.add(
                    (*path, key),
                    f"kunci tidak dikenal '{key}' pada {what} (yang dikenal: {', '.join(known)})",
                )
        return value

    def text(self, mapping: Mapping[str, Any], key: str, path: Path, required: bool = False) -> str | None:
        value = mapping.get(key)
        if value is None:
            if required:
                self.add(path, f"'{key}' wajib diisi")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.add((*path, key), f"'{key}' harus berupa teks")
            return None
        text = str(value).strip()
        if required and not text:
            self.add((*path, key), f"'{key}' tidak boleh kosong")
            return None
        return text or None

    def texts(self, mapping: Mapping[str, Any], key: str, path: Path) -> tuple[str, ...]:
        value = mapping.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.add((*path, key), f"'{key}' harus berupa daftar teks")
            return ()
        result: list[str] = []
        for index, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, str | int | float) or not str(item).strip():
                self.add((*path, key, index), f"isi '{key}' harus berupa teks yang tidak kosong")
                continue
            result.append(str(item).strip())
        return tuple(result)

    def as_of(self, mapping: Mapping[str, Any], path: Path) -> date | None:
        value = mapping.get("as_of")
        if value is None:
            return None
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.add((*path, "as_of"), f"tanggal 'as_of' tidak valid '{value}' (format: 2026-11-01)")
            return None

    def ident(self, mapping: Mapping[str, Any], path: Path) -> str | None:
        value = mapping.get("id")
        if value is None:
            self.add(path, "'id' wajib diisi")
            return None
        if not isinstance(value, str) or not ID_PATTERN.match(value):
            self.add((*path, "id"), f"id '{value}' tidak valid (hanya huruf kecil, angka dan _)")
            return None
        return value

    def hours(
        self, mapping: Mapping[str, Any], path: Path
    ) -> tuple[Mapping[str, Any] | None, Schedule | None]:
        value = mapping.get("hours")
        if value is None:
            return None, None
        if not isinstance(value, dict):
            self.add((*path, "hours"), "'hours' harus berupa pemetaan hari -> jam")
            return None, None
        spec = {str(day): [str(item) for item in v] if isinstance(v, list) else v for day, v in value.items()}
        for day, item in spec.items():
            if not isinstance(item, str | list):
                self.add(
                    (*path, "hours", day),
                    f"jam hari '{day}' harus ditulis dalam tanda kutip, mis. \"08.00-12.00\"",
                )
                return None, None
        try:
            return spec, parse_hours(spec)
        except HoursError as error:
            self.add((*path, "hours"), f"jam layanan: {error}")
            return None, None


def validate(document: Any, lines: Mapping[Path, int] | None = None) -> Catalogue:
    """The typed catalogue; CatalogueError listing every problem (with lines when known)."""
    check = _Checker(lines or {})
    for path, line in (lines or {}).items():
        if len(path) >= 2 and path[-2] == "__duplicate__":
            check.issues.append(Issue(line, f"kunci '{path[-1]}' tertulis dua kali"))
    top = check.mapping(document, (), "katalog", TOP_KEYS)
    version = top.get("version")
    if top and version != FORMAT_VERSION:
        check.add(("version",), f"'version' harus {FORMAT_VERSION}")
    office = _office(check, top.get("office"))
    agencies_value = top.get("agencies")
    agencies: list[Agency] = []
    if top and not isinstance(agencies_value, list):
        check.add(("agencies",), "'agencies' harus berupa daftar instansi")
    elif isinstance(agencies_value, list):
        indexed = [(i, a) for i, v in enumerate(agencies_value) if (a := _agency(check, v, ("agencies", i)))]
        _check_unique(check, indexed)
        agencies = [agency for _, agency in indexed]
    if check.issues:
        raise CatalogueError(sorted(check.issues, key=lambda issue: issue.line or 0))
    assert office is not None
    return Catalogue(office, tuple(agencies))


def _office(check: _Checker, value: Any) -> Office | None:
    path: Path = ("office",)
    if value is None:
        check.add(path, "'office' wajib diisi")
        return None
    data = check.mapping(value, path, "office", OFFICE_KEYS)
    name = check.text(data, "name", path, required=True)
    zone = DEFAULT_TIMEZONE
    if data.get("timezone") is not None:
        try:
            zone = resolve_timezone(str(data["timezone"]))
        except HoursError as error:
            check.add((*path, "timezone"), str(error))
    hours, schedule = check.hours(data, path)
    contacts = {key: check.text(data, key, path) for key in CONTACT_KEYS}
    return Office(name=name or "", hours=hours, schedule=schedule, timezone=zone, **contacts)


def _agency(check: _Checker, value: Any, path: Path) -> Agency | None:
    data = check.mapping(value, path, "instansi", AGENCY_KEYS)
    if not data:
        return None
    agency_id = check.ident(data, path)
    name = check.text(data, "name", path, required=True)
    hours, schedule = check.hours(data, path)
    holidays = data.get("open_on_holidays", False)
    if not isinstance(holidays, bool):
        check.add((*path, "open_on_holidays"), "'open_on_holidays' harus true atau false")
        holidays = False
    texts = {key: check.text(data, key, path) for key in AGENCY_TEXT_KEYS}
    services_value = data.get("services") or []
    services: list[Service] = []
    if not isinstance(services_value, list):
        check.add((*path, "services"), "'services' harus berupa daftar layanan")
    else:
        seen: dict[str, int] = {}
        for index, item in enumerate(services_value):
            service = _service(check, item, (*path, "services", index))
            if service is None:
                continue
            if service.id in seen:
                check.add(
                    (*path, "services", index, "id"), f"id layanan '{service.id}' ganda di instansi ini"
                )
            seen[service.id] = index
            services.append(service)
    if agency_id is None or name is None:
        return None
    return Agency(
        id=agency_id,
        name=name,
        aliases=check.texts(data, "aliases", path),
        hours=hours,
        schedule=schedule,
        open_on_holidays=holidays,
        as_of=check.as_of(data, path),
        services=tuple(services),
        **texts,
    )


def _service(check: _Checker, value: Any, path: Path) -> Service | None:
    data = check.mapping(value, path, "layanan", SERVICE_KEYS)
    if not data:
        return None
    service_id = check.ident(data, path)
    name = check.text(data, "name", path, required=True)
    lists = {key: check.texts(data, key, path) for key in SERVICE_LIST_KEYS}
    texts = {key: check.text(data, key, path) for key in SERVICE_TEXT_KEYS}
    as_of = check.as_of(data, path)
    if service_id is None or name is None:
        return None
    return Service(
        id=service_id,
        name=name,
        aliases=check.texts(data, "aliases", path),
        requirements=lists["requirements"],
        procedure=lists["procedure"],
        duration=texts["duration"],
        fee=texts["fee"],
        product=texts["product"],
        online=texts["online"],
        complaints=texts["complaints"],
        notes=texts["notes"],
        source=texts["source"],
        as_of=as_of,
    )


def _check_unique(check: _Checker, agencies: list[tuple[int, Agency]]) -> None:
    """Agency ids unique; a name or alias (normalised) belongs to one agency only."""
    ids: set[str] = set()
    owners: dict[str, str] = {}
    for index, agency in agencies:
        path: Path = ("agencies", index)
        if agency.id in ids:
            check.add((*path, "id"), f"id instansi '{agency.id}' ganda")
            continue
        ids.add(agency.id)
        for alias_index, alias in enumerate((agency.name, *agency.aliases)):
            key = normalize(alias)
            owner = owners.get(key)
            if owner is not None and owner != agency.id:
                alias_path = (*path, "aliases", alias_index - 1) if alias_index else (*path, "name")
                check.add(alias_path, f"alias '{alias}' sudah dipakai instansi '{owner}'")
            owners.setdefault(key, agency.id)


def parse_catalogue(text: str) -> Catalogue:
    """Read and validate a catalogue file's text; CatalogueError with every problem and its line."""
    try:
        document, lines = load_yaml_with_lines(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise CatalogueError(
            [Issue(line, f"YAML tidak valid: {getattr(error, 'problem', None) or error}")]
        ) from error
    return validate(document, lines)
