"""Category -> responsible unit and SLA tier, from routing.yml (or the file TICKETS_ROUTING_FILE names)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.tickets.sla import DEFAULT_TIER, DayUnit, SlaTier, Span
from bot.tickets.vocab import Category, Priority, TicketType

DEFAULT_ROUTING_FILE = Path(__file__).with_name("routing.yml")


class RoutingConfigError(ValueError):
    """routing.yml is missing a category, names an unknown tier, or has a malformed span."""


@dataclass(frozen=True)
class Route:
    category: Category
    unit: str
    tier: SlaTier


@dataclass(frozen=True)
class RoutingTable:
    routes: Mapping[Category, Route]
    tiers: Mapping[str, SlaTier]
    priority_tiers: Mapping[Priority, str]
    type_tiers: Mapping[TicketType, str]

    def route(self, category: Category) -> Route:
        return self.routes[category]

    def tier_for(self, category: Category, ticket_type: TicketType, priority: Priority) -> SlaTier:
        name = self.priority_tiers.get(priority) or self.type_tiers.get(ticket_type)
        return self.tiers[name] if name else self.routes[category].tier

    def units(self) -> list[str]:
        return sorted({route.unit for route in self.routes.values()})


def _span(raw: Any, where: str) -> Span:
    if not isinstance(raw, Mapping):
        raise RoutingConfigError(f"{where}: expected a mapping with amount and unit")
    try:
        return Span(int(raw["amount"]), DayUnit(raw["unit"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise RoutingConfigError(f"{where}: {exc}") from exc


def parse_routing(data: Mapping[str, Any]) -> RoutingTable:
    tiers = {
        name: SlaTier(
            name=name,
            verification=_span(spec.get("verification"), f"tiers.{name}.verification"),
            first_response=_span(spec.get("first_response"), f"tiers.{name}.first_response"),
            resolution=_span(spec.get("resolution"), f"tiers.{name}.resolution"),
        )
        for name, spec in (data.get("tiers") or {}).items()
    }
    tiers.setdefault(DEFAULT_TIER.name, DEFAULT_TIER)
    default_tier = str(data.get("default_tier", DEFAULT_TIER.name))

    def tier(name: str, where: str) -> SlaTier:
        if name not in tiers:
            raise RoutingConfigError(f"{where}: unknown tier {name!r}")
        return tiers[name]

    tier(default_tier, "default_tier")
    categories = data.get("categories") or {}
    unknown = set(categories) - {c.value for c in Category}
    if unknown:
        raise RoutingConfigError(f"categories: unknown codes {sorted(unknown)}")
    routes: dict[Category, Route] = {}
    for category in Category:
        spec = categories.get(category.value)
        if not spec or not str(spec.get("unit", "")).strip():
            raise RoutingConfigError(f"categories.{category.value}: a responsible unit is required")
        routes[category] = Route(
            category=category,
            unit=str(spec["unit"]).strip(),
            tier=tier(str(spec.get("tier", default_tier)), f"categories.{category.value}.tier"),
        )
    try:
        priority_tiers = {Priority(k): v for k, v in (data.get("priority_tiers") or {}).items()}
        type_tiers = {TicketType(k): v for k, v in (data.get("type_tiers") or {}).items()}
    except ValueError as exc:
        raise RoutingConfigError(str(exc)) from exc
    for key, name in [*priority_tiers.items(), *type_tiers.items()]:
        tier(name, f"override {key.value}")
    return RoutingTable(routes=routes, tiers=tiers, priority_tiers=priority_tiers, type_tiers=type_tiers)


@lru_cache(maxsize=8)
def load_routing(path: Path | None = None) -> RoutingTable:
    source = path or DEFAULT_ROUTING_FILE
    with open(source, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    if not isinstance(data, Mapping):
        raise RoutingConfigError(f"{source}: expected a mapping at the top level")
    return parse_routing(data)
