"""Complaint and status actions on Tracker.from_dict trackers, against the real service on SQLite."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import outbox
from actions.complaint import (
    ActionAskComplaintCategory,
    ActionAskComplaintConfirmed,
    ActionStartComplaint,
    ActionSubmitComplaint,
    ValidateComplaintForm,
    normalize_phone,
    today_in_jakarta,
)
from actions.complaint_messages import filed_confirmation
from actions.status import ActionCheckStatus
from tests.rasa.actions.conftest import Service

NARRATION = "lampu jalan di gang mawar mati semua sejak minggu lalu, gelap banget"


def tracker(
    text: str = "",
    intent: str = "file_complaint",
    slots: dict[str, Any] | None = None,
    sender: str | None = None,
    entities: list[dict[str, Any]] | None = None,
    requested_slot: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Tracker:
    sender = sender or f"u{uuid.uuid4().hex[:8]}"
    meta = {"channel": "web", "sender_id": sender, **(metadata or {})}
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.95},
        "entities": entities or [],
        "metadata": meta,
    }
    all_slots = {"requested_slot": requested_slot, **(slots or {})}
    return Tracker.from_dict(
        {
            "sender_id": f"web:{sender}",
            "slots": all_slots,
            "latest_message": latest,
            "events": [{"event": "user", "text": text, "parse_data": latest, "metadata": meta}],
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": "complaint_form"} if requested_slot else {},
            "latest_action_name": None,
        }
    )


async def run(action: Any, current: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, current, {})
    return dispatcher.messages, events


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {event["name"]: event["value"] for event in events if event.get("event") == "slot"}


def complete_slots(**overrides: Any) -> dict[str, Any]:
    slots = {
        "complaint_run_id": uuid.uuid4().hex,
        "complaint_description": NARRATION,
        "complaint_location": "Gang Mawar RT 03",
        "complaint_date": (today_in_jakarta() - timedelta(days=7)).isoformat(),
        "complaint_category": "infrastruktur",
        "complaint_photo": "lewati",
        "complaint_anonymous": False,
        "complaint_contact": "+6281234567890",
        "complaint_consent": True,
        "complaint_consent_notice": "2026-01:" + "a" * 64,
        "complaint_confirmed": True,
    }
    slots.update(overrides)
    return slots


async def validate(slot: str, value: Any, current: Tracker) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Validates `value` as the citizen's answer: the text of the latest message (from_text mapping)."""
    dispatcher = CollectingDispatcher()
    if isinstance(value, str):
        current.latest_message["text"] = value
    method = getattr(ValidateComplaintForm(), f"validate_{slot}")
    result = await method(value, dispatcher, current, {})
    return result, dispatcher.messages


# --- starting ------------------------------------------------------------------------------


async def test_narration_prefills_what_where_and_when() -> None:
    _, events = await run(ActionStartComplaint(), tracker(NARRATION))
    slots = slots_of(events)
    assert slots["complaint_description"] == NARRATION
    assert slots["complaint_location"] == "gang mawar"
    assert slots["complaint_date"] == (today_in_jakarta() - timedelta(days=7)).isoformat()
    assert slots["complaint_run_id"]


async def test_generic_opener_prefills_nothing() -> None:
    messages, events = await run(ActionStartComplaint(), tracker("mau lapor min"))
    assert "complaint_description" not in {k for k, v in slots_of(events).items() if v}
    assert messages[0]["response"] == "utter_complaint_intro"


# --- validation ----------------------------------------------------------------------------


async def test_dates_in_indonesian_and_never_in_the_future() -> None:
    current = tracker(requested_slot="complaint_date")
    result, _ = await validate("complaint_date", "2 hari lalu", current)
    assert result["complaint_date"] == (today_in_jakarta() - timedelta(days=2)).isoformat()
    result, messages = await validate("complaint_date", f"1 Januari {date.today().year + 2}", current)
    assert result["complaint_date"] is None
    assert "tidak boleh lebih dari hari ini" in messages[0]["text"]
    result, _ = await validate("complaint_date", "lupa", current)
    assert result["complaint_date"] == "tidak_diketahui"


