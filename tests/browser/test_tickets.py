"""The officer's ticket work in a real browser: find it in the queue, read the conversation behind it,
answer the citizen, close it (the citizen gets the notice and the SKM survey), and the unit boundary."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from bot.survey.questions import QUESTIONS
from bot.tickets import service
from bot.tickets.models import Ticket
from bot.tickets.status import TicketStatus
from tests.browser.conftest import (
    STAFF,
    Citizen,
    LiveService,
    login,
    screenshot,
    solid_png,
)
from tests.service import fake_rasa
from tests.service.fake_rasa import Turn

COMPLAINT = "Lampu jalan di Jl. Merdeka mati sejak seminggu, gelap sekali kalau malam."
BOT_ANSWER = "Terima kasih, laporan Anda kami catat dan teruskan ke petugas."
XSS = "<script>alert('xss')</script>"


@pytest.fixture
def scripted_rasa(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake Rasa answers the citizen's complaint as the real bot would."""
    monkeypatch.setitem(
        fake_rasa.CANNED,
        COMPLAINT,
        Turn(intent="file_complaint", confidence=0.95, replies=[{"text": BOT_ANSWER}]),
    )


def reported_ticket(live: LiveService, citizen: Citizen, description: str, image: bool = False) -> Ticket:
    """A citizen who chatted with the bot, then filed a ticket (the conversation is behind it)."""
    assert citizen.say("halo") == ["Halo! Ada yang bisa kami bantu?"]
    assert citizen.say(COMPLAINT) == [BOT_ANSWER]
    return live.file_ticket(citizen, description, image=solid_png() if image else None)


def advance(live: LiveService, ticket: Ticket, *statuses: TicketStatus) -> None:
    with live.database.session() as session:
        row = session.get_one(Ticket, ticket.id)
        for status in statuses:
            service.change_status(session, row, status, "supervisor.pu", "Ditindaklanjuti oleh unit.")
        session.commit()


def test_find_a_ticket_in_the_queue_and_read_its_conversation(
    page: Page, live: LiveService, scripted_rasa: None
) -> None:
    citizen = live.citizen()
    ticket = reported_ticket(live, citizen, f"Lampu jalan mati {XSS} di depan masjid.", image=True)
    other = live.file_ticket(live.citizen(), "Drainase tersumbat di Gang Melati, air meluap ke rumah warga.")
    login(page, STAFF.petugas_pu)
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(2)
    screenshot(page, "antrean")

    page.get_by_label("Cari").fill(ticket.code)
    page.get_by_role("button", name="Terapkan").click()
    expect(rows).to_have_count(1)
    expect(page.get_by_role("link", name=other.code)).to_have_count(0)
    page.get_by_role("link", name=ticket.code).click()
    page.wait_for_url(f"**/dashboard/tiket/{ticket.code}")

    expect(page.get_by_role("heading", level=1)).to_contain_text(ticket.code)
    # The description is shown as text: the script tag is visible and never ran (no dialog; see `page`).
    expect(page.get_by_text(XSS)).to_be_visible()
    assert page.locator("script", has_text="alert('xss')").count() == 0
    # The conversation behind the ticket: the citizen's words and the bot's answers.
    expect(page.get_by_text(COMPLAINT).first).to_be_visible()
    expect(page.get_by_text(BOT_ANSWER).first).to_be_visible()
    expect(page.get_by_text("Halo! Ada yang bisa kami bantu?").first).to_be_visible()
    # The photo renders (decoded by the browser, not a broken image).
    image = page.locator(f"img[src*='/dashboard/tiket/{ticket.code}/lampiran/']").first
    expect(image).to_be_visible()
    image.scroll_into_view_if_needed()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 160
    screenshot(page, "tiket")


