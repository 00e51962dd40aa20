"""Reading and validating catalogue files: every error with its line, all at once; export round-trips."""

from __future__ import annotations

import textwrap

import pytest

from bot.catalogue.schema import Catalogue, CatalogueError, parse_catalogue
from bot.catalogue.store import export_yaml
from tests.catalogue.conftest import TEST_CATALOGUE

VALID_HEAD = """\
version: 1
office: {name: MPP Uji, hours: {senin-jumat: "08.00-15.00"}}
agencies:
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(CatalogueError) as caught:
        parse_catalogue(textwrap.dedent(text))
    return [str(issue) for issue in caught.value.issues]


def test_the_test_catalogue_is_read_with_its_facts(catalogue: Catalogue) -> None:
    assert catalogue.office.timezone == "Asia/Makassar"
    samsat = catalogue.agency("samsat")
    assert samsat is not None
    assert samsat.aliases[:2] == ("samsat", "kantor samsat")
    assert [service.id for service in samsat.services] == ["pajak_tahunan", "ganti_plat"]
    assert samsat.services[0].requirements == ("KTP-el asli sesuai STNK/BPKB", "STNK asli")
    assert str(samsat.services[0].as_of) == "2026-11-01"
    dukcapil = catalogue.agency("disdukcapil")
    assert dukcapil is not None and dukcapil.schedule is not None
    assert [(w.start, w.end) for w in dukcapil.schedule[4]] == [(480, 660), (810, 870)]  # Friday split


def test_unknown_keys_bad_hours_duplicate_ids_and_shared_aliases_are_listed_with_lines() -> None:
    text = VALID_HEAD + textwrap.dedent("""\
      - id: samsat
        name: SAMSAT
        aliases: [samsat]
        jam: "08.00-12.00"
        hours: {senin: "08.00-25.00"}
      - id: samsat
        name: SAMSAT Kedua
      - id: dukcapil
        name: Dukcapil
        aliases: [capil, samsat]
        hours: {senin-kamis: "08.00-12.00", rabu: "13.00-14.00"}
        services:
          - id: ktp
            name: KTP
            biaya: gratis
          - id: ktp
            name: KTP lagi
            as_of: 2026-13-01
    """)
    errors = errors_of(text)
    assert errors == [
        "baris 7: kunci tidak dikenal 'jam' pada instansi (yang dikenal: id, name, aliases, hours, "
        "open_on_holidays, location, address, map_url, phone, whatsapp, website, queue, notes, source, "
        "as_of, services)",
        "baris 8: jam layanan: jam '08.00-25.00' tidak valid",
        "baris 9: id instansi 'samsat' ganda",
        "baris 13: alias 'samsat' sudah dipakai instansi 'samsat'",
        "baris 14: jam layanan: hari Rabu tercantum lebih dari sekali",
        "baris 18: kunci tidak dikenal 'biaya' pada layanan (yang dikenal: id, name, aliases, requirements, "
        "procedure, duration, fee, product, online, complaints, notes, source, as_of)",
        "baris 19: id layanan 'ktp' ganda di instansi ini",
        "baris 21: tanggal 'as_of' tidak valid '2026-13-01' (format: 2026-11-01)",
    ]


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ('{senin: "12.00-08.00"}', "jam selesai harus sesudah jam mulai pada '12.00-08.00'"),
        ('{senen: "08.00-12.00"}', "nama hari tidak dikenal 'senen' (senin sampai minggu)"),
        ('{senin: "jam 8"}', "jam 'jam 8' tidak dapat dibaca"),
        ('{senin: ["08.00-12.00", "11.00-14.00"]}', "jam hari Senin saling tumpang tindih"),
        ("{senin: 8.00}", "harus ditulis dalam tanda kutip"),
    ],
)
def test_bad_hours_say_what_is_wrong(hours: str, message: str) -> None:
    text = VALID_HEAD + f"  - id: a\n    name: A\n    hours: {hours}\n"
    (error,) = errors_of(text)
    assert error.startswith("baris 6: ")
    assert message in error


def test_missing_names_bad_ids_and_bad_version() -> None:
    text = (
        "version: 2\noffice: {address: x}\nagencies:\n  - id: Samsat Kota\n    name: S\n  - name: Tanpa id\n"
    )
    assert errors_of(text) == [
        "baris 1: 'version' harus 1",
        "baris 2: 'name' wajib diisi",
        "baris 4: id 'Samsat Kota' tidak valid (hanya huruf kecil, angka dan _)",
        "baris 6: 'id' wajib diisi",
    ]


def test_yaml_syntax_errors_and_repeated_keys_have_lines() -> None:
    assert errors_of(VALID_HEAD + "  - id: a\n    name: [tidak ditutup\n") == [
        "baris 6: YAML tidak valid: expected ',' or ']', but got '<stream end>'"
    ]
    assert errors_of(VALID_HEAD + "  - id: a\n    name: A\n    name: B\n") == [
        "baris 6: kunci 'name' tertulis dua kali"
    ]


def test_timezones_by_abbreviation_and_unknown_zone() -> None:
    for zone, name in (("WIB", "Asia/Jakarta"), ("wita", "Asia/Makassar"), ("WIT", "Asia/Jayapura")):
        text = f"version: 1\noffice: {{name: X, timezone: {zone}}}\nagencies: []\n"
        assert parse_catalogue(text).office.timezone == name
    assert errors_of("version: 1\noffice: {name: X, timezone: GMT+7}\nagencies: []\n") == [
        "baris 2: zona waktu tidak dikenal 'GMT+7' (pakai WIB, WITA, WIT atau Asia/Jakarta)"
    ]


def test_agencies_without_services_are_directory_entries() -> None:
    catalogue = parse_catalogue(VALID_HEAD + "  - id: pos\n    name: Kantor Pos\n")
    assert catalogue.agencies[0].services == ()
    assert catalogue.agencies[0].schedule is None


def test_export_round_trips_the_test_catalogue(catalogue: Catalogue) -> None:
    again = parse_catalogue(export_yaml(catalogue))
    assert again == catalogue
    assert "as_of: 2026-11-01" in export_yaml(catalogue)
    assert TEST_CATALOGUE.exists()
