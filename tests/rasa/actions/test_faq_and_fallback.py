"""Actions run on trackers built with Tracker.from_dict, as the action server would receive them."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionHandleFallback
from actions.faq import ActionAnswerFaq


def user_event(text: str, intent: str, confidence: float = 0.9, **extra: Any) -> dict[str, Any]:
    parse_data = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": []}
    parse_data.update(extra)
    return {"event": "user", "text": text, "parse_data": parse_data}


def tracker_with(*events: dict[str, Any]) -> Tracker:
    latest = events[-1]["parse_data"]
    return Tracker.from_dict(
        {
            "sender_id": "test",
            "slots": {},
            "latest_message": latest,
            "events": list(events),
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": None,
        }
    )


def selector(topic: str, confidence: float) -> dict[str, Any]:
    return {"faq": {"response": {"intent_response_key": f"faq/{topic}", "confidence": confidence}}}


async def run(action: Any, tracker: Tracker) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, tracker, {})
    return dispatcher.messages


@pytest.mark.asyncio
async def test_faq_answer_from_response_selector_carries_source_and_date() -> None:
    tracker = tracker_with(user_event("syarat ktp el apa", "faq", response_selector=selector("ktp_el", 0.93)))
    messages = await run(ActionAnswerFaq(), tracker)
    assert len(messages) >= 1
    assert "Sumber:" in messages[-1]["text"]
    assert any(button["payload"] == "/greet" for button in messages[-1]["buttons"])


@pytest.mark.asyncio
async def test_faq_button_entity_wins_over_the_selector() -> None:
    event = user_event("/faq", "faq", response_selector=selector("ktp_el", 0.9))
    event["parse_data"]["entities"] = [{"entity": "faq_topic", "value": "paspor"}]
    messages = await run(ActionAnswerFaq(), tracker_with(event))
    assert "paspor" in " ".join(message["text"] for message in messages).lower()


@pytest.mark.asyncio
async def test_weak_topic_guess_is_not_answered_with_facts() -> None:
    tracker = tracker_with(user_event("hmm", "faq", response_selector=selector("sim", 0.05)))
    messages = await run(ActionAnswerFaq(), tracker)
    assert messages == [{**messages[0], "response": "utter_default"}]


@pytest.mark.asyncio
async def test_first_fallback_suggests_intents_as_buttons() -> None:
    event = user_event(
        "lapor jalan",
        "nlu_fallback",
        0.3,
        intent_ranking=[
            {"name": "nlu_fallback", "confidence": 0.3},
            {"name": "file_complaint", "confidence": 0.28},
            {"name": "faq", "confidence": 0.2},
        ],
        response_selector=selector("cara_mengadu", 0.6),
    )
    messages = await run(ActionHandleFallback(), tracker_with(event))
    payloads = [button["payload"] for button in messages[0]["buttons"]]
    assert payloads[0] == "/file_complaint"
    assert '/faq{"faq_topic":"cara_mengadu"}' in payloads
    assert "/request_human" not in payloads


@pytest.mark.asyncio
async def test_second_fallback_in_a_row_offers_an_officer() -> None:
    first = user_event("xx", "nlu_fallback", 0.2)
    bot = {"event": "bot", "text": "Mohon maaf ..."}
    second = user_event("yy", "nlu_fallback", 0.2)
    messages = await run(ActionHandleFallback(), tracker_with(first, bot, second))
    assert messages[0]["buttons"][0]["payload"] == "/request_human"


@pytest.mark.asyncio
async def test_fallback_count_resets_after_an_understood_message() -> None:
    events = (
        user_event("xx", "nlu_fallback", 0.2),
        user_event("halo", "greet", 0.99),
        user_event("yy", "nlu_fallback", 0.2),
    )
    messages = await run(ActionHandleFallback(), tracker_with(*events))
    assert all(button["payload"] != "/request_human" for button in messages[0]["buttons"])