def test_reply_reaches_the_citizens_web_chat(page: Page, live: LiveService, scripted_rasa: None) -> None:
    citizen = live.citizen()
    ticket = reported_ticket(live, citizen, "Lampu jalan mati di depan masjid Al-Ikhlas, RT 02/RW 05.")
    citizen.poll()  # the chat already shows the bot's answers; only what comes next matters
    assert not [t for t in citizen.texts() if t.startswith("Balasan petugas")]
    login(page, STAFF.petugas_pu)
    page.goto(f"/dashboard/tiket/{ticket.code}")

    answer = "Selamat malam Bapak/Ibu, tim kami akan memeriksa lampu tersebut besok pagi. 🙏"
    page.get_by_label("Balas pelapor").fill(answer)
    page.get_by_role("button", name="Kirim balasan").click()
    expect(page.get_by_role("status")).to_contain_text("Balasan telah dikirim ke pelapor.")
    expect(page.get_by_text(answer).first).to_be_visible()

    received = citizen.wait_for(answer)["text"]
    assert received == f"Balasan petugas untuk {ticket.code}:\n{answer}"
    # Reloading the page (a re-submitted form) does not send it twice.
    page.reload()
    citizen.poll()
    assert [t for t in citizen.texts() if answer in t] == [received]


def test_closing_as_selesai_sends_the_notice_and_the_survey(
    page: Page, live: LiveService, scripted_rasa: None
) -> None:
    citizen = live.citizen()
    ticket = reported_ticket(live, citizen, "Lampu jalan mati di depan masjid Al-Ikhlas, RT 02/RW 05.")
    advance(live, ticket, TicketStatus.TERVERIFIKASI, TicketStatus.DIPROSES)
    citizen.poll()
    citizen.received.clear()
    login(page, STAFF.petugas_pu)
    page.goto(f"/dashboard/tiket/{ticket.code}")

    page.get_by_text("Ubah status").click()
    page.get_by_label("Status baru").select_option(TicketStatus.SELESAI.value)
    # A note is required for `selesai`; without one the officer is told and nothing changes.
    page.get_by_role("button", name="Simpan status").click()
    expect(page.get_by_role("alert")).to_contain_text("wajib disertai catatan")
    expect(page.get_by_label("Status baru")).to_have_value(TicketStatus.SELESAI.value)  # the choice is kept
    note = "Lampu sudah diganti oleh tim PJU pada hari ini."
    page.get_by_label("Catatan (wajib").fill(note)
    page.get_by_role("button", name="Simpan status").click()
    expect(page.get_by_role("status")).to_have_text("Status laporan diubah menjadi 'Selesai'.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Selesai")
    with live.database.session() as session:
        assert session.get_one(Ticket, ticket.id).status == TicketStatus.SELESAI.value

    notice = citizen.wait_for("Status laporan")
    assert notice["text"] == (
        f'Status laporan {ticket.code} kini: "Selesai". {ticket.unit} sudah selesai menindaklanjuti laporan '
        f'Anda.\nCatatan petugas: "{note}"'
    )
    invitation = citizen.wait_for("Survei Kepuasan Masyarakat")
    assert ticket.code in invitation["text"]
    assert [b["title"] for b in invitation["buttons"]] == ["Isi survei", "Nanti saja"]
    # Tapping "Isi survei" starts the nine SKM questions in the same chat.
    first = citizen.send(invitation["buttons"][0]["payload"])
    assert QUESTIONS[0].text in first[0]["text"]
    assert [b["title"] for b in first[0]["buttons"]] == list(QUESTIONS[0].labels)


def test_an_officer_of_another_unit_gets_not_found(page: Page, live: LiveService) -> None:
    ticket = live.file_ticket(live.citizen(), "Jembatan kayu di Dusun Krajan retak dan berbahaya.")
    login(page, STAFF.petugas_dukcapil)
    expect(page.get_by_role("link", name=ticket.code)).to_have_count(0)
    response = page.goto(f"/dashboard/tiket/{ticket.code}")
    assert response is not None and response.status == 404
    expect(page.locator("main")).to_contain_text("tidak ditemukan")
    expect(page.get_by_text("Jembatan kayu")).to_have_count(0)
