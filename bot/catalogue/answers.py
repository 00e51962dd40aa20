"""Short, polite Indonesian answers composed only from the catalogue's facts (never invented).

Hours answers end with the open/closed-now line computed in the office's time zone with the SLA's holiday
calendar: "Saat ini (Rabu 10.15 WIB) sedang tutup; buka lagi Senin, 14 Desember, pukul 08.00 WIB."
Requirements, procedures and fees carry their source and as-of date. A fact the catalogue does not hold is
returned as missing, so the caller can say so and offer the agency's contact or an officer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import pairwise

from bot.catalogue.aspects import LABELS, Aspect
from bot.catalogue.hours import (
    OpenState,
    WeeklyHours,
    clock,
    day_groups,
    days_text,
    window_text,
    zone_label,
)
from bot.catalogue.schema import Agency, Catalogue, Office, Service
from bot.handoff.office_hours import DAY_NAMES
from bot.knowledge.faq import MONTHS_ID

OFFICER_BUTTON = {"title": "Bicara dengan petugas", "payload": "/request_human"}


@dataclass
class Composed:
    lines: list[str] = field(default_factory=list)
    missing: list[Aspect] = field(default_factory=list)


def date_text(day: date, with_year: bool = False) -> str:
    text = f"{day.day} {MONTHS_ID[day.month - 1]}"
    return f"{text} {day.year}" if with_year else text


def hours_of(
    catalogue: Catalogue, agency: Agency | None, holiday_categories: tuple[str, ...] = ("public",)
) -> WeeklyHours | None:
    schedule = agency.schedule if agency is not None and agency.schedule is not None else None
    if schedule is None:
        schedule = catalogue.office.schedule
    if schedule is None:
        return None
    open_on_holidays = agency.open_on_holidays if agency is not None else False
    return WeeklyHours(schedule, catalogue.office.timezone, open_on_holidays, holiday_categories)


def schedule_text(hours: WeeklyHours) -> str:
    zone = zone_label(hours.zone)
    parts = [
        f"{days_text(days)} pukul {' dan '.join(window_text(w) for w in windows)}"
        for days, windows in day_groups(hours.schedule)
    ]
    return f"{'; '.join(parts)} {zone}"


def closing_text(hours: WeeklyHours) -> str:
    zone = zone_label(hours.zone)
    parts = []
    for days, windows in day_groups(hours.schedule):
        text = f"{days_text(days)} pukul {clock(windows[-1].end)}"
        if len(windows) > 1:
            breaks = ", ".join(f"{clock(a.end)}–{clock(b.start)}" for a, b in pairwise(windows))
            text += f" (istirahat {breaks})"
        parts.append(text)
    return f"{'; '.join(parts)} {zone}"


def now_line(state: OpenState, zone: str) -> str:
    label = zone_label(zone)
    stamp = f"{DAY_NAMES[state.now.weekday()]} {state.now:%H.%M} {label}"
    if state.is_open and state.closes_at is not None:
        return f"Saat ini ({stamp}) sedang buka sampai pukul {state.closes_at:%H.%M} {label}."
    reason = f"libur {state.holiday}" if state.holiday else "tutup"
    if state.opens_at is None:
        return f"Saat ini ({stamp}) sedang {reason}."
    opens = state.opens_at
    if opens.date() == state.now.date():
        when = f"hari ini pukul {opens:%H.%M} {label}"
    else:
        when = f"{DAY_NAMES[opens.weekday()]}, {date_text(opens.date())}, pukul {opens:%H.%M} {label}"
    return f"Saat ini ({stamp}) sedang {reason}; buka lagi {when}."


def holiday_note(hours: WeeklyHours) -> str:
    return (
        " Tetap buka pada hari libur nasional."
        if hours.open_on_holidays
        else " Tutup pada hari libur nasional."
    )


def short_name(agency: Agency | None, office: Office) -> str:
    if agency is None:
        return office.name
    return agency.name


def source_text(source: str | None, as_of: date | None) -> str:
    if source and as_of:
        return f"Sumber: {source} (per {date_text(as_of, with_year=True)})."
    if source:
        return f"Sumber: {source}."
    if as_of:
        return f"Data per {date_text(as_of, with_year=True)}."
    return ""


def numbered(items: tuple[str, ...]) -> str:
    return "\n".join(f"{index}. {item}" for index, item in enumerate(items, 1))


def compose_time(
    catalogue: Catalogue,
    agency: Agency | None,
    aspect: Aspect,
    now: datetime,
    out: Composed,
    holiday_categories: tuple[str, ...] = ("public",),
) -> None:
    hours = hours_of(catalogue, agency, holiday_categories)
    name = short_name(agency, catalogue.office)
    if hours is None or not hours.schedule:
        out.missing.append(aspect)
        return
    if aspect is Aspect.CLOSING:
        first = f"{name} tutup {closing_text(hours)}."
    else:
        first = f"{name} melayani hari {schedule_text(hours)}."
    extra = ""
    if aspect is Aspect.DAYS:
        closed = [DAY_NAMES[day] for day in range(7) if day not in hours.schedule]
        if closed:
            extra = f" {' dan '.join(closed)} tutup." if len(closed) <= 2 else " Hari lain tutup."
        extra += holiday_note(hours)
    out.lines.append(f"{first}{extra} {now_line(hours.state(now), hours.zone)}")


def compose_location(catalogue: Catalogue, agency: Agency | None, out: Composed) -> None:
    office = catalogue.office
    place = agency or office
    location = agency.location if agency is not None else None
    if agency is not None and agency.address:
        parts = [part for part in (location, agency.address) if part]
    else:  # a tenant of the office: its place inside the office, then the office's address
        parts = [
            part for part in (location, office.name if agency is not None else None, office.address) if part
        ]
    if not parts or (agency is not None and not location and not agency.address and not office.address):
        out.missing.append(Aspect.LOCATION)
        return
    text = f"Lokasi {short_name(agency, office)}: {', '.join(parts)}."
    if place.map_url:
        text += f" Peta: {place.map_url}"
    out.lines.append(text)


def contact_parts(agency: Agency | None, office: Office) -> list[str]:
    place = agency or office
    parts = []
    if place.phone:
        parts.append(f"telepon {place.phone}")
    if place.whatsapp:
        parts.append(f"WhatsApp {place.whatsapp}")
    if place.website:
        parts.append(f"situs {place.website}")
    return parts


def compose_contact(catalogue: Catalogue, agency: Agency | None, out: Composed) -> None:
    parts = contact_parts(agency, catalogue.office)
    if not parts:
        out.missing.append(Aspect.CONTACT)
        return
    out.lines.append(f"Kontak {short_name(agency, catalogue.office)}: {', '.join(parts)}.")


def compose_queue(agency: Agency | None, out: Composed) -> None:
    if agency is None or not agency.queue:
        out.missing.append(Aspect.QUEUE)
        return
    out.lines.append(f"Antrean {agency.name}: {agency.queue}")


def compose_service(agency: Agency, service: Service, aspect: Aspect, out: Composed) -> None:
    title = f"{service.name} di {agency.name}"
    text: str | None = None
    if aspect is Aspect.REQUIREMENTS and service.requirements:
        text = f"Syarat {title}:\n{numbered(service.requirements)}"
    elif aspect is Aspect.PROCEDURE and service.procedure:
        text = f"Prosedur {title}:\n{numbered(service.procedure)}"
    elif aspect is Aspect.FEE and service.fee:
        text = sentence(f"Biaya {title}: {service.fee}")
    elif aspect is Aspect.DURATION and service.duration:
        text = sentence(f"Lama proses {title}: {service.duration}")
    elif aspect is Aspect.ONLINE and service.online:
        text = f"{title} dapat diurus secara online: {service.online}"
    if text is None:
        out.missing.append(aspect)
        return
    out.lines.append(text)


def sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else f"{text}."


def service_sources(service: Service) -> str:
    return source_text(service.source, service.as_of)


def missing_text(
    catalogue: Catalogue, agency: Agency | None, service: Service | None, missing: list[Aspect]
) -> str:
    labels = ", ".join(dict.fromkeys(LABELS[aspect] for aspect in missing))
    subject = service.name if service is not None else short_name(agency, catalogue.office)
    text = f"Mohon maaf, informasi {labels} untuk {subject} belum tersedia di katalog kami."
    for place in (agency, None):
        contacts = contact_parts(place, catalogue.office)
        if contacts:  # the agency's own contacts, else the office's
            name = short_name(place, catalogue.office)
            return f"{text} Bapak/Ibu dapat menghubungi {name} melalui {', '.join(contacts)}, atau berbicara dengan petugas kami."
    return f"{text} Bapak/Ibu dapat berbicara dengan petugas kami."
