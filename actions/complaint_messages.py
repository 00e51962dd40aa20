"""What the complaint conversation says: summary, confirmation and category buttons (pure functions)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Dict, List, Optional

from bot.knowledge.faq import format_date_id

SKIPPED = "lewati"
UNKNOWN_DATE = "tidak_diketahui"
EDITABLE_FIELDS = {
    "complaint_description": "Ubah kejadian",
    "complaint_location": "Ubah lokasi",
    "complaint_date": "Ubah tanggal",
    "complaint_category": "Ubah kategori",
}


def mask_phone(phone: str) -> str:
    """+6281234567890 -> +62812****7890: enough for the citizen to recognise it, not to copy it."""
    return phone[:6] + "*" * max(0, len(phone) - 10) + phone[-4:] if len(phone) > 10 else phone


def describe_date(value: Optional[str]) -> str:
    if not value or value == UNKNOWN_DATE:
        return "tidak diketahui"
    return format_date_id(date.fromisoformat(value))


def shorten(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def photo_count(value: Optional[str]) -> int:
    if not value or value == SKIPPED:
        return 0
    return len([part for part in value.split(",") if part.strip()])


def summary_text(slots: Dict[str, Any], category_label: str) -> str:
    anonymous = bool(slots.get("complaint_anonymous"))
    contact = slots.get("complaint_contact")
    photos = photo_count(slots.get("complaint_photo"))
    lines = [
        "Mohon periksa ringkasan pengaduan Anda:",
        f"• Kejadian: {shorten(str(slots.get('complaint_description') or '-'))}",
        f"• Lokasi: {slots.get('complaint_location') or '-'}",
        f"• Tanggal kejadian: {describe_date(slots.get('complaint_date'))}",
        f"• Kategori: {category_label}",
        f"• Foto: {f'{photos} foto' if photos else 'tidak ada'}",
        "• Identitas: " + ("tanpa nama (anonim)" if anonymous else "dirahasiakan, hanya untuk petugas"),
    ]
    if not anonymous:
        lines.append(f"• Kontak: {mask_phone(contact) if contact and contact != SKIPPED else 'tidak diisi'}")
    lines.append("Apakah sudah benar? Pilih Kirim, atau ubah bagian yang keliru.")
    return "\n".join(lines)


def summary_buttons() -> List[Dict[str, str]]:
    buttons = [{"title": "Kirim", "payload": "kirim"}]
    buttons += [{"title": title, "payload": title.lower()} for title in EDITABLE_FIELDS.values()]
    buttons.append({"title": "Batal", "payload": "/cancel"})
    return buttons


def field_to_edit(text: str) -> Optional[str]:
    lowered = text.lower()
    if not re.search(r"\b(ubah|ganti|koreksi|perbaiki|salah)\b", lowered):
        return None
    keywords = {
        "complaint_description": ("kejadian", "isi", "cerita", "deskripsi", "masalah"),
        "complaint_location": ("lokasi", "alamat", "tempat"),
        "complaint_date": ("tanggal", "waktu", "kapan", "hari"),
        "complaint_category": ("kategori", "jenis"),
    }
    for slot, words in keywords.items():
        if any(word in lowered for word in words):
            return slot
    return None


def filed_confirmation(ticket: Dict[str, Any]) -> str:
    deadlines = ticket.get("deadlines") or {}
    first_answer = (deadlines.get("first_response") or {}).get("due_label")
    verification = (deadlines.get("verification") or {}).get("due_label")
    lines = [
        f"Pengaduan Anda sudah kami terima dengan kode {ticket['code']}.",
        f"Unit yang menangani: {ticket.get('unit', '-')}.",
    ]
    if verification:
        lines.append(f"Laporan akan diverifikasi paling lambat {verification}.")
    if first_answer:
        lines.append(f"Tanggapan pertama paling lambat {first_answer}.")
    lines.append(f'Simpan kode ini. Untuk mengecek, ketik "cek status {ticket["code"]}".')
    return "\n".join(lines)


def category_buttons(
    categories: List[Dict[str, str]], first: Optional[List[str]] = None
) -> List[Dict[str, str]]:
    """All categories as buttons, the suggested ones first (titles fit WhatsApp's 20 characters)."""
    by_code = {category["code"]: category for category in categories}
    order = [code for code in first or [] if code in by_code]
    order += [code for code in by_code if code not in order]
    return [{"title": by_code[code]["label"][:20], "payload": code} for code in order]
