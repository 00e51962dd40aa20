"""Admin page of failed sends: listed with their reason and counted, and a resend queues one again."""

from __future__ import annotations

from collections.abc import Callable

from bot.conversations import repository
from bot.conversations.models import Message, OutboundStatus
from bot.db import Database
from tests.dashboard.conftest import Staff, StaffClient


def failed_send(database: Database, text: str, status: str = OutboundStatus.FAILED) -> int:
    with database.session() as session:
        conversation = repository.add_conversation(session, "telegram", f"5551{len(text)}")
        message = repository.add_notification(session, conversation, text, None, f"k-{text}")
        message.status, message.attempts = status, 7
        message.status_reason = "gave up after 21600 s (7 attempts): 502: Bad Gateway"
        return message.id


def test_failed_sends_are_listed_counted_and_resent(
    login: Callable[[str], StaffClient], staff: Staff, database: Database
) -> None:
    failed = failed_send(database, "Laporan Anda ADU-7K3M9QXR sudah selesai.")
    failed_send(database, "Halo lagi", OutboundStatus.NEEDS_TEMPLATE)
    admin = login(staff.admin)

    page = admin.get("/dashboard/pengiriman")
    assert page.status_code == 200
    assert 'data-count="failed">1<' in page.text and 'data-count="needs_template">1<' in page.text
    assert "gave up after 21600 s" in page.text and "ADU-7K3M9QXR" in page.text

    response = admin.post(f"/dashboard/pengiriman/{failed}/kirim-ulang", follow_redirects=False)
    assert response.status_code == 303
    with database.session() as session:
        row = session.get_one(Message, failed)
        assert (row.status, row.attempts, row.next_attempt_at) == (OutboundStatus.QUEUED, 0, None)
        assert row.retry_since is not None  # the time budget starts again
    assert 'data-count="failed">0<' in admin.get("/dashboard/pengiriman").text

    again = admin.post(f"/dashboard/pengiriman/{failed}/kirim-ulang", follow_redirects=False)
    assert again.status_code == 409 and "tidak berstatus gagal" in again.text


def test_only_admins_see_failed_sends(
    login: Callable[[str], StaffClient], staff: Staff, database: Database
) -> None:
    failed = failed_send(database, "pesan")
    assert login(staff.supervisor_pu).get("/dashboard/pengiriman").status_code == 403
    officer = login(staff.petugas_pu)
    assert officer.post(f"/dashboard/pengiriman/{failed}/kirim-ulang").status_code == 403
    with database.session() as session:
        assert session.get_one(Message, failed).status == OutboundStatus.FAILED
