"""Two-stage fallback: first suggest what the citizen may have meant, then offer an officer.

The service catalogue is asked first (actions/catalogue.py): "kejari tutup jam brp" is answered from the
office's facts even when the NLU was unsure.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.catalogue import answer_from_catalogue
from bot.knowledge.faq import load_knowledge_base

FALLBACK_INTENT = "nlu_fallback"
MAX_SUGGESTIONS = 3
# Intents worth suggesting, with the button title a citizen understands.
SUGGESTABLE_INTENTS = {
    "file_complaint": "Buat pengaduan",
    "check_status": "Cek status laporan",
    "request_human": "Bicara dengan petugas",
    "greet": "Menu utama",
}


def consecutive_fallbacks(tracker: Tracker) -> int:
    """How many user turns in a row, ending with the latest, the NLU could not classify."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent != FALLBACK_INTENT:
            break
        count += 1
    return count


def suggestion_buttons(latest_message: Dict[str, Any]) -> List[Dict[str, str]]:
    """Buttons for the best-ranked intents; an FAQ guess becomes a button for its topic."""
    knowledge_base = load_knowledge_base()
    buttons: List[Dict[str, str]] = []
    for ranked in latest_message.get("intent_ranking") or []:
        name = ranked.get("name")
        if name == "faq":
            selector = (latest_message.get("response_selector") or {}).get("faq") or {}
            key = (selector.get("response") or {}).get("intent_response_key") or ""
            topic = key.split("/", 1)[1] if "/" in key else ""
            if topic in knowledge_base:
                buttons.append(
                    {
                        "title": knowledge_base[topic].title,
                        "payload": f'/faq{{"faq_topic":"{topic}"}}',
                    }
                )
        elif name in SUGGESTABLE_INTENTS:
            buttons.append({"title": SUGGESTABLE_INTENTS[name], "payload": f"/{name}"})
        if len(buttons) == MAX_SUGGESTIONS:
            break
    return buttons


class ActionHandleFallback(Action):
    def name(self) -> str:
        return "action_handle_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        # A question about one of the office's agencies is answered from the catalogue, not guessed at.
        if await answer_from_catalogue(dispatcher, tracker):
            return []
        if consecutive_fallbacks(tracker) >= 2:
            dispatcher.utter_message(
                text=(
                    "Mohon maaf, saya masih belum memahami pesan Bapak/Ibu. "
                    "Apakah Anda ingin dihubungkan dengan petugas kami?"
                ),
                buttons=[
                    {"title": "Ya, hubungkan petugas", "payload": "/request_human"},
                    {"title": "Menu utama", "payload": "/greet"},
                ],
            )
            return []
        buttons = suggestion_buttons(tracker.latest_message or {})
        buttons.append({"title": "Bukan semuanya", "payload": "/greet"})
        dispatcher.utter_message(
            text=(
                "Mohon maaf, saya belum yakin memahami maksud Bapak/Ibu. "
                "Apakah maksud Anda salah satu dari pilihan berikut? "
                "Jika bukan, silakan tulis ulang dengan kalimat lain."
            ),
            buttons=buttons,
        )
        return []
