"""The other main pages open in a real browser for the right people: reports (supervisor), the walk-in
counter form, and the public transparency page (no login, no personal data)."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select

from bot.tickets.models import Ticket
from bot.tickets.vocab import Category
from tests.browser.conftest import STAFF, LiveService, login, screenshot

REPORTER = "Sulastri Wahyuningsih"


def seed_tickets(live: LiveService) -> None:
    live.file_ticket(live.citizen(), "Jalan berlubang di Jl. Ahmad Yani km 3.", name=REPORTER)
    live.file_ticket(live.citizen(), "Lampu jalan mati di perempatan Pasar Minggu.")
    live.file_ticket(
        live.citizen(), "KTP-el belum jadi setelah tiga bulan.", category=Category.KEPENDUDUKAN, name=REPORTER
    )


def test_reports_page_for_a_supervisor(page: Page, live: LiveService) -> None:
    seed_tickets(live)
    login(page, STAFF.supervisor_pu)
    page.get_by_role("link", name="Laporan").click()
    page.wait_for_url("**/dashboard/laporan*")
    expect(page.get_by_role("link", name="Laporan")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", level=1)).to_have_text("Laporan pengaduan")
    # Only the supervisor's unit counts: two of the three complaints are for Pekerjaan Umum.
    expect(page.locator(".kpi").first).to_have_text("2 aduan masuk", use_inner_text=True)
    page.wait_for_load_state("networkidle")
    # Chart.js (served locally) drew the chart: a chart object is bound to the canvas.
    assert page.evaluate("window.Chart !== undefined && Chart.getChart('chart-category') !== undefined")
    screenshot(page, "laporan", settle_ms=1500)


def test_reports_are_not_for_a_petugas(page: Page, live: LiveService) -> None:
    login(page, STAFF.petugas_pu)
    expect(page.get_by_role("link", name="Laporan")).to_have_count(0)
    response = page.goto("/dashboard/laporan")
    assert response is not None and response.status == 403


def test_walk_in_complaint_with_the_triage_suggestion(page: Page, live: LiveService) -> None:
    login(page, STAFF.petugas_pu)
    page.get_by_role("link", name="Loket").click()
    page.wait_for_url("**/dashboard/loket")
    expect(page.get_by_role("link", name="Loket")).to_have_attribute("aria-current", "page")
    page.get_by_label("Nama", exact=True).fill("Bapak Slamet")
    description = page.get_by_label("Isi aduan")
    text = "Jalan aspal di depan balai desa berlubang besar dan sering membuat pengendara motor jatuh."
    description.fill(text[:-1])
    description.press_sequentially(text[-1])  # the suggestion follows typing (keyup), as at the counter
    suggestion = page.locator("#triage-suggestion")
    expect(suggestion).to_contain_text("Saran kategori:")
    use = suggestion.get_by_role("button", name="Pakai saran ini")
    suggested = use.get_attribute("data-apply-category")
    use.click()
    expect(page.get_by_label("Kategori")).to_have_value(suggested or "?")
    page.get_by_label("Kategori").select_option(Category.INFRASTRUKTUR.value)
    page.get_by_label("Lokasi kejadian").fill("Balai Desa Sukamaju")
    screenshot(page, "loket")

    # Without the visitor's consent nothing is filed (the browser's own check stops the form first).
    page.get_by_role("button", name="Catat aduan").click()
    expect(page.get_by_role("heading", name="Catat aduan pengunjung loket")).to_be_visible()
    page.get_by_role("checkbox", name="Pengunjung sudah membaca").check()
    page.get_by_role("button", name="Catat aduan").click()
    expect(page.get_by_role("heading", name="Aduan tercatat")).to_be_visible()
    code = page.locator(".tracking-code").inner_text().strip()
    with live.database.session() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.code == code)).one()
        assert (ticket.reporter_channel, ticket.category, ticket.reporter_name) == (
            "loket",
            Category.INFRASTRUKTUR.value,
            "Bapak Slamet",
        )
    # Walk-in and online complaints share one queue.
    page.goto("/dashboard/")
    expect(page.get_by_role("link", name=code)).to_be_visible()


def test_public_transparency_page_needs_no_login_and_shows_no_names(page: Page, live: LiveService) -> None:
    seed_tickets(live)
    response = page.goto("/transparansi")
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("body")).not_to_contain_text(REPORTER)
    expect(page.locator("body")).not_to_contain_text("Jl. Ahmad Yani")
    page.wait_for_load_state("networkidle")
    screenshot(page, "transparansi")


def test_every_page_runs_under_the_content_security_policy(page: Page, live: LiveService) -> None:
    """Each page is served with a CSP that forbids inline script and style, and nothing on it is blocked
    (the `page` fixture fails the test on any violation Chromium reports): scripts, htmx and Chart.js
    all come from static files."""
    seed_tickets(live)
    response = page.goto("/dashboard/masuk")
    assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    login(page, STAFF.supervisor_pu)
    # htmx loaded and runs (its own indicator style is off, not blocked).
    assert page.evaluate("window.htmx !== undefined && htmx.config.includeIndicatorStyles === false")
    ticket = live.file_ticket(live.citizen(), "Saluran air tersumbat di Gang Kenanga.")
    for url in (
        "/dashboard/",
        f"/dashboard/tiket/{ticket.code}",
        "/dashboard/laporan",
        "/dashboard/loket",
        "/dashboard/percakapan",
        "/dashboard/akun",
        "/transparansi",
    ):
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        headers = response.headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"], url
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff", url
        page.wait_for_load_state("networkidle")
