"""Logging in and out of the dashboard in a real browser."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD, STAFF, LiveService, login, screenshot


def test_wrong_password_is_refused_then_the_right_one_opens_the_queue(page: Page, live: LiveService) -> None:
    page.goto("/dashboard/")
    expect(page).to_have_url(f"{live.url}/dashboard/masuk?next=%2Fdashboard%2F")
    screenshot(page, "login")

    page.get_by_label("Nama pengguna").fill(STAFF.petugas_pu)
    page.get_by_label("Kata sandi").fill("bukan-kata-sandinya")
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("alert")).to_have_text("Nama pengguna atau kata sandi salah.")
    # The username stays filled in; the password never comes back from the server.
    expect(page.get_by_label("Nama pengguna")).to_have_value(STAFF.petugas_pu)
    expect(page.get_by_label("Kata sandi")).to_have_value("")

    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/dashboard/")
    expect(page.locator(".whoami")).to_contain_text("Putu Petugas")
    expect(page.get_by_role("link", name="Antrean")).to_have_attribute("aria-current", "page")


def test_logout_ends_the_session(page: Page, live: LiveService) -> None:
    login(page, STAFF.petugas_pu)
    page.get_by_role("button", name="Keluar").click()
    page.wait_for_url("**/dashboard/masuk")
    expect(page.get_by_role("heading", name="Masuk ke dasbor petugas")).to_be_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "layanan_session"]
    # The old session is gone on the server too: the queue asks for a login again.
    page.goto("/dashboard/")
    expect(page).to_have_url(f"{live.url}/dashboard/masuk?next=%2Fdashboard%2F")
