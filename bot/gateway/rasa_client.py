"""HTTP client of the Rasa server: the REST channel for a turn, the tracker for its NLU result, the status.

Rasa must run with `--enable-api` (the tracker and /status endpoints). Every failure to get a usable answer
(connection refused, timeout, non-2xx status, a body that is not what Rasa sends) is a `RasaUnavailable`;
the caller decides what the citizen sees.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
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
    # The two best real intents (nlu_fallback left out) and their confidence gap: the NLU inbox
    # (bot/modelops/inbox.py) lists turns where the model hesitated between two intents.
    ranking: tuple[tuple[str, float], ...] = ()

    def top_two(self) -> dict[str, Any] | None:
        if len(self.ranking) < 2:
            return None
        (first, p1), (second, p2) = self.ranking[:2]
        return {"first": first, "second": second, "margin": round(p1 - p2, 4)}


# The server a turn started on, so all its requests (webhook, then tracker) reach the same Rasa even when
# the gateway is switched to another server in between (blue/green deploy, bot/modelops/deployer.py).
_pinned_url: ContextVar[str | None] = ContextVar("rasa_pinned_url", default=None)


class RasaClient:
    """Talks to one Rasa server at a time; `switch_to` moves new turns to another (blue/green).

    Requests in flight are counted per server, so the old server of a switch can be drained before it is
    stopped. Reading `base_url` and counting happen without an `await` in between, so on the event loop a
    switch is atomic: each turn sees either the old or the new URL, never a mix.
    """

    def __init__(self, base_url: str, http: httpx.AsyncClient, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http  # owned by the application, which closes it on shutdown
        self.timeout_seconds = timeout_seconds
        self._in_flight: dict[str, int] = {}

    def switch_to(self, base_url: str) -> str:
        """Send every turn that starts from now on to `base_url`; returns the previous URL."""
        previous, self.base_url = self.base_url, base_url.rstrip("/")
        return previous

    def in_flight(self, base_url: str) -> int:
        """Turns and requests under way on that server (a pinned turn counts once, for its whole length)."""
        return self._in_flight.get(base_url.rstrip("/"), 0)

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[str]:
        """Pin the requests made inside to the current server; nested use keeps the outer pin."""
        if _pinned_url.get() is not None:
            yield str(_pinned_url.get())
            return
        url = self.base_url
        self._enter(url)
        token = _pinned_url.set(url)
        try:
            yield url
        finally:
            _pinned_url.reset(token)
            self._leave(url)

    def _enter(self, url: str) -> None:
        self._in_flight[url] = self._in_flight.get(url, 0) + 1

    def _leave(self, url: str) -> None:
        remaining = self._in_flight.get(url, 1) - 1
        if remaining > 0:
            self._in_flight[url] = remaining
        else:
            self._in_flight.pop(url, None)

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
        pinned = _pinned_url.get()
        base = pinned if pinned is not None else self.base_url
        if pinned is None:
            self._enter(base)
        try:
            response = await self.http.request(method, base + path, timeout=timeout, **kwargs)
        except httpx.TimeoutException as error:
            raise RasaUnavailable(f"{method} {path}: no answer within {timeout:g} s") from error
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"{method} {path}: {type(error).__name__}") from error
        finally:
            if pinned is None:
                self._leave(base)
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
        ranking=_ranking(latest_message.get("intent_ranking")),
    )


def _ranking(raw: Any) -> tuple[tuple[str, float], ...]:
    items: list[tuple[str, float]] = []
    for item in raw if isinstance(raw, list) else []:
        name, confidence = _dict(item).get("name"), _confidence(_dict(item).get("confidence"))
        if isinstance(name, str) and name != "nlu_fallback" and confidence is not None:
            items.append((name, confidence))
    return tuple(sorted(items, key=lambda pair: -pair[1])[:2])
