"""HTTP client of the Rasa server: the REST channel for a turn, the tracker for its NLU result, the status.

Rasa must run with `--enable-api` (the tracker and /status endpoints). Every failure to get a usable answer
(connection refused, timeout, non-2xx status, a body that is not what Rasa sends) is a `RasaUnavailable`;
the caller decides what the citizen sees.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

logger = logging.getLogger(__name__)

# /health must answer quickly even when Rasa hangs.
STATUS_TIMEOUT_SECONDS = 3.0


class RasaUnavailable(Exception):
    """Rasa did not give a usable answer; the message says why (no citizen text in it)."""


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class BotReply:
    """One item of Rasa's REST channel response."""

    text: str | None = None
    buttons: tuple[Button, ...] = ()
    image: str | None = None
    attachment: Any = None
    custom: Any = None  # json_message / custom payload of a response, kept for channel-specific rendering


@dataclass(frozen=True)
class NluResult:
    """What Rasa's NLU made of the latest user message of a conversation."""

    text: str | None
    intent: str | None
    intent_confidence: float | None
    faq_topic: str | None = None
    faq_confidence: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


class RasaClient:
    """Talks to one Rasa server. `base_url` may be reassigned to switch to another server (blue/green)."""

    def __init__(self, base_url: str, http: httpx.AsyncClient, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http  # owned by the application, which closes it on shutdown
        self.timeout_seconds = timeout_seconds

    async def send_message(
        self, conversation_key: str, text: str, metadata: dict[str, Any], input_channel: str
    ) -> list[BotReply]:
        """One turn through the REST channel; returns the bot's replies in order."""
        body = {
            "sender": conversation_key,
            "message": text,
            "metadata": metadata,
            "input_channel": input_channel,
        }
        data = await self._request("POST", "/webhooks/rest/webhook", self.timeout_seconds, json=body)
        if not isinstance(data, list):
            raise RasaUnavailable("REST channel answered with something other than a list")
        return [parse_reply(item) for item in data if isinstance(item, dict)]

    async def latest_nlu(self, conversation_key: str) -> NluResult | None:
        """NLU result stored in the tracker for the latest user message of the conversation (no new parse)."""
        data = await self._request(
            "GET",
            f"/conversations/{conversation_key}/tracker",
            self.timeout_seconds,
            params={"include_events": "NONE"},
        )
        latest = data.get("latest_message") if isinstance(data, dict) else None
        return parse_nlu(latest) if isinstance(latest, dict) else None

    async def status(self) -> dict[str, Any]:
        """Rasa's /status: answers 200 only when a model is loaded."""
        data = await self._request("GET", "/status", STATUS_TIMEOUT_SECONDS)
        if not isinstance(data, dict):
            raise RasaUnavailable("/status answered with something other than an object")
        return data

    async def _request(self, method: str, path: str, timeout: float, **kwargs: Any) -> Any:
        url = self.base_url + path
        try:
            response = await self.http.request(method, url, timeout=timeout, **kwargs)
        except httpx.TimeoutException as error:
            raise RasaUnavailable(f"{method} {path}: no answer within {timeout:g} s") from error
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"{method} {path}: {type(error).__name__}") from error
        if response.status_code >= 300:
            raise RasaUnavailable(f"{method} {path}: HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError as error:
            raise RasaUnavailable(f"{method} {path}: response is not JSON") from error


def parse_reply(item: dict[str, Any]) -> BotReply:
    text = item.get("text")
    image = item.get("image")
    return BotReply(
        text=text if isinstance(text, str) else None,
        buttons=parse_buttons(item.get("buttons")),
        image=image if isinstance(image, str) else None,
        attachment=item.get("attachment"),
        custom=item.get("custom"),
    )


def parse_buttons(raw: Any) -> tuple[Button, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(
        Button(title=button["title"], payload=button["payload"])
        for button in raw
        if isinstance(button, dict)
        and isinstance(button.get("title"), str)
        and isinstance(button.get("payload"), str)
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _confidence(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def parse_nlu(latest_message: dict[str, Any]) -> NluResult:
    """Intent and, for `faq` turns, the response selector's topic ("faq/ktp_el" -> "ktp_el")."""
    intent = _dict(latest_message.get("intent"))
    intent_name = intent.get("name")
    faq_topic: str | None = None
    faq_confidence: float | None = None
    if intent_name == "faq":
        # The selector predicts a topic for every message; it only means something when the intent is faq.
        response = _dict(_dict(_dict(latest_message.get("response_selector")).get("faq")).get("response"))
        key = response.get("intent_response_key")
        if isinstance(key, str) and key:
            faq_topic = key.split("/", 1)[1] if "/" in key else key
            faq_confidence = _confidence(response.get("confidence"))
    text = latest_message.get("text")
    return NluResult(
        text=text if isinstance(text, str) else None,
        intent=intent_name if isinstance(intent_name, str) else None,
        intent_confidence=_confidence(intent.get("confidence")),
        faq_topic=faq_topic,
        faq_confidence=faq_confidence,
        metadata=_dict(latest_message.get("metadata")),
    )
