"""Answer FAQ topics from the knowledge base, with source and date, split into short messages.

The office's own service catalogue is asked first (actions/catalogue.py): where it answers, its local facts
take precedence over the national topic.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.catalogue import answer_from_catalogue
from actions.faq_live import knowledge_base
from bot.knowledge.faq import render_answer

RETRIEVAL_INTENT = "faq"
# Below this ResponseSelector confidence the topic guess is too weak to answer with facts.
MIN_TOPIC_CONFIDENCE = 0.30


def topic_from_entities(latest_message: Dict[str, Any]) -> Optional[str]:
    """A button payload such as /faq{"faq_topic":"ktp_el"} names the topic directly."""
    for entity in latest_message.get("entities") or []:
        if entity.get("entity") == "faq_topic" and entity.get("value"):
            return str(entity["value"])
    return None


def topic_from_response_selector(latest_message: Dict[str, Any]) -> Optional[str]:
    selector = (latest_message.get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}
    response = selector.get("response") or {}
    key = response.get("intent_response_key") or ""
    if not key.startswith(f"{RETRIEVAL_INTENT}/"):
        return None
    if float(response.get("confidence") or 0.0) < MIN_TOPIC_CONFIDENCE:
        return None
    return key.split("/", 1)[1]


def send_messages(dispatcher: CollectingDispatcher, messages: List[Dict[str, Any]]) -> None:
    for message in messages:
        dispatcher.utter_message(text=message["text"], buttons=message.get("buttons") or [])


class ActionAnswerFaq(Action):
    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        latest = tracker.latest_message or {}
        explicit = topic_from_entities(latest)
        # Local facts first ("syarat ktp di dukcapil sini"), unless a button named a national topic.
        if explicit is None and await answer_from_catalogue(dispatcher, tracker):
            return []
        topic = explicit or topic_from_response_selector(latest)
        # Dashboard edits of an answer apply at once (actions/faq_live.py); the file is the fallback.
        answers = await knowledge_base()
        if topic is None or topic not in answers:
            dispatcher.utter_message(response="utter_default")
            return []
        send_messages(dispatcher, render_answer(topic, answers))
        return []
