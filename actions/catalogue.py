"""Local facts first: the service catalogue answers questions about the office's agencies and services.

The FAQ, fallback and out-of-scope actions ask the bot service's catalogue (`POST /api/v1/catalogue/answer`,
service token) before their own answer, so "samsat buka hari apa?" gets that office's days and hours in
every channel, whatever intent the NLU chose; the catalogue's buttons come back as `/ask_office{...}` with
the `agency`, `service` and `aspect` entities, read by `action_answer_office`. The catalogue is matched at
run time by the service: a catalogue change needs no new model. When the service is slow or down, the
caller answers as it would without a catalogue.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional

import aiohttp
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.service_client import auth_headers, service_url

logger = logging.getLogger(__name__)

ANSWER_PATH = "/api/v1/catalogue/answer"
# A chat turn waits on this call: a slow service must not hold the citizen.
TIMEOUT_SECONDS = 2.0
ENTITIES = ("agency", "service", "aspect")


def entity_values(latest_message: Dict[str, Any]) -> Dict[str, str]:
    values: Dict[str, str] = {}
    for entity in latest_message.get("entities") or []:
        name = entity.get("entity")
        if name in ENTITIES and entity.get("value") and name not in values:
            values[name] = str(entity["value"])
    return values


async def ask_catalogue(text: str, choice: Optional[Dict[str, str]] = None) -> Optional[Dict[str, Any]]:
    """The catalogue's answer (outcome and messages), or None when it has none or cannot be asked."""
    choice = choice or {}
    body: Dict[str, Any] = {"text": text if not text.startswith("/") else ""}
    if choice.get("agency"):
        body["agency"] = choice["agency"]
    if choice.get("service"):
        body["service"] = choice["service"]
    if choice.get("aspect"):
        body["aspects"] = choice["aspect"]
    if not body["text"].strip() and "agency" not in body:
        return None
    try:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.post(
                f"{service_url()}{ANSWER_PATH}", json=body, headers=auth_headers()
            ) as response:
                if response.status != 200:
                    logger.warning("catalogue answer: HTTP %s", response.status)
                    return None
                answer = await response.json(content_type=None)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
        logger.warning("catalogue unavailable (%s); answering without it", type(error).__name__)
        return None
    if not isinstance(answer, dict) or answer.get("outcome") == "no_match" or not answer.get("messages"):
        return None
    return answer


def send(dispatcher: CollectingDispatcher, answer: Dict[str, Any]) -> None:
    for message in answer.get("messages") or []:
        dispatcher.utter_message(text=str(message.get("text", "")), buttons=message.get("buttons") or [])


async def answer_from_catalogue(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """Send the catalogue's answer to the latest message; False when the catalogue has none."""
    latest = tracker.latest_message or {}
    answer = await ask_catalogue(str(latest.get("text") or ""), entity_values(latest))
    if answer is None:
        return False
    send(dispatcher, answer)
    return True


class ActionAnswerOffice(Action):
    """`ask_office` (a catalogue button, or a question the NLU recognised as one)."""

    def name(self) -> str:
        return "action_answer_office"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        if not await answer_from_catalogue(dispatcher, tracker):
            dispatcher.utter_message(response="utter_office_unknown")
        return []


class ActionAnswerOutOfScope(Action):
    """Out of scope for the national topics may still be a question about one of the office's agencies."""

    def name(self) -> str:
        return "action_answer_out_of_scope"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        if not await answer_from_catalogue(dispatcher, tracker):
            dispatcher.utter_message(response="utter_out_of_scope")
        return []
