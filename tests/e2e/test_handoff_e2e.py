"""Human handoff end to end: the trained model recognises the request, the action server queues it, an
officer takes the conversation over in the dashboard, the bot falls silent, messages flow both ways, and
after the hand back the bot answers again."""

from __future__ import annotations

import re
import uuid

import httpx
from sqlalchemy import select

from bot.conversations.models import Conversation
from bot.db import Database
from bot.handoff.models import Handoff
from bot.staff.accounts import create_user
from bot.staff.models import Role
from tests.e2e.conftest import Stack

PASSWORD = "kata-sandi-e2e-123"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_NONCE = re.compile(r'name="nonce" value="([^"]+)"')


def csrf(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no csrf_token field"
    return match.group(1)


def waiting_handoff(stack: Stack, sender: str) -> Handoff | None:
    database = Database(stack.database_url)
    try:
        with database.session() as session:
            return session.scalars(
                select(Handoff)
                .join(Conversation, Conversation.id == Handoff.conversation_id)
                .where(Conversation.sender_id == sender)
            ).first()
    finally:
        database.dispose()


def officer_of(stack: Stack, unit: str) -> str:
    username = f"petugas.{uuid.uuid4().hex[:6]}"
    database = Database(stack.database_url)
    try:
        with database.session() as session:
            create_user(session, username, "Sari Wulandari", PASSWORD, Role.PETUGAS, [unit])
    finally:
        database.dispose()
    return username


def login(stack: Stack, username: str) -> httpx.Client:
    client = httpx.Client(base_url=stack.service_url, timeout=30, follow_redirects=False)
    page = client.get("/dashboard/masuk")
    response = client.post(
        "/dashboard/masuk", data={"username": username, "password": PASSWORD, "csrf_token": csrf(page.text)}
    )
    assert response.status_code == 303, response.text
    return client


def updates(stack: Stack, sender: str) -> list[str]:
    messages = stack.updates(sender)["messages"]
    return [str(message["text"]) for message in messages]


def test_officer_takes_over_replies_and_hands_back(stack: Stack) -> None:
    sender = f"e2e-{uuid.uuid4().hex[:10]}"
    answer = "\n".join(str(m.get("text", "")) for m in stack.chat(sender, "saya mau bicara dengan petugas"))
    handoff = waiting_handoff(stack, sender)
    assert handoff is not None, answer
    assert handoff.status == "menunggu" and handoff.reason == "request_human"
    if handoff.ticket_id is None:
        assert "Permintaan Anda sudah kami teruskan, petugas akan segera membalas di sini" in answer
    else:
        assert "di luar jam layanan" in answer and re.search(r"ADU-[0-9A-Z]{8}", answer)
    assert handoff.unit

    officer = login(stack, officer_of(stack, handoff.unit))
    listing = officer.get("/dashboard/percakapan")
    assert f'href="/dashboard/percakapan/{handoff.id}"' in listing.text
    token = csrf(listing.text)
    taken = officer.post(f"/dashboard/percakapan/{handoff.id}/ambil", data={"csrf_token": token})
    assert taken.status_code == 303

    # The bot is silent now: the citizen's message goes to the officer's page only.
    assert stack.chat(sender, "halo, apakah ada orang di sana?") == []
    page = officer.get(f"/dashboard/percakapan/{handoff.id}")
    assert "halo, apakah ada orang di sana?" in page.text
    nonce = _NONCE.search(page.text)
    assert nonce
    reply = "Selamat siang, saya Sari dari layanan pengaduan. Ada yang bisa saya bantu?"
    sent = officer.post(
        f"/dashboard/percakapan/{handoff.id}/balas",
        data={"csrf_token": token, "teks": reply, "nonce": nonce.group(1)},
    )
    assert sent.status_code == 303
    received = updates(stack, sender)
    assert f"Anda sekarang terhubung dengan petugas Sari dari {handoff.unit}." in received
    assert reply in received

    back = officer.post(f"/dashboard/percakapan/{handoff.id}/kembalikan", data={"csrf_token": token})
    assert back.status_code == 303
    assert any(
        text.startswith("Percakapan dikembalikan ke asisten otomatis.") for text in updates(stack, sender)
    )
    again = stack.chat(sender, "halo")
    assert again, "the bot must answer again after the hand back"
    assert "Bicara dengan petugas" in [b["title"] for m in again for b in m.get("buttons", []) or []]  # type: ignore[union-attr,index]
    officer.close()
