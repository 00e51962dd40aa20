from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.settings import Settings
from bot.tickets.routing import DEFAULT_ROUTING_FILE, RoutingConfigError, load_routing, parse_routing
from bot.tickets.service import TicketConfig
from bot.tickets.sla import DayUnit
from bot.tickets.vocab import Category, Priority, TicketType


def test_every_category_has_a_unit_and_a_tier() -> None:
    table = load_routing()
    assert set(table.routes) == set(Category)
    assert table.route(Category.INFRASTRUKTUR).unit == "Dinas Pekerjaan Umum dan Penataan Ruang"
    assert table.route(Category.KEPENDUDUKAN).unit == "Dinas Kependudukan dan Pencatatan Sipil"
    standard = table.route(Category.INFRASTRUKTUR).tier
    assert (standard.verification.amount, standard.verification.unit) == (3, DayUnit.WORKING)
    assert (standard.first_response.amount, standard.first_response.unit) == (14, DayUnit.CALENDAR)
    assert (standard.resolution.amount, standard.resolution.unit) == (60, DayUnit.CALENDAR)


def test_tier_overrides() -> None:
    table = load_routing()
    assert table.tier_for(Category.KESEHATAN, TicketType.PENGADUAN, Priority.SEDANG).name == "cepat"
    assert table.tier_for(Category.SOSIAL, TicketType.PENGADUAN, Priority.DARURAT).name == "segera"
    assert table.tier_for(Category.SOSIAL, TicketType.PERMINTAAN_INFORMASI, Priority.SEDANG).name == (
        "informasi_publik"
    )
    assert table.tier_for(Category.SOSIAL, TicketType.ASPIRASI, Priority.RENDAH).name == "standar"


def test_settings_point_at_another_routing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = yaml.safe_load(DEFAULT_ROUTING_FILE.read_text(encoding="utf-8"))
    data["categories"]["lingkungan"] = {"unit": "Dinas Lingkungan Hidup dan Kehutanan", "tier": "cepat"}
    other = tmp_path / "routing.yml"
    other.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("TICKETS_ROUTING_FILE", str(other))
    config = TicketConfig.from_settings(Settings())
    route = config.routing.route(Category.LINGKUNGAN)
    assert (route.unit, route.tier.name) == ("Dinas Lingkungan Hidup dan Kehutanan", "cepat")


def test_invalid_routing_is_refused() -> None:
    data = yaml.safe_load(DEFAULT_ROUTING_FILE.read_text(encoding="utf-8"))
    missing = {**data, "categories": {k: v for k, v in data["categories"].items() if k != "sosial"}}
    with pytest.raises(RoutingConfigError, match="sosial"):
        parse_routing(missing)
    bad_tier = {
        **data,
        "categories": {**data["categories"], "sosial": {"unit": "Dinas Sosial", "tier": "kilat"}},
    }
    with pytest.raises(RoutingConfigError, match="kilat"):
        parse_routing(bad_tier)
    bad_unit = {
        **data,
        "tiers": {"standar": {**data["tiers"]["standar"], "resolution": {"amount": 5, "unit": "jam"}}},
    }
    with pytest.raises(RoutingConfigError):
        parse_routing(bad_unit)
