"""Whole complaint conversations through the form loop (tests/rasa/actions/form_driver.py) to a stored ticket.

Each test reads the ticket back from the real service and checks what was stored — incident date, place,
category, description — not only that a tracking code came back.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from actions.complaint import today_in_jakarta
from tests.rasa.actions.conftest import Service
from tests.rasa.actions.form_driver import FORM_SLOTS, FormRun

PLACE_ANSWER = "Gang Mawar RT 03"
COOPERATIVE: dict[str, str | list[str]] = {
    "complaint_description": "Lampu jalan mati semua, gelap banget kalau malam",
    "complaint_location": PLACE_ANSWER,
    "complaint_date": "minggu lalu",
    "complaint_category": "infrastruktur",
    "complaint_photo": "lewati",
    "complaint_anonymous": "tidak",
    "complaint_contact": "0812-3456-7890",
    "complaint_consent": "setuju",
    "complaint_confirmed": "kirim",
}


def days_ago(days: int) -> date:
    return today_in_jakarta() - timedelta(days=days)


def last_monday() -> date:
    today = today_in_jakarta()
    return today - timedelta(days=today.weekday() or 7)


def last(month: int, day: int) -> date:
    """The most recent `day`/`month` not after today, as a citizen means "5 Maret"."""
    today = today_in_jakarta()
    this_year = date(today.year, month, day)
    return this_year if this_year <= today else date(today.year - 1, month, day)


# Every date form the README promises: (as the citizen writes it, the date it means; None = unknown).
DATE_FORMS: list[tuple[str, Any]] = [
    ("kemarin", lambda: days_ago(1)),
    ("2 hari lalu", lambda: days_ago(2)),
    ("minggu lalu", lambda: days_ago(7)),
    ("Senin lalu", last_monday),
    ("5 Maret", lambda: last(3, 5)),
    ("5/3", lambda: last(3, 5)),
    ("tidak tahu", lambda: None),
]


def stored_ticket(service: Service, run: FormRun, code: str) -> dict[str, Any]:
    response = service.get(f"/api/v1/tickets/{code}", channel=run.channel, sender_id=run.sender)
    assert response.status_code == 200, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


async def test_narrated_complaint_stores_the_date_seven_days_back_and_the_place(service_env: Service) -> None:
    narration = "lampu jalan di gang mawar mati semua sejak minggu lalu, gelap banget kalau malam"
    run = FormRun()
    await run.start(narration)
    code = await run.complete(COOPERATIVE)

    # The narration told what, where and when: none of those was asked again.
    assert not {"complaint_description", "complaint_location", "complaint_date"} & set(run.asked)
    ticket = stored_ticket(service_env, run, code)
    assert ticket["incident_date"] == days_ago(7).isoformat()
    assert ticket["location_text"] == "gang mawar"
    assert ticket["category"] == "infrastruktur"
    assert ticket["description"] == narration
    assert ticket["is_anonymous"] is False
    summary = next(m["text"] for m in run.said if "ringkasan" in str(m.get("text")))
    assert f"Tanggal kejadian: {days_ago(7).day} " in summary and str(days_ago(7).year) in summary
    assert "1930" not in summary


NARRATED_FORMS = [(form, meant) for form, meant in DATE_FORMS if form != "tidak tahu"]  # an answer only


@pytest.mark.parametrize("written, expected", NARRATED_FORMS, ids=[form for form, _ in NARRATED_FORMS])
async def test_each_date_form_narrated_is_stored_as_meant(
    service_env: Service, written: str, expected: Any
) -> None:
    narration = f"jalan berlubang besar di jalan melati sejak {written}, sudah ada motor jatuh"
    run = FormRun()
    await run.start(narration)
    code = await run.complete(COOPERATIVE)

    assert "complaint_date" not in run.asked
    ticket = stored_ticket(service_env, run, code)
    assert ticket["incident_date"] == expected().isoformat()
    assert ticket["location_text"] == "jalan melati"
    assert ticket["description"] == narration


@pytest.mark.parametrize("written, expected", DATE_FORMS, ids=[form for form, _ in DATE_FORMS])
async def test_each_date_form_answered_is_stored_as_meant(
    service_env: Service, written: str, expected: Any
) -> None:
    run = FormRun()
    await run.start("mau lapor")
    code = await run.complete({**COOPERATIVE, "complaint_date": written})

    assert run.asked[:3] == ["complaint_description", "complaint_location", "complaint_date"]
    ticket = stored_ticket(service_env, run, code)
    meant = expected()
    assert ticket["incident_date"] == (meant.isoformat() if meant else None)
    assert ticket["location_text"] == PLACE_ANSWER
    assert ticket["category"] == "infrastruktur"
    assert ticket["description"] == COOPERATIVE["complaint_description"]


async def test_an_iso_date_typed_by_the_citizen_is_read_as_that_date(service_env: Service) -> None:
    typed = days_ago(3).isoformat()
    run = FormRun()
    await run.start("mau lapor")
    code = await run.complete({**COOPERATIVE, "complaint_date": typed})
    assert stored_ticket(service_env, run, code)["incident_date"] == typed


async def test_a_long_ago_date_is_read_back_and_stored_only_when_confirmed(service_env: Service) -> None:
    run = FormRun()
    await run.start("saluran air di gang kenanga mampet terus sejak 10 tahun lalu, tiap hujan banjir")
    assert run.asked[0] == "complaint_date"  # the narration's date is not stored silently
    read_back = run.said[-1]
    assert "lebih dari 5 tahun" in read_back["text"]
    assert [button["title"] for button in read_back["buttons"]] == ["Ya, benar", "Bukan, ubah", "Tidak ingat"]

    code = await run.complete({**COOPERATIVE, "complaint_date": "ya, benar"})
    assert stored_ticket(service_env, run, code)["incident_date"] == days_ago(3650).isoformat()


async def test_a_long_ago_date_rejected_by_the_citizen_is_asked_again(service_env: Service) -> None:
    run = FormRun()
    await run.start("mau lapor")
    code = await run.complete({**COOPERATIVE, "complaint_date": ["8 tahun lalu", "bukan", "kemarin"]})

    assert run.asked.count("complaint_date") == 3
    assert stored_ticket(service_env, run, code)["incident_date"] == days_ago(1).isoformat()


async def test_a_date_before_1945_is_refused_and_asked_again(service_env: Service) -> None:
    run = FormRun()
    await run.start("mau lapor")
    code = await run.complete({**COOPERATIVE, "complaint_date": ["11/12/1930", "2 hari lalu"]})

    assert any("sepertinya keliru" in str(message.get("text")) for message in run.said)
    assert stored_ticket(service_env, run, code)["incident_date"] == days_ago(2).isoformat()


async def test_stored_answers_survive_a_form_reactivated_with_every_slot_filled(service_env: Service) -> None:
    """Rasa re-validates filled slots at activation: stored values (True, +62…, ids) are kept as they are."""
    run = FormRun()
    await run.start("mau lapor")
    for slot in ["complaint_description", "complaint_location", "complaint_date", "complaint_category"]:
        await run.answer(str(COOPERATIVE[slot]))
    await run.answer("lewati")  # photo
    await run.answer("tidak", intent="deny")  # not anonymous
    await run.answer("0812-3456-7890")
    await run.answer("setuju", intent="affirm")
    stored = {slot: run.slots[slot] for slot in ["complaint_date", "complaint_contact", "complaint_consent"]}
    assert stored == {
        "complaint_date": days_ago(7).isoformat(),
        "complaint_contact": "+6281234567890",
        "complaint_consent": True,
    }

    # An interruption deactivated the form; it is activated again with everything filled but the summary.
    validated = dict(run.slots)
    run.active = True
    run.turn_events = []
    prefilled = {slot: validated[slot] for slot in FORM_SLOTS if validated.get(slot) is not None}
    said_before = len(run.said)
    await run._validate("lanjut", "inform", None, prefilled)
    assert {slot: run.slots[slot] for slot in prefilled} == prefilled
    assert run.said[said_before:] == []  # no "Mohon jawab ..." for answers given long ago
