"""Handoff in a real browser: a citizen asks for a person, an officer takes the conversation over, sees
the citizen's new messages arrive live, answers, and hands the conversation back to the bot."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import STAFF, LiveService, login, screenshot
from tests.service import fake_rasa
from tests.service.fake_rasa import Turn

ASK_FOR_PERSON = "saya mau bicara dengan petugas saja"
BOT_FORWARDS = "Permintaan Anda sudah kami teruskan, petugas akan segera membalas di sini."


@pytest.fixture
def scripted_rasa(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        fake_rasa.CANNED,
        ASK_FOR_PERSON,
        Turn(intent="request_human", confidence=0.96, replies=[{"text": BOT_FORWARDS}]),
    )


def test_officer_takes_over_answers_live_and_hands_back(
    page: Page, live: LiveService, scripted_rasa: None
) -> None:
    citizen = live.citizen()
    assert citizen.say("halo") == ["Halo! Ada yang bisa kami bantu?"]
    # The citizen's open ticket decides which unit's officers get the request.
    ticket = live.file_ticket(citizen, "Jalan berlubang di depan SDN 3, sudah dua minggu belum diperbaiki.")
    assert citizen.say(ASK_FOR_PERSON) == [BOT_FORWARDS]
    # What the action server's `action_request_human` does for that turn.
    requested = live.api(
        "POST",
        "/api/v1/handoffs",
        json={"channel": "web", "sender_id": citizen.sender, "reason": "request_human"},
    )
    assert requested.status_code == 201, requested.text
    body = requested.json()
    assert body["status"] == "menunggu" and body["unit"] == ticket.unit and body["office_open"] is True

    login(page, STAFF.petugas_pu)
    page.get_by_role("link", name="Menunggu petugas").click()
    page.wait_for_url("**/dashboard/percakapan")
    waiting = page.get_by_role("region", name="Menunggu petugas (1)")
    expect(waiting).to_contain_text(ASK_FOR_PERSON)
    waiting.get_by_role("link", name=f"#{body['handoff_id']}").click()
    page.wait_for_url(f"**/dashboard/percakapan/{body['handoff_id']}")
    expect(page.get_by_text(ASK_FOR_PERSON).first).to_be_visible()
    page.get_by_role("button", name="Ambil alih").click()
    expect(page.get_by_role("button", name="Kembalikan ke asisten otomatis")).to_be_visible()
    assert citizen.wait_for("terhubung dengan petugas")["text"] == (
        f"Anda sekarang terhubung dengan petugas Putu dari {ticket.unit}."
    )

    # The citizen writes again: it goes to the officer, not to Rasa, and shows up without a reload.
    rasa_turns = len(live.fake_rasa.webhook_calls)
    page.evaluate("window.stillTheSamePage = true")
    question = "Pak, lubangnya makin besar <b>tolong</b>, kapan diperbaiki?"
    assert citizen.say(question) == []
    assert len(live.fake_rasa.webhook_calls) == rasa_turns
    expect(page.locator("#pesan").get_by_text(question)).to_be_visible()
    assert page.evaluate("window.stillTheSamePage === true"), "the page reloaded instead of updating live"
    screenshot(page, "percakapan")

    answer = "Baik Bapak/Ibu, tim jalan kami meninjau lokasi besok pagi. Terima kasih atas laporannya."
    page.get_by_label("Balasan untuk warga").fill(answer)
    page.get_by_role("button", name="Kirim").click()
    assert citizen.wait_for(answer)["text"] == answer
    expect(page.locator("#pesan").get_by_text(answer)).to_be_visible()

    page.get_by_role("button", name="Kembalikan ke asisten otomatis").click()
    returned = citizen.wait_for("dikembalikan ke asisten otomatis")
    assert [b["title"] for b in returned["buttons"]] == ["Menu utama"]
    expect(page.get_by_role("status")).to_have_text("Percakapan dikembalikan ke asisten otomatis.")
    expect(page.get_by_role("region", name="Percakapan yang Anda tangani (0)")).to_be_visible()
    # The next message reaches the bot again.
    assert citizen.say("halo") == ["Halo! Ada yang bisa kami bantu?"]
    assert len(live.fake_rasa.webhook_calls) == rasa_turns + 1