async def test_third_failure_offers_skip_or_an_officer() -> None:
    slots = {"complaint_attempts": {"complaint_date": 2}}
    result, messages = await validate(
        "complaint_date", "pokoknya dulu", tracker(slots=slots, requested_slot="complaint_date")
    )
    assert result["complaint_attempts"]["complaint_date"] == 3
    payloads = [button["payload"] for button in messages[0]["buttons"]]
    assert "lewati" in payloads and "/request_human" in payloads


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0812-3456-7890", "+6281234567890"),
        ("+62 812 3456 7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("12345", None),
        ("021 555 1234", None),
    ],
)
def test_indonesian_mobile_numbers(raw: str, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


async def test_shared_location_gives_coordinates() -> None:
    current = tracker(
        metadata={"location": {"latitude": -6.2, "longitude": 106.8}}, requested_slot="complaint_location"
    )
    result, _ = await validate("complaint_location", "", current)
    assert result["complaint_latitude"] == -6.2 and result["complaint_longitude"] == 106.8


async def test_summary_correction_reopens_only_that_field() -> None:
    result, _ = await validate(
        "complaint_confirmed", "ubah lokasi", tracker(requested_slot="complaint_confirmed")
    )
    assert result["complaint_location"] is None and result["complaint_confirmed"] is None
    assert "complaint_description" not in result


async def test_declining_consent_aborts_without_filing() -> None:
    result, messages = await validate(
        "complaint_consent", "tidak setuju", tracker(requested_slot="complaint_consent")
    )
    assert result["complaint_aborted"] is True
    assert "tidak dapat kami catat" in messages[0]["text"]


# --- with the service ----------------------------------------------------------------------


async def test_category_is_suggested_by_triage(service_env: Service) -> None:
    messages, events = await run(
        ActionAskComplaintCategory(), tracker(slots={"complaint_description": NARRATION})
    )
    assert messages[0]["buttons"][0]["payload"] == "infrastruktur"
    assert slots_of(events)["complaint_suggestions"][0] == "infrastruktur"


async def test_summary_lists_the_fields_with_edit_buttons(service_env: Service) -> None:
    messages, _ = await run(ActionAskComplaintConfirmed(), tracker(slots=complete_slots()))
    text = messages[0]["text"]
    assert "Gang Mawar RT 03" in text and "Infrastruktur" in text and "+62812****7890" in text
    assert {"kirim", "ubah lokasi", "/cancel"} <= {b["payload"] for b in messages[0]["buttons"]}


async def test_submit_files_once_and_status_is_private(service_env: Service) -> None:
    sender = f"u{uuid.uuid4().hex[:8]}"
    slots = complete_slots()
    messages, _ = await run(ActionSubmitComplaint(), tracker("kirim", slots=slots, sender=sender))
    code = messages[0]["text"].split("kode ")[1].split(".")[0]
    again, _ = await run(ActionSubmitComplaint(), tracker("kirim", slots=slots, sender=sender))
    assert code in again[0]["text"]  # same form run, same ticket

    ticket = service_env.get(f"/api/v1/tickets/{code}", channel="web", sender_id=sender).json()
    assert ticket["category"] == "infrastruktur"
    assert ticket["location_text"] == "Gang Mawar RT 03"

    own, _ = await run(ActionCheckStatus(), tracker(f"cek status {code}", "check_status", sender=sender))
    assert "Belum diverifikasi" in own[0]["text"]
    other, _ = await run(ActionCheckStatus(), tracker(f"cek status {code}", "check_status"))
    assert "tidak ditemukan untuk akun Anda" in other[0]["text"]
    assert "Gang Mawar" not in other[0]["text"]

    listed, _ = await run(ActionCheckStatus(), tracker("laporan saya gimana", "check_status", sender=sender))
    assert listed[0]["buttons"][0]["payload"] == f'/check_status{{"ticket_code":"{code}"}}'


async def test_service_down_keeps_the_complaint_and_files_it_later(
    service_env: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = f"u{uuid.uuid4().hex[:8]}"
    slots = complete_slots()
    monkeypatch.setenv("SERVICE_URL", "http://127.0.0.1:9")
    messages, _ = await run(ActionSubmitComplaint(), tracker("kirim", slots=slots, sender=sender))
    assert messages[0]["response"] == "utter_complaint_saved_offline"
    assert outbox.pending_count() == 1

    assert outbox.process_due(filed_confirmation) == 0  # still down: kept, retried later
    monkeypatch.setenv("SERVICE_URL", service_env.url)
    monkeypatch.setattr(outbox, "time", type("T", (), {"time": staticmethod(lambda: 10**12)}))
    assert outbox.process_due(filed_confirmation) == 1
    assert outbox.process_due(filed_confirmation) == 0  # filed exactly once
    tickets = service_env.get(f"/api/v1/reporters/web/{sender}/tickets").json()["tickets"]
    assert len(tickets) == 1
    updates = json.dumps(service_env.post("/api/v1/chat/relay/updates", {"sender": sender}).json())
    assert tickets[0]["code"] in updates


async def test_photo_sent_at_another_step_is_kept_for_the_ticket() -> None:
    current = tracker(
        "[foto]", intent="nlu_fallback", requested_slot="complaint_location",
        slots={"complaint_photo": None}, metadata={"attachments": [{"id": 7, "kind": "image"}]},
    )  # fmt: skip
    dispatcher = CollectingDispatcher()
    events = await ValidateComplaintForm().run(dispatcher, current, {"forms": {}, "slots": {}})
    assert {"event": "slot", "name": "complaint_photo", "value": "7", "timestamp": None} in events


async def test_cleared_slots_are_not_validated() -> None:
    result, messages = await validate(
        "complaint_location", None, tracker(requested_slot="complaint_description")
    )
    assert result == {} and messages == []


async def test_photo_answer_keeps_only_media_ids() -> None:
    current = tracker(
        "[foto]", requested_slot="complaint_photo", slots={"complaint_photo": "[foto]"},
        metadata={"attachments": [{"id": 1, "kind": "image"}]},
    )  # fmt: skip
    result, _ = await validate("complaint_photo", "[foto]", current)
    assert result == {"complaint_photo": "1"}
