"""Status check: by tracking code, or by listing the sender's own recent complaints as buttons."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional
from urllib.parse import quote

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.channel import channel_identity, message_metadata
from actions.service_client import ServiceUnavailable, request

TICKET_CODE = re.compile(r"\bADU-[0-9A-HJKMNP-TV-Z]{8}\b", re.IGNORECASE)
MAX_LISTED = 5


def code_in_message(latest_message: Dict[str, Any]) -> Optional[str]:
    for entity in latest_message.get("entities") or []:
        if entity.get("entity") == "ticket_code" and entity.get("value"):
            return str(entity["value"]).upper()
    match = TICKET_CODE.search(str(latest_message.get("text") or ""))
    return match.group(0).upper() if match else None


def client_key_of(tracker: Tracker) -> Optional[str]:
    """The web chat's client key (a keyed hash of the citizen's address) the gateway put in the metadata:
    the service also counts wrong codes per address, so a fresh web-chat session does not reset the count."""
    value = message_metadata(tracker).get("client_key")
    return value if isinstance(value, str) and 0 < len(value) <= 64 else None


def status_button(code: str) -> Dict[str, str]:
    return {"title": code, "payload": f'/check_status{{"ticket_code":"{code}"}}'}


def status_text(ticket: Dict[str, Any]) -> str:
    lines = [
        f"Status laporan {ticket['code']}: {ticket['status_label']}.",
        str(ticket.get("status_explanation") or "").strip(),
        f"Unit yang menangani: {ticket['unit']}.",
        f"Pembaruan terakhir: {ticket['last_update_label']}.",
    ]
    answer = ticket.get("latest_officer_answer")
    if answer:
        lines.append(f"Tanggapan petugas ({answer['created_label']}): \"{answer['text']}\"")
    deadlines = ticket.get("deadlines") or {}
    if deadlines.get("paused"):
        lines.append("Batas waktu sedang dihentikan sementara karena petugas menunggu keterangan dari Anda.")
    elif ticket["status"] not in ("selesai", "ditolak", "diarsipkan"):
        first = deadlines["first_response"]
        resolution = deadlines["resolution"]
        if not first.get("met_at"):
            lines.append(f"Batas waktu tanggapan pertama: {first['due_label']}.")
        lines.append(f"Batas waktu penyelesaian: {resolution['due_label']}.")
    return "\n".join(line for line in lines if line)


class ActionCheckStatus(Action):
    def name(self) -> str:
        return "action_check_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        channel, sender_id = channel_identity(tracker)
        code = code_in_message(tracker.latest_message or {})
        try:
            if code:
                await self._one(dispatcher, code, channel, sender_id, client_key_of(tracker))
            else:
                await self._list(dispatcher, channel, sender_id)
        except ServiceUnavailable:
            dispatcher.utter_message(
                text="Mohon maaf, pengecekan status sedang mengalami gangguan. Silakan coba lagi beberapa saat lagi."
            )
        return [SlotSet("ticket_code", None)]

    async def _one(
        self,
        dispatcher: CollectingDispatcher,
        code: str,
        channel: str,
        sender_id: str,
        client_key: Optional[str],
    ) -> None:
        params = {"channel": channel, "sender_id": sender_id}
        if client_key:
            params["client_key"] = client_key
        response = await request("GET", f"/api/v1/tickets/{quote(code)}", params=params)
        if response.status == 200:
            dispatcher.utter_message(
                text=status_text(response.body),
                buttons=[
                    {"title": "Bicara dengan petugas", "payload": "/request_human"},
                    {"title": "Menu utama", "payload": "/greet"},
                ],
            )
        elif response.status == 429:
            dispatcher.utter_message(
                text="Terlalu banyak percobaan kode yang tidak ditemukan. Silakan coba lagi dalam beberapa menit."
            )
        else:
            dispatcher.utter_message(
                text=f"Laporan {code} tidak ditemukan untuk akun Anda. Pastikan kodenya benar dan Anda "
                "mengeceknya dari akun chat yang sama dengan saat melapor.",
                buttons=[
                    {"title": "Laporan saya", "payload": "/check_status"},
                    {"title": "Bicara dengan petugas", "payload": "/request_human"},
                ],
            )

    async def _list(self, dispatcher: CollectingDispatcher, channel: str, sender_id: str) -> None:
        response = await request(
            "GET",
            f"/api/v1/reporters/{quote(channel, safe='')}/{quote(sender_id, safe='')}/tickets",
            params={"limit": str(MAX_LISTED)},
        )
        tickets = (response.body.get("tickets") or [])[:MAX_LISTED] if response.status == 200 else []
        if not tickets:
            dispatcher.utter_message(
                text="Belum ada laporan dari akun Anda. Jika punya kode laporan, ketik misalnya "
                '"cek status ADU-XXXXXXXX".',
                buttons=[
                    {"title": "Buat pengaduan", "payload": "/file_complaint"},
                    {"title": "Menu utama", "payload": "/greet"},
                ],
            )
            return
        lines = ["Laporan terbaru Anda:"] + [
            f"• {ticket['code']} — {ticket['category_label']}, {ticket['status_label']} ({ticket['created_label']})"
            for ticket in tickets
        ]
        lines.append("Pilih kode laporan untuk melihat rinciannya.")
        dispatcher.utter_message(text="\n".join(lines), buttons=[status_button(t["code"]) for t in tickets])
