"""Complaints end to end through POST /api/v1/chat, the trained model, the action server and the API."""

from __future__ import annotations

import re
import time
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.e2e.conftest import Stack
from tests.e2e.test_conversation_basics import button_titles, texts

CODE = re.compile(r"ADU-[0-9A-Z]{8}")
NARRATION = "lampu jalan di gang mawar mati semua sejak minggu lalu, gelap banget"


def days_ago(days: int) -> str:
    """The ISO date `days` before today where the bot serves (incident dates are Jakarta dates)."""
    today: date = datetime.now(ZoneInfo("Asia/Jakarta")).date()
    return (today - timedelta(days=days)).isoformat()


def payloads(messages: list[dict[str, object]]) -> list[str]:
    return [
        str(button["payload"])  # type: ignore[index]
        for message in messages
        for button in message.get("buttons", []) or []  # type: ignore[union-attr]
    ]


def answer_for(messages: list[dict[str, object]], asked: list[str]) -> str:
    """What a cooperative citizen answers to the bot's latest question."""
    text = texts(messages).lower()
    if "ringkasan" in text:
        asked.append("confirm")
        return "kirim"
    if "dengan melanjutkan" in text or "setuju" in " ".join(button_titles(messages)).lower():
        asked.append("consent")
        return "setuju"
    if "nomor hp" in text:
        asked.append("contact")
        return "0812-3456-7890"
    if "anonim" in text:
        asked.append("anonymous")
        return "tidak"
    if "foto" in text:
        asked.append("photo")
        return "lewati"
    if "kategori" in text:
        asked.append("category")
        return "infrastruktur" if "infrastruktur" in payloads(messages) else payloads(messages)[0]
    if "kapan kejadiannya" in text:
        asked.append("date")
        return "minggu lalu"
    if "di mana lokasinya" in text:
        asked.append("location")
        return "Gang Mawar RT 03 RW 05"
    if "apa yang terjadi" in text:
        asked.append("description")
        return "Lampu jalan mati semua sejak minggu lalu, jalan jadi gelap"
    raise AssertionError(f"unexpected bot turn: {texts(messages)}")


def file_complaint(
    stack: Stack, sender: str, first_message: str
) -> tuple[list[dict[str, object]], list[str]]:
    messages = stack.chat(sender, first_message)
    asked: list[str] = []
    for _ in range(12):
        if CODE.search(texts(messages)) or "sudah kami simpan" in texts(messages):
            return messages, asked
        messages = stack.chat(sender, answer_for(messages, asked))
    raise AssertionError(f"no tracking code after 12 turns; asked {asked}")


def test_narrated_complaint_is_filed_routed_and_visible_only_to_its_reporter(stack: Stack) -> None:
    sender = f"warga-{uuid.uuid4().hex[:8]}"
    messages, asked = file_complaint(stack, sender, NARRATION)

    # The narration already said what, where and when: those are not asked again.
    assert not {"description", "location", "date"} & set(asked)
    assert asked[-1] == "confirm"
    confirmation = texts(messages)
    code = CODE.search(confirmation).group(0)  # type: ignore[union-attr]
    assert "Dinas" in confirmation  # the responsible unit
    assert "paling lambat" in confirmation  # the deadline date

    ticket = stack.api("GET", f"/api/v1/tickets/{code}", params={"channel": "web", "sender_id": sender})
    assert ticket.status_code == 200
    body = ticket.json()
    assert body["category"] == "infrastruktur"
    assert body["status"] == "belum_diverifikasi"
    assert body["location_text"] == "gang mawar"
    assert body["incident_date"] == days_ago(7)  # "sejak minggu lalu"
    assert body["description"] == NARRATION
    assert body["is_anonymous"] is False

    status = texts(stack.chat(sender, f"cek status {code}"))
    assert code in status and "Belum diverifikasi" in status

    stranger = texts(stack.chat(f"lain-{uuid.uuid4().hex[:8]}", f"cek status {code}"))
    assert "tidak ditemukan untuk akun Anda" in stranger
    assert "Dinas" not in stranger and "gang mawar" not in stranger.lower()

    listed = stack.chat(sender, "laporan saya gimana?")
    assert f'/check_status{{"ticket_code":"{code}"}}' in payloads(listed)


def test_generic_opener_asks_every_question_and_can_be_cancelled(stack: Stack) -> None:
    sender = f"warga-{uuid.uuid4().hex[:8]}"
    opening = stack.chat(sender, "mau lapor")
    first = texts(opening)
    assert "Apa yang terjadi" in first
    assert len(opening) == 2  # the intro and the first question, no validation noise
    assert "Mohon" not in first
    cancelled = texts(stack.chat(sender, "batal"))
    assert "dibatalkan" in cancelled
    # After cancelling, the bot is back to normal conversation.
    assert "Tanya layanan" in button_titles(stack.chat(sender, "halo"))


def test_faq_question_in_the_middle_is_answered_and_the_form_continues(stack: Stack) -> None:
    sender = f"warga-{uuid.uuid4().hex[:8]}"
    stack.chat(sender, "mau lapor")
    stack.chat(sender, "Jalan di depan sekolah berlubang besar dan sudah ada motor jatuh")
    # The bot now asks for the location; the citizen asks something else first.
    interlude = texts(stack.chat(sender, "eh btw syarat bikin ktp el apa aja?"))
    assert "Sumber:" in interlude
    assert "lanjutkan" in interlude.lower()
    assert "lokasinya" in interlude.lower()


def test_complaint_is_filed_once_when_the_service_comes_back(stack: Stack) -> None:
    sender = f"warga-{uuid.uuid4().hex[:8]}"
    narration = "sampah di TPS pasar baru numpuk gak diangkut seminggu, baunya parah"
    messages = stack.chat(sender, narration)
    asked: list[str] = []
    answers: dict[str, str] = {}
    while "ringkasan" not in texts(messages).lower():
        reply = answer_for(messages, asked)
        answers[asked[-1]] = reply
        messages = stack.chat(sender, reply)
    stack.api_server.stop(kill=True)
    try:
        saved = texts(stack.chat(sender, "kirim"))
        assert "sudah kami simpan" in saved
    finally:
        stack.api_server.start()
        stack.api_server.wait_healthy()

    deadline = time.monotonic() + 60
    code = None
    while time.monotonic() < deadline and code is None:
        updates = stack.updates(sender)
        found = CODE.search(" ".join(m["text"] for m in updates["messages"]))
        code = found.group(0) if found else None
        time.sleep(1)
    assert code, "the outbox did not file the complaint after the service came back"
    mine = stack.api("GET", f"/api/v1/reporters/web/{sender}/tickets").json()["tickets"]
    assert [ticket["code"] for ticket in mine] == [code]
    # What the outbox filed is what the citizen said, answered and confirmed before the outage.
    body = stack.api("GET", f"/api/v1/tickets/{code}", params={"channel": "web", "sender_id": sender}).json()
    assert body["description"] == narration
    assert body["location_text"] == answers["location"]  # the narration named no place the bot could read
    assert body["incident_date"] == days_ago(7)  # answered "minggu lalu"
    assert body["category"] == answers["category"]
