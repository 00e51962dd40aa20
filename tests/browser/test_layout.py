"""The queue and the ticket page fit a 1366x768 laptop and a 390x844 phone: no sideways page scrolling."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, STAFF, LiveService, login, new_context, screenshot, watch

# Real complaints carry long unbroken strings (links, plate numbers without spaces) that must wrap.
LONG_WORD = "https://maps.example.go.id/lokasi?koordinat=-6.200000,106.816666&keterangan=" + "x" * 80


def widest(page: Page) -> list[str]:
    """The innermost elements sticking out to the right, to say what to fix."""
    return page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > innerWidth + 1)
            .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > innerWidth + 1))
            .slice(0, 5)
            .map(e => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')} ${Math.round(e.getBoundingClientRect().right)}px`)"""
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366x768", "390x844"])
def test_queue_and_ticket_page_have_no_horizontal_overflow(
    browser: Browser, live: LiveService, viewport: dict[str, int]
) -> None:
    citizen = live.citizen()
    citizen.say(f"Jalan rusak parah, lihat {LONG_WORD}")
    ticket = live.file_ticket(
        citizen,
        f"Jalan rusak parah di depan Pasar Baru Kecamatan Sukamaju, lihat {LONG_WORD}",
        location_text=f"Jl. Raya Sukamaju-Cibeureum-Cikarang-Bekasi-Karawang-Purwakarta {LONG_WORD}",
    )
    for description in ("Trotoar ambles di Jl. Sudirman.", "Drainase tersumbat di Gang Melati."):
        live.file_ticket(live.citizen(), description)
    context = new_context(browser, live, viewport)
    try:
        page = context.new_page()
        seen = watch(page)
        login(page, STAFF.supervisor_pu)
        expect(page.get_by_role("link", name=ticket.code)).to_be_visible()
        for url in ("/dashboard/", f"/dashboard/tiket/{ticket.code}"):
            response = page.goto(url)
            assert response is not None and response.status == 200, url
            expect(page.locator("main")).to_contain_text(ticket.code)
            page.wait_for_load_state("networkidle")
            scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert scroll <= inner, f"{url} at {viewport['width']}px is {scroll}px wide: {widest(page)}"
        if viewport == PHONE:
            screenshot(page, "tiket-ponsel", full_page=False)
        assert not seen.dialogs and not seen.errors and not seen.blocked, (
            seen.dialogs,
            seen.errors,
            seen.blocked,
        )
    finally:
        context.close()
