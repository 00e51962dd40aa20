"""A citizen asks for a person: the bot service queues the request for an officer (and, outside office
hours, keeps it as a ticket); this action tells the citizen what happens next."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.channel import channel_identity
from actions.service_client import ServiceUnavailable, request

FALLBACK_ACTION = "action_handle_fallback"
COMPLAINT_FORM = "complaint_form"

WITHIN_HOURS = (
    "Permintaan Anda sudah kami teruskan, petugas akan segera membalas di sini. "
    "Mohon tetap di percakapan ini. Sambil menunggu, Bapak/Ibu masih bisa bertanya kepada asisten otomatis."
)
STILL_WAITING = (
    "Permintaan Anda sudah kami terima sebelumnya dan masih dalam antrean. "
    "Petugas akan membalas di percakapan ini secepatnya. Mohon kesediaannya menunggu."
)
SERVICE_DOWN = (
    "Mohon maaf, permintaan untuk berbicara dengan petugas belum dapat kami teruskan karena gangguan "
    "sistem. Silakan coba lagi beberapa saat lagi."
)
MENU_BUTTON = {"title": "Menu utama", "payload": "/greet"}


def handoff_reason(tracker: Tracker) -> str:
    """Why the citizen is handed over: from the fallback's offer, in the middle of a complaint, or asked."""
    if (tracker.active_loop or {}).get("name") == COMPLAINT_FORM:
        return "complaint_form"
    seen_user_turn = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            if seen_user_turn:
                break
            seen_user_turn = True
        elif kind == "action" and seen_user_turn:
            name = event.get("name")
            if name == "action_listen":
                continue
            if name == FALLBACK_ACTION:
                return "fallback"
            if name == COMPLAINT_FORM:
                return "complaint_form"
            break
    return "request_human"


def outside_hours_text(next_opening_label: Optional[str], ticket_code: Optional[str]) -> str:
    when = f"mulai {next_opening_label}" if next_opening_label else "pada jam layanan berikutnya"
    lines = [
        "Saat ini di luar jam layanan petugas.",
        f"Petugas kami akan membalas di percakapan ini {when}.",
    ]
    if ticket_code:
        lines.append(
            f"Permintaan Anda sudah kami catat dengan kode {ticket_code}, "
            "sehingga tidak akan terlewat. Anda bisa mengecek statusnya kapan saja."
        )
    lines.append("Sambil menunggu, Bapak/Ibu masih bisa bertanya kepada asisten otomatis.")
    return "\n".join(lines)


def answer_text(body: Dict[str, Any]) -> str:
    if body.get("status") == "aktif":
        return "Anda sudah terhubung dengan petugas. Silakan lanjutkan percakapan di sini."
    if not body.get("office_open"):
        return outside_hours_text(body.get("next_opening_label"), body.get("ticket_code"))
    return WITHIN_HOURS if body.get("created", True) else STILL_WAITING


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        channel, sender_id = channel_identity(tracker)
        payload = {"channel": channel, "sender_id": sender_id, "reason": handoff_reason(tracker)}
        try:
            response = await request("POST", "/api/v1/handoffs", json=payload)
        except ServiceUnavailable:
            dispatcher.utter_message(text=SERVICE_DOWN, buttons=[MENU_BUTTON])
            return []
        if response.status not in (200, 201):
            dispatcher.utter_message(text=SERVICE_DOWN, buttons=[MENU_BUTTON])
            return []
        dispatcher.utter_message(text=answer_text(response.body))
        return []
