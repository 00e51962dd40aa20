"""The demo catalogue `make run` loads, and the benchmark's targets on the test catalogue."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from benchmarks import catalogue_eval
from bot.catalogue.matching import CatalogueIndex
from bot.catalogue.schema import Catalogue, parse_catalogue
from bot.catalogue.service import Outcome, resolve
from bot.settings import PROJECT_ROOT

DEMO = PROJECT_ROOT / "bot" / "catalogue" / "data" / "demo_mpp.yml"
MONDAY_0900_WIB = datetime(2026, 12, 7, 2, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def demo() -> Catalogue:
    return parse_catalogue(DEMO.read_text(encoding="utf-8"))


def test_the_demo_is_marked_sample_data_and_large_enough(demo: Catalogue) -> None:
    assert DEMO.read_text(encoding="utf-8").startswith("# SAMPLE DATA (data contoh)")
    assert len(demo.agencies) >= 30
    assert sum(len(agency.services) for agency in demo.agencies) >= 60
    assert (
        "make run" in (PROJECT_ROOT / "Makefile").read_text()
        and "demo_mpp.yml" in (PROJECT_ROOT / "Makefile").read_text()
    )


def test_every_demo_fact_carries_its_source_and_date(demo: Catalogue) -> None:
    for agency in demo.agencies:
        for service in agency.services:
            if service.requirements or service.fee or service.procedure or service.duration or service.online:
                assert service.source and service.as_of, f"{agency.id}/{service.id}"


def test_the_done_when_questions_on_the_demo(demo: Catalogue) -> None:
    index = CatalogueIndex(demo)
    samsat = resolve(demo, index, "samsat buka hari apa?", MONDAY_0900_WIB)
    assert samsat.messages[0].text.startswith(
        "SAMSAT Kabupaten Contoh melayani hari Senin–Jumat pukul 08.00–12.00; Sabtu pukul 08.00–11.00 WIB."
    )
    assert "Saat ini (Senin 09.00 WIB) sedang buka sampai pukul 12.00 WIB." in samsat.messages[0].text
    nib = resolve(demo, index, "syarat bikin NIB di dpmptsp apa aja", MONDAY_0900_WIB)
    assert (nib.agency_id, nib.service_id) == ("dpmptsp", "nib")
    assert "Kode KBLI kegiatan usaha" in nib.messages[0].text
    kejari = resolve(demo, index, "kejari tutup jam brp", MONDAY_0900_WIB)
    assert kejari.messages[0].text.startswith(
        "Kejaksaan Negeri Kabupaten Contoh tutup Senin–Jumat pukul 15.00 WIB."
    )


def test_everyday_words_one_letter_from_an_alias_are_not_agencies(demo: Catalogue) -> None:
    index = CatalogueIndex(demo)
    for text in ("lampu jalan depan rumah mati", "pa mau tanya", "kapan ya"):
        assert resolve(demo, index, text, MONDAY_0900_WIB).outcome is Outcome.NO_MATCH, text


def test_the_benchmark_meets_its_targets(tmp_path: Path) -> None:
    report = catalogue_eval.main(
        ["--repeats", "1", "--json", str(tmp_path / "r.json"), "--markdown", str(tmp_path / "r.md")]
    )
    assert report["questions"] >= 80
    assert report["agency_accuracy"] >= 0.95
    assert report["fully_correct"] >= 0.90
    assert (tmp_path / "r.md").read_text().startswith("# Service catalogue benchmark")
