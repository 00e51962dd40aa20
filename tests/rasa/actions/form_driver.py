"""The complaint form's loop as Rasa 3.6 runs it, for action tests that go from a first message to a ticket.

Rasa's FormAction is small but its order matters for what the actions see, and the incident-date bug
("sejak minggu lalu" filed as 11 December 1930) lived exactly there: at activation Rasa re-validates every
required slot that is already filled, sending the stored values to the validation action as slot candidates.
This driver follows `rasa/core/actions/forms.py` step by step:

1. the user message; `action_start_complaint` runs (rules.yml) and prefills slots from a narration;
2. activation: the required slots already filled are candidates, validated by `validate_complaint_form`;
3. the next empty required slot (the validation action's `required_slots`) is requested with its
   `action_ask_*` or `utter_ask_*`;
4. each answer fills the requested slot from the message text (domain.yml's `from_text` mappings, not for
   the intents they exclude), is validated the same way, and 3. repeats until nothing is missing;
5. `action_submit_complaint` files the ticket with the real service.
Trackers are built with `Tracker.from_dict` from the same events Rasa would send.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.complaint import (
    ActionAskComplaintCategory,
    ActionAskComplaintConfirmed,
    ActionAskComplaintConsent,
    ActionAskComplaintDate,
    ActionStartComplaint,
    ActionSubmitComplaint,
    ValidateComplaintForm,
)

ROOT = Path(__file__).resolve().parents[3]
DOMAIN: dict[str, Any] = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
FORM_SLOTS: list[str] = DOMAIN["forms"]["complaint_form"]["required_slots"]
NOT_FILLED_BY = {"cancel", "request_human"}  # the from_text mappings' not_intent
ASK_ACTIONS: dict[str, type[Action]] = {
    "complaint_date": ActionAskComplaintDate,
    "complaint_category": ActionAskComplaintCategory,
    "complaint_consent": ActionAskComplaintConsent,
    "complaint_confirmed": ActionAskComplaintConfirmed,
}
MAX_TURNS = 20


class FormRun:
    """One citizen's complaint conversation, from the first message to the filed ticket."""

    def __init__(self, sender: str | None = None, channel: str = "web") -> None:
        self.sender = sender or f"u{uuid.uuid4().hex[:10]}"
        self.channel = channel
        self.slots: dict[str, Any] = {}
        self.asked: list[str] = []  # each question the form asked, in order
        self.said: list[dict[str, Any]] = []  # everything the bot said
        self.active = False
        self.turn_events: list[dict[str, Any]] = []  # the events since the citizen's latest message

    # --- what the citizen does --------------------------------------------------------------

    async def start(self, text: str, metadata: dict[str, Any] | None = None) -> None:
        self.turn_events = []
        await self._run(ActionStartComplaint(), self._tracker(text, "file_complaint", metadata))
        self.active = True
        prefilled = {slot: self.slots[slot] for slot in FORM_SLOTS if self.slots.get(slot) is not None}
        if prefilled:
            await self._validate(text, "file_complaint", metadata, prefilled)
        await self._request_next(text, "file_complaint", metadata)

    async def answer(self, text: str, intent: str = "inform", metadata: dict[str, Any] | None = None) -> None:
        assert self.active, "the form is not active"
        self.turn_events = []
        requested = self.slots.get("requested_slot")
        candidates = {} if intent in NOT_FILLED_BY else {requested: text}
        await self._validate(text, intent, metadata, candidates)
        await self._request_next(text, intent, metadata)

    async def complete(self, answers: dict[str, str | list[str]]) -> str:
        """Answers each question from `answers` (slot -> text, or texts for repeated asks), then submits.

        Returns the filed ticket's tracking code. A question with no answer given fails the test: it shows
        that the form asked something the first message had already told it.
        """
        remaining = {
            slot: [value] if isinstance(value, str) else list(value) for slot, value in answers.items()
        }
        for _ in range(MAX_TURNS):
            if not self.active:
                return await self.submit()
            requested = self.slots["requested_slot"]
            assert remaining.get(requested), f"unexpected question {requested}; asked {self.asked}"
            text = remaining[requested].pop(0)
            await self.answer(text, intent=intent_of(text))
        raise AssertionError(f"the form did not finish in {MAX_TURNS} turns; asked {self.asked}")

    async def submit(self) -> str:
        self.turn_events = []
        messages = await self._run(ActionSubmitComplaint(), self._tracker("kirim", "affirm", None))
        code = self.slots.get("ticket_code")
        assert code, f"no ticket filed; the bot said {messages}"
        return str(code)

    # --- what Rasa does ----------------------------------------------------------------------

    def last_texts(self) -> str:
        return "\n".join(
            str(message.get("text") or message.get("response") or "") for message in self.said[-3:]
        )

    async def _validate(
        self, text: str, intent: str, metadata: dict[str, Any] | None, candidates: dict[str, Any]
    ) -> None:
        current = self._tracker(text, intent, metadata, candidates)
        await self._run(ValidateComplaintForm(), current)

    async def _request_next(self, text: str, intent: str, metadata: dict[str, Any] | None) -> None:
        current = self._tracker(text, intent, metadata)
        required = await ValidateComplaintForm().required_slots(
            FORM_SLOTS, CollectingDispatcher(), current, DOMAIN
        )
        missing = [slot for slot in required if self.slots.get(slot) is None]
        if not missing:
            self.slots["requested_slot"] = None
            self.active = False
            return
        self.slots["requested_slot"] = missing[0]
        self.asked.append(missing[0])
        ask = ASK_ACTIONS.get(missing[0])
        if ask is None:
            self.said.append({"response": f"utter_ask_{missing[0]}"})
        else:
            await self._run(ask(), self._tracker(text, intent, metadata))

    async def _run(self, action: Action, current: Tracker) -> list[dict[str, Any]]:
        dispatcher = CollectingDispatcher()
        events = await action.run(dispatcher, current, DOMAIN)
        # Rasa logs the action, then its events (MessageProcessor._log_action_on_tracker).
        self.turn_events += [{"event": "action", "name": action.name()}, *events]
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        self.said.extend(dispatcher.messages)
        return dispatcher.messages

    def _tracker(
        self,
        text: str,
        intent: str,
        metadata: dict[str, Any] | None,
        candidates: dict[str, Any] | None = None,
    ) -> Tracker:
        meta = {"channel": self.channel, "sender_id": self.sender, **(metadata or {})}
        latest = {
            "text": text,
            "intent": {"name": intent, "confidence": 0.95},
            "entities": [],
            "metadata": meta,
        }
        events: list[dict[str, Any]] = [
            {"event": "user", "text": text, "parse_data": latest, "metadata": meta}
        ]
        events += self.turn_events
        # Rasa appends the slot candidates last: FormValidationAction reads the trailing slot events.
        events += [
            {"event": "slot", "name": name, "value": value} for name, value in (candidates or {}).items()
        ]
        return Tracker.from_dict(
            {
                "sender_id": f"{self.channel}:{self.sender}",
                "slots": {**self.slots, **(candidates or {})},
                "latest_message": latest,
                "events": events,
                "paused": False,
                "followup_action": None,
                "active_loop": {"name": "complaint_form"} if self.active else {},
                "latest_action_name": None,
            }
        )


def intent_of(text: str) -> str:
    """The intent the model gives the short answers these tests use (the validators also read the text)."""
    lowered = text.lower()
    if lowered in {"ya", "ya, benar", "setuju", "kirim", "ya, anonim"}:
        return "affirm"
    if lowered in {"tidak", "bukan", "tidak setuju"}:
        return "deny"
    return "inform"
