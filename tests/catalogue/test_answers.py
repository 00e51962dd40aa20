"""Understanding and answers on the fictional test catalogue (WITA): names, aliases, abbreviations, typos,
ambiguity, aspects, and the composed text with its open/closed-now line, sources and missing facts."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.catalogue.aspects import Aspect, detect_aspects
from bot.catalogue.matching import CatalogueIndex
from bot.catalogue.schema import Catalogue
from bot.catalogue.service import Answer, Outcome, resolve
from bot.catalogue.text import normalize

# Wednesday 9 December 2026, 10.15 WITA.
WEDNESDAY = datetime(2026, 12, 9, 2, 15, tzinfo=timezone.utc)
# Friday 11 December 2026, 15.30 WITA: after closing on Friday.
FRIDAY_EVENING = datetime(2026, 12, 11, 7, 30, tzinfo=timezone.utc)


def ask(catalogue: Catalogue, index: CatalogueIndex, text: str, now: datetime = WEDNESDAY) -> Answer:
    return resolve(catalogue, index, text, now)


def texts(answer: Answer) -> str:
    return "\n".join(message.text for message in answer.messages)


@pytest.mark.parametrize(
    ("text", "agency"),
    [
        ("dukcapil buka jam berapa", "disdukcapil"),
        ("capil buka jam berapa", "disdukcapil"),
        ("disdukcapil buka jam berapa", "disdukcapil"),
        ("dukcapl buka jam brp", "disdukcapil"),  # typo
        ("disdukcapl jam buka", "disdukcapil"),  # typo
        ("samsad buka hari apa", "samsat"),  # typo
        ("bpjs tk dimana", "bpjs_tk"),
        ("bpjs kes dimana", "bpjs_kesehatan"),
        ("kejari tutup jam brp", "kejari"),
        ("pn tirtamaya jam brp", "pn_tirtamaya"),
        ("jam buka dinas penanaman modal dan pelayanan terpadu satu pintu", "dpmptsp"),
        ("dpmptsp buka jam brp", "dpmptsp"),
        ("imigarsi buka jam berapa", "imigrasi"),  # transposed letters
    ],
)
def test_agencies_are_recognised_by_name_alias_abbreviation_and_typo(
    catalogue: Catalogue, index: CatalogueIndex, text: str, agency: str
) -> None:
    answer = ask(catalogue, index, text)
    assert answer.outcome is Outcome.ANSWERED
    assert answer.agency_id == agency


def test_an_ambiguous_name_offers_buttons_that_carry_the_question(
    catalogue: Catalogue, index: CatalogueIndex
) -> None:
    answer = ask(catalogue, index, "bpjs buka jam berapa")
    assert answer.outcome is Outcome.AMBIGUOUS
    assert answer.candidates == ["bpjs_kesehatan", "bpjs_tk"]
    (message,) = answer.messages
    assert [button["payload"] for button in message.buttons] == [
        '/ask_office{"agency":"bpjs_kesehatan","aspect":"jam"}',
        '/ask_office{"agency":"bpjs_tk","aspect":"jam"}',
    ]
    chosen = resolve(catalogue, index, "", WEDNESDAY, agency_id="bpjs_tk", aspects=[Aspect.HOURS])
    assert chosen.outcome is Outcome.ANSWERED
    assert texts(chosen).startswith("BPJS Ketenagakerjaan Kantor Cabang Tirtamaya melayani hari Senin–Jumat")


def test_a_service_asked_without_its_agency_names_a_choice_when_several_agencies_offer_it(
    catalogue: Catalogue, index: CatalogueIndex
) -> None:
    answer = ask(catalogue, index, "syarat bikin skck apa")
    assert (answer.outcome, answer.agency_id, answer.service_id) == (Outcome.ANSWERED, "polres", "skck")


@pytest.mark.parametrize(
    ("text", "aspects"),
    [
        ("samsat buka hari apa?", [Aspect.DAYS]),
        ("kejari tutup jam brp", [Aspect.CLOSING]),
        ("kantor pos sekarang buka?", [Aspect.OPEN_NOW]),
        ("dukcapil jam brp bukanya", [Aspect.HOURS]),
        ("alamat kua dmn", [Aspect.LOCATION]),
        ("nomor wa dukcapil", [Aspect.CONTACT]),
        ("syarat bikin NIB di dpmptsp apa aja", [Aspect.REQUIREMENTS]),
        ("biaya paspor brp", [Aspect.FEE]),
        ("berapa lama bikin kk", [Aspect.DURATION]),
        ("gmn cara klaim jht", [Aspect.PROCEDURE]),
        ("skck bisa online ga", [Aspect.ONLINE]),
        ("antrian dukcapil gimana", [Aspect.QUEUE]),
        ("syarat bayar pajak motor", [Aspect.REQUIREMENTS]),
    ],
)
def test_aspects(text: str, aspects: list[Aspect]) -> None:
    assert detect_aspects(normalize(text)) == aspects


def test_samsat_days_with_the_open_now_line(catalogue: Catalogue, index: CatalogueIndex) -> None:
    answer = ask(catalogue, index, "samsat buka hari apa?")
    assert texts(answer) == (
        "SAMSAT Kabupaten Tirtamaya melayani hari Senin–Jumat pukul 08.00–12.00; Sabtu pukul 08.00–11.00 WITA. "
        "Minggu tutup. Tutup pada hari libur nasional. "
        "Saat ini (Rabu 10.15 WITA) sedang buka sampai pukul 12.00 WITA."
    )


def test_after_closing_on_friday_the_answer_names_the_next_opening(
    catalogue: Catalogue, index: CatalogueIndex
) -> None:
    answer = ask(catalogue, index, "kejari tutup jam brp", FRIDAY_EVENING)
    assert texts(answer) == (
        "Kejaksaan Negeri Tirtamaya tutup Senin–Jumat pukul 16.00 WITA. "
        "Saat ini (Jumat 15.30 WITA) sedang buka sampai pukul 16.00 WITA."
    )
    later = ask(catalogue, index, "kejari tutup jam brp", FRIDAY_EVENING.replace(hour=9))  # 17.30 WITA
    assert texts(later).endswith(
        "Saat ini (Jumat 17.30 WITA) sedang tutup; buka lagi Senin, 14 Desember, pukul 08.00 WITA."
    )


def test_split_shift_break_and_holiday_in_the_answer(catalogue: Catalogue, index: CatalogueIndex) -> None:
    # Friday 11 December 2026 12.00 WITA: Disdukcapil's Friday break (11.00-13.30).
    noon = ask(catalogue, index, "dukcapil skrg buka?", datetime(2026, 12, 11, 4, 0, tzinfo=timezone.utc))
    assert texts(noon).endswith(
        "Saat ini (Jumat 12.00 WITA) sedang tutup; buka lagi hari ini pukul 13.30 WITA.\n"
        "Sumber: disdukcapil.tirtamaya.example (per 1 Oktober 2026)."
    )
    # Friday 25 December 2026 (Christmas), 09.00 WITA; Disdukcapil opens on Saturdays.
    christmas = ask(
        catalogue, index, "dukcapil skrg buka?", datetime(2026, 12, 25, 1, 0, tzinfo=timezone.utc)
    )
    assert "sedang libur Hari Raya Natal; buka lagi Sabtu, 26 Desember, pukul 08.00 WITA." in texts(christmas)
    # PDAM opens on holidays.
    pdam = ask(catalogue, index, "pdam skrg buka?", datetime(2026, 12, 25, 1, 0, tzinfo=timezone.utc))
    assert "Saat ini (Jumat 09.00 WITA) sedang buka sampai pukul 12.00 WITA." in texts(pdam)


def test_requirements_carry_source_and_date(catalogue: Catalogue, index: CatalogueIndex) -> None:
    answer = ask(catalogue, index, "syarat bikin NIB di dpmptsp apa aja")
    assert (answer.agency_id, answer.service_id) == ("dpmptsp", "nib")
    assert texts(answer) == (
        "Syarat Nomor Induk Berusaha (NIB) di Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu Kabupaten "
        "Tirtamaya:\n1. NIK (KTP-el)\n2. NPWP bila ada\n3. Alamat email dan nomor WhatsApp aktif\n4. Kode KBLI usaha\n"
        "Sumber: dpmptsp.tirtamaya.example/nib (per 15 September 2026)."
    )


def test_a_service_phrase_beats_a_shared_first_word(catalogue: Catalogue, index: CatalogueIndex) -> None:
    answer = ask(catalogue, index, "bayar pajak motor bawa apa")
    assert (answer.outcome, answer.agency_id, answer.service_id) == (
        Outcome.ANSWERED,
        "samsat",
        "pajak_tahunan",
    )
    assert "1. KTP-el asli sesuai STNK/BPKB\n2. STNK asli" in texts(answer)


def test_a_missing_fact_is_said_with_the_contact_and_an_officer(
    catalogue: Catalogue, index: CatalogueIndex
) -> None:
    answer = ask(catalogue, index, "biaya pbb berapa")
    assert (answer.outcome, answer.missing) == (Outcome.MISSING, [Aspect.FEE])
    (message,) = answer.messages
    assert message.text == (
        "Mohon maaf, informasi biaya untuk Pembayaran dan keberatan PBB-P2 belum tersedia di katalog kami. "
        "Bapak/Ibu dapat menghubungi Mal Pelayanan Publik Kabupaten Tirtamaya melalui telepon 0411-555-0100, "
        "atau berbicara dengan petugas kami."
    )
    assert message.buttons == ({"title": "Bicara dengan petugas", "payload": "/request_human"},)
    own_contact = ask(catalogue, index, "biaya npwp di kantor pajak")
    assert own_contact.outcome is Outcome.ANSWERED  # KPP has the fee: nothing invented, nothing missing
    assert "Gratis" in texts(own_contact)


def test_the_office_answers_for_itself_and_other_places_are_no_match(
    catalogue: Catalogue, index: CatalogueIndex
) -> None:
    assert ask(catalogue, index, "buka jam berapa ya min?").agency_id is None
    assert texts(ask(catalogue, index, "buka jam berapa ya min?")).startswith("Mal Pelayanan Publik")
    office = ask(catalogue, index, "jam buka mpp")
    assert texts(office).startswith(
        "Mal Pelayanan Publik Kabupaten Tirtamaya melayani hari Senin–Kamis pukul 08.00–15.00; "
        "Jumat pukul 08.00–11.30 dan 13.30–15.00 WITA."
    )
    for text in (
        "dinas pertanian buka jam berapa",
        "halo min",
        "lampu jalan mati",
        "berapa lama laporan diproses",
        "gimana cara lapor pungli di dukcapil",
        "mau komplain pelayanan samsat lambat",
    ):
        assert ask(catalogue, index, text).outcome is Outcome.NO_MATCH, text


def test_an_agency_with_several_services_asks_which_one(catalogue: Catalogue, index: CatalogueIndex) -> None:
    answer = ask(catalogue, index, "syarat di dukcapil apa aja")
    assert answer.outcome is Outcome.AMBIGUOUS
    assert [b["title"] for b in answer.messages[0].buttons] == [
        "Perekaman dan pencetakan KTP-el",
        "Penerbitan Kartu Keluarga",
        "Akta kelahiran",
    ]


def test_cuti_bersama_closes_only_with_the_slas_government_category(
    catalogue: Catalogue, index: CatalogueIndex
) -> None:
    # Thursday 24 December 2026, 09.00 WITA: cuti bersama Natal (the `holidays` "government" category).
    moment = datetime(2026, 12, 24, 1, 0, tzinfo=timezone.utc)
    plain = texts(resolve(catalogue, index, "kejari skrg buka?", moment))
    assert "Saat ini (Kamis 09.00 WITA) sedang buka sampai pukul 16.00 WITA." in plain
    with_leave = texts(
        resolve(catalogue, index, "kejari skrg buka?", moment, holiday_categories=("public", "government"))
    )
    assert (
        "sedang libur Cuti Bersama Hari Raya Natal; buka lagi Senin, 28 Desember, pukul 08.00 WITA."
        in with_leave
    )
