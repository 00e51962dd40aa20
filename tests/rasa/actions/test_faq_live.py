"""FAQ answers edited in the dashboard reach citizens without a new model; the file answers when the
service cannot (actions/faq_live.py)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from actions import faq_live
from actions.faq import ActionAnswerFaq
from bot.knowledge.faq import DEFAULT_PATH, load_knowledge_base
from tests.rasa.actions.test_faq_and_fallback import run, selector, tracker_with, user_event


def _document(new_first_part: str) -> dict[str, Any]:
    document = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    document["ktp_el"]["parts"] = [new_first_part]
    return dict(document)


@pytest.fixture(autouse=True)
def fresh_cache() -> Any:
    faq_live.clear_cache()
    yield
    faq_live.clear_cache()


@pytest.mark.asyncio
async def test_the_answer_edited_in_the_dashboard_is_used_and_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    async def fetch() -> dict[str, Any]:
        calls.append(1)
        return _document("IKD kini bisa diaktifkan di kantor Dukcapil.")

    monkeypatch.setattr(faq_live, "_fetch", fetch)
    tracker = tracker_with(user_event("syarat ktp el apa", "faq", response_selector=selector("ktp_el", 0.93)))
    first = await run(ActionAnswerFaq(), tracker)
    second = await run(ActionAnswerFaq(), tracker)
    assert first[0]["text"].startswith("IKD kini bisa diaktifkan di kantor Dukcapil.")
    assert second == first and len(calls) == 1  # within the cache time: one request


@pytest.mark.asyncio
async def test_the_file_answers_when_the_service_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    tracker = tracker_with(user_event("syarat ktp el apa", "faq", response_selector=selector("ktp_el", 0.93)))
    messages = await run(ActionAnswerFaq(), tracker)
    assert messages[0]["text"] == load_knowledge_base()["ktp_el"].parts[0]


@pytest.mark.asyncio
async def test_a_broken_answer_from_the_service_falls_back_to_the_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def fetch() -> dict[str, Any]:
        return {"ktp_el": {"title": "x"}}  # missing fields: rejected by the knowledge-base parser

    monkeypatch.setattr(faq_live, "_fetch", fetch)
    answers = await faq_live.knowledge_base()
    assert answers == load_knowledge_base()
