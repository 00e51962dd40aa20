"""The actions ask the service catalogue first (actions/catalogue.py), against a real bot service with the
fictional test catalogue imported by the documented command; without an answer they behave as before."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from actions.catalogue import ActionAnswerOffice, ActionAnswerOutOfScope
from actions.fallback import ActionHandleFallback
from actions.faq import ActionAnswerFaq
from tests.rasa.actions.conftest import ROOT, SERVICE_PYTHON, Service
from tests.rasa.actions.test_faq_and_fallback import run, selector, tracker_with, user_event

TEST_CATALOGUE = ROOT / "tests" / "catalogue" / "data" / "mpp_tirtamaya.yml"


@pytest.fixture(scope="module")
def imported(service: Service) -> Service:
    subprocess.run(
        [str(SERVICE_PYTHON), "-m", "bot.cli", "catalogue", "import", str(TEST_CATALOGUE)],
        cwd=ROOT,
        env=service.env,
        check=True,
        capture_output=True,
    )
    return service


@pytest.fixture
def catalogue_env(imported: Service, service_env: Service) -> Service:
    return service_env


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(message.get("text")) for message in messages)


@pytest.mark.asyncio
async def test_an_faq_turn_gets_the_local_facts_first(catalogue_env: Service) -> None:
    tracker = tracker_with(
        user_event(
            "syarat bikin NIB di dpmptsp apa aja", "faq", response_selector=selector("perizinan_usaha", 0.8)
        )
    )
    messages = await run(ActionAnswerFaq(), tracker)
    assert messages[0]["text"].startswith(
        "Syarat Nomor Induk Berusaha (NIB) di Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu"
    )
    assert "Sumber: dpmptsp.tirtamaya.example/nib (per 15 September 2026)." in messages[0]["text"]


@pytest.mark.asyncio
async def test_a_national_topic_chosen_with_a_button_skips_the_catalogue(catalogue_env: Service) -> None:
    event = user_event('/faq{"faq_topic":"paspor"}', "faq", response_selector=selector("ktp_el", 0.9))
    event["parse_data"]["entities"] = [{"entity": "faq_topic", "value": "paspor"}]
    messages = await run(ActionAnswerFaq(), tracker_with(event))
    assert "Imigrasi Tirtamaya" not in texts(messages)
    assert "paspor" in texts(messages).lower()


@pytest.mark.asyncio
async def test_fallback_and_out_of_scope_turns_reach_the_catalogue(catalogue_env: Service) -> None:
    fallback = await run(
        ActionHandleFallback(), tracker_with(user_event("kejari tutup jam brp", "nlu_fallback", 0.3))
    )
    assert fallback[0]["text"].startswith(
        "Kejaksaan Negeri Tirtamaya tutup Senin–Jumat pukul 16.00 WITA. Saat ini ("
    )
    oos = await run(
        ActionAnswerOutOfScope(), tracker_with(user_event("samsat buka hari apa?", "out_of_scope"))
    )
    assert oos[0]["text"].startswith(
        "SAMSAT Kabupaten Tirtamaya melayani hari Senin–Jumat pukul 08.00–12.00;"
    )
    unrelated = await run(
        ActionAnswerOutOfScope(), tracker_with(user_event("resep rendang dong", "out_of_scope"))
    )
    assert [message.get("response") for message in unrelated] == ["utter_out_of_scope"]


@pytest.mark.asyncio
async def test_an_ambiguous_name_gives_buttons_and_the_button_is_answered(catalogue_env: Service) -> None:
    first = await run(
        ActionAnswerOutOfScope(), tracker_with(user_event("bpjs buka jam berapa", "out_of_scope"))
    )
    payloads = [button["payload"] for button in first[0]["buttons"]]
    assert payloads == [
        '/ask_office{"agency":"bpjs_kesehatan","aspect":"jam"}',
        '/ask_office{"agency":"bpjs_tk","aspect":"jam"}',
    ]
    event = user_event(payloads[1], "ask_office")
    event["parse_data"]["entities"] = [
        {"entity": "agency", "value": "bpjs_tk"},
        {"entity": "aspect", "value": "jam"},
    ]
    chosen = await run(ActionAnswerOffice(), tracker_with(event))
    assert chosen[0]["text"].startswith(
        "BPJS Ketenagakerjaan Kantor Cabang Tirtamaya melayani hari Senin–Jumat"
    )


@pytest.mark.asyncio
async def test_without_the_service_the_actions_answer_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    oos = await run(
        ActionAnswerOutOfScope(), tracker_with(user_event("samsat buka hari apa?", "out_of_scope"))
    )
    assert [message.get("response") for message in oos] == ["utter_out_of_scope"]
    office = await run(ActionAnswerOffice(), tracker_with(user_event("samsat buka hari apa?", "ask_office")))
    assert [message.get("response") for message in office] == ["utter_office_unknown"]
