"""Human handoff through the service: the action server's request API, the officer's pages (take over,
reply, hand back, close), the gateway staying silent while an officer holds the conversation, the idle
sweep, office hours with the outside-hours ticket, unit scoping and CSRF."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from bot.conversations.models import Direction, Message
from bot.db import Database
from bot.handoff.models import Handoff
from bot.handoff.service import HandoffConfig, HandoffConflict, take_over
from bot.handoff.sweeper import HandoffSweeper
from bot.settings import Settings
from bot.staff.models import AccessLog, StaffUser
from bot.staff.principal import StaffPrincipal
from bot.tickets.models import Ticket
from bot.tickets.vocab import Category
from tests.dashboard.conftest import SERVICE_TOKEN, UNIT_DUKCAPIL, UNIT_PU, Browser, StaffClient
from tests.service.fake_rasa import FakeRasa

MONDAY_10_WIB = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc)
SATURDAY_10_WIB = datetime(2026, 11, 28, 3, 0, tzinfo=timezone.utc)
TOKEN = SERVICE_TOKEN


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Sets the time the handoff service sees (office hours, request times)."""

    def set_now(moment: datetime) -> None:
        monkeypatch.setattr("bot.handoff.service.utcnow", lambda: moment)

    set_now(MONDAY_10_WIB)
    return set_now


@pytest.fixture
def web(client_factory: Callable[[], Browser]) -> Browser:
    return client_factory()


def chat(web: Browser, sender: str, text: str) -> list[dict[str, Any]]:
    response = web.chat(sender, text)
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def request_handoff(
    web: Browser, sender: str, reason: str = "request_human", token: str = TOKEN
) -> httpx.Response:
    return web.post(
        "/api/v1/handoffs",
        json={"channel": "web", "sender_id": sender, "reason": reason},
        headers={"Authorization": f"Bearer {token}"},
    )


def updates(web: Browser, sender: str, after: int = 0) -> list[str]:
    response = web.chat_updates(sender, after)
    assert response.status_code == 200
    return [m["text"] for m in response.json()["messages"]]


def handoff_row(database: Database, handoff_id: int) -> Handoff:
    with database.session() as session:
        return session.get_one(Handoff, handoff_id)


def principal(database: Database, username: str) -> StaffPrincipal:
    with database.session() as session:
        user = session.scalars(select(StaffUser).where(StaffUser.username == username)).one()
        return StaffPrincipal.of(user)


def waiting_for(web: Browser, sender: str, make_ticket: Callable[..., Ticket] | None = None) -> int:
    """A citizen of unit PU (one open infrastruktur ticket) who chatted and asked for an officer."""
    if make_ticket is not None:
        make_ticket(category=Category.INFRASTRUKTUR, sender_id=sender)
    chat(web, sender, "halo")
    response = request_handoff(web, sender)
    assert response.status_code == 201, response.text
    return int(response.json()["handoff_id"])


def rasa_texts(fake_rasa: FakeRasa) -> list[str]:
    return [str(call.get("message")) for call in fake_rasa.webhook_calls]


# --- request API --------------------------------------------------------------------------------------


def test_request_needs_the_service_token(web: Browser, clock: Callable[[datetime], None]) -> None:
    assert request_handoff(web, "warga-x", token="salah").status_code == 401


def test_request_within_hours_is_idempotent_while_open(
    web: Browser, clock: Callable[[datetime], None], database: Database, settings: Settings
) -> None:
    chat(web, "warga-1", "halo")
    first = request_handoff(web, "warga-1")
    assert first.status_code == 201
    body = first.json()
    assert body["status"] == "menunggu" and body["created"] is True
    assert body["office_open"] is True and body["ticket_code"] is None
    assert datetime.fromisoformat(body["next_opening"]) == MONDAY_10_WIB
    default_unit = HandoffConfig.from_settings(settings).default_unit
    assert body["unit"] == default_unit
    again = request_handoff(web, "warga-1", reason="fallback")
    assert again.status_code == 200
    assert again.json()["handoff_id"] == body["handoff_id"] and again.json()["created"] is False
    with database.session() as session:
        assert session.scalar(select(func.count(Handoff.id))) == 1
        assert session.scalar(select(func.count(Ticket.id))) == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"channel": "web", "sender_id": "", "reason": "request_human"},
        {"channel": "WEB <script>", "sender_id": "x", "reason": "request_human"},
        {"channel": "web", "sender_id": "x" * 200, "reason": "request_human"},
        {"channel": "web", "sender_id": "x", "reason": "<script>alert(1)</script>"},
        {"channel": "web"},
    ],
)
def test_bad_requests_are_refused_and_store_nothing(
    web: Browser, clock: Callable[[datetime], None], database: Database, payload: dict[str, str]
) -> None:
    response = web.post("/api/v1/handoffs", json=payload, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 422
    with database.session() as session:
        assert session.scalar(select(func.count(Handoff.id))) == 0


def test_outside_hours_keeps_the_request_as_one_ticket(
    web: Browser,
    clock: Callable[[datetime], None],
    database: Database,
    make_ticket: Callable[..., Ticket],
    login: Callable[[str], StaffClient],
) -> None:
    clock(SATURDAY_10_WIB)
    earlier = make_ticket(category=Category.KEPENDUDUKAN, sender_id="warga-2")
    chat(web, "warga-2", "KK saya salah cetak nama 😭 <b>tolong</b>")
    chat(web, "warga-2", "/request_human")
    first = request_handoff(web, "warga-2")
    body = first.json()
    assert first.status_code == 201 and body["office_open"] is False
    assert body["next_opening_label"] == "Senin, 30 November 2026 pukul 08.00 WIB"
    assert datetime.fromisoformat(body["next_opening"]) == datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc)
    assert body["unit"] == UNIT_DUKCAPIL  # the unit of the citizen's open ticket
    code = body["ticket_code"]
    assert re.fullmatch(r"ADU-[0-9A-Z]{8}", code)
    again = request_handoff(web, "warga-2")
    assert again.json()["ticket_code"] == code and again.json()["created"] is False
    with database.session() as session:
        tickets = session.scalars(select(Ticket).where(Ticket.reporter_sender_id == "warga-2")).all()
        assert len(tickets) == 2
        kept = next(t for t in tickets if t.id != earlier.id)
        assert kept.code == code and kept.type == "permintaan_informasi"
        assert kept.category == "kependudukan" and kept.unit == UNIT_DUKCAPIL
        assert "KK saya salah cetak nama 😭 <b>tolong</b>" in kept.description
        assert "/request_human" not in kept.description
        handoff = session.get_one(Handoff, body["handoff_id"])
        assert handoff.ticket_id == kept.id and handoff.status == "menunggu"
    # It stays in the waiting list for the next working day, with the ticket linked.
    officer = login("petugas.dukcapil")
    page = officer.get(f"/dashboard/percakapan/{body['handoff_id']}")
    assert code in page.text
    assert f"#{body['handoff_id']}" in officer.get("/dashboard/percakapan").text


def test_outside_hours_without_a_ticket_files_it_under_lainnya(
    web: Browser, clock: Callable[[datetime], None], database: Database, settings: Settings
) -> None:
    clock(SATURDAY_10_WIB)
    body = request_handoff(web, "warga-baru").json()
    with database.session() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.code == body["ticket_code"])).one()
    assert ticket.category == "lainnya"
    assert body["unit"] == HandoffConfig.from_settings(settings).default_unit


# --- lists and scoping ---------------------------------------------------------------------------------


def test_waiting_list_shows_only_the_officers_units(
    web: Browser,
    clock: Callable[[datetime], None],
    make_ticket: Callable[..., Ticket],
    login: Callable[[str], StaffClient],
) -> None:
    pu = waiting_for(web, "warga-pu", make_ticket)
    make_ticket(category=Category.KEPENDUDUKAN, sender_id="warga-dk")
    chat(web, "warga-dk", "Akta kelahiran anak saya belum jadi <script>alert(1)</script>")
    dk = int(request_handoff(web, "warga-dk").json()["handoff_id"])
    page = login("petugas.pu").get("/dashboard/percakapan")
    assert page.status_code == 200 and 'hx-trigger="every 10s"' in page.text
    assert f'href="/dashboard/percakapan/{pu}"' in page.text
    assert f'href="/dashboard/percakapan/{dk}"' not in page.text
    dukcapil = login("petugas.dukcapil").get("/dashboard/percakapan").text
    assert f'href="/dashboard/percakapan/{dk}"' in dukcapil
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dukcapil and "<script>alert(1)" not in dukcapil
    admin = login("admin").get("/dashboard/percakapan").text
    assert f"/dashboard/percakapan/{pu}" in admin and f"/dashboard/percakapan/{dk}" in admin


def test_other_units_get_404_and_change_nothing(
    web: Browser,
    clock: Callable[[datetime], None],
    make_ticket: Callable[..., Ticket],
    login: Callable[[str], StaffClient],
    database: Database,
) -> None:
    handoff_id = waiting_for(web, "warga-pu", make_ticket)
    outsider = login("petugas.dukcapil")
    for url in (f"/dashboard/percakapan/{handoff_id}", f"/dashboard/percakapan/{handoff_id}/pesan"):
        response = outsider.get(url)
        assert response.status_code == 404 and "di luar unit Anda" in response.text
    assert outsider.post(f"/dashboard/percakapan/{handoff_id}/ambil").status_code == 404
    assert outsider.post(f"/dashboard/percakapan/{handoff_id}/tutup").status_code == 404
    assert outsider.get("/dashboard/percakapan/bukan-angka").status_code == 404
    assert handoff_row(database, handoff_id).status == "menunggu"


def test_posts_need_the_csrf_token(
    web: Browser,
    clock: Callable[[datetime], None],
    make_ticket: Callable[..., Ticket],
    login: Callable[[str], StaffClient],
    database: Database,
) -> None:
    handoff_id = waiting_for(web, "warga-pu", make_ticket)
    officer = login("petugas.pu")
    for action in ("ambil", "tutup"):
        response = officer.client.post(
            f"/dashboard/percakapan/{handoff_id}/{action}", data={"csrf_token": "x"}
        )
        assert response.status_code == 403
    assert handoff_row(database, handoff_id).status == "menunggu"


# --- take over, silence, reply, hand back ---------------------------------------------------------------


def test_take_over_race_has_one_winner(
    web: Browser,
    clock: Callable[[datetime], None],
    make_ticket: Callable[..., Ticket],
    database: Database,
    staff: object,
) -> None:
    handoff_id = waiting_for(web, "warga-pu", make_ticket)
    officers = [principal(database, "petugas.pu"), principal(database, "supervisor.pu")]
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def attempt(officer: StaffPrincipal) -> None:
        with database.session() as session:
            session.get_one(Handoff, handoff_id)  # both saw it waiting
            barrier.wait()
            try:
                take_over(session, officer, handoff_id)
                outcomes[officer.username] = "won"
            except HandoffConflict as lost:
                outcomes[officer.username] = str(lost)

    threads = [threading.Thread(target=attempt, args=(officer,)) for officer in officers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["Percakapan ini sudah diambil alih oleh petugas lain.", "won"]
    winner = next(name for name, result in outcomes.items() if result == "won")
    row = handoff_row(database, handoff_id)
    assert row.status == "aktif" and row.officer_id == principal(database, winner).id
    with database.session() as session:
        taken = session.scalars(select(AccessLog).where(AccessLog.action == "handoff_taken")).all()
    assert len(taken) == 1


def test_second_officer_through_the_page_is_told_it_is_taken(
    web: Browser,
    clock: Callable[[datetime], None],
    make_ticket: Callable[..., Ticket],
    login: Callable[[str], StaffClient],
    database: Database,
) -> None:
    handoff_id = waiting_for(web, "warga-pu", make_ticket)
    first, second = login("petugas.pu"), login("supervisor.pu")
    won = first.post(f"/dashboard/percakapan/{handoff_id}/ambil", follow_redirects=True)
    assert "Percakapan sudah Anda ambil alih" in won.text
    lost = second.post(f"/dashboard/percakapan/{handoff_id}/ambil", follow_redirects=True)
    assert "sudah diambil alih oleh petugas lain" in lost.text
    assert 'name="teks"' not in lost.text  # no reply form for the loser
    assert handoff_row(database, handoff_id).officer_id == principal(database, "petugas.pu").id
    assert (
        updates(web, "warga-pu").count(f"Anda sekarang terhubung dengan petugas Petugas dari {UNIT_PU}.") == 1
    )


def test_bot_is_silent_only_while_an_officer_holds_the_conversation(
    web: Browser,
    clock: Callable[[datetime], None],
    make_ticket: Callable[..., Ticket],
    login: Callable[[str], StaffClient],
    fake_rasa: FakeRasa,
    database: Database,
) -> None:
    handoff_id = waiting_for(web, "warga-pu", make_ticket)
    assert chat(web, "warga-pu", "syarat bikin ktp el apa aja")  # waiting: the bot still answers
    assert "syarat bikin ktp el apa aja" in rasa_texts(fake_rasa)
    officer = login("petugas.pu")
    officer.post(f"/dashboard/percakapan/{handoff_id}/ambil")
    long_ago = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with database.session() as session:
        session.get_one(Handoff, handoff_id).last_activity_at = long_ago
    assert chat(web, "warga-pu", "Pak, jalannya makin parah <i>hari ini</i>") == []
    assert "Pak, jalannya makin parah <i>hari ini</i>" not in rasa_texts(fake_rasa)
    with database.session() as session:
        inbound = session.scalars(
            select(Message).where(Message.direction == Direction.IN.value).order_by(Message.id.desc())
        ).first()
        assert inbound is not None and inbound.status == "processed" and inbound.status_reason == "handoff"
    assert handoff_row(database, handoff_id).last_activity_at > long_ago  # type: ignore[operator]
    page = officer.get(f"/dashboard/percakapan/{handoff_id}")
    assert "Pak, jalannya makin parah &lt;i&gt;hari ini&lt;/i&gt;" in page.text
    assert "[Tombol: Buat pengaduan · Cek status laporan]" in page.text  # what the bot offered
    assert "[pesan tanpa teks]" in page.text  # the greeting's custom payload
    assert "Jika tidak ada pesan selama 15 menit" in page.text


def test_officer_reply_reaches_the_web_chat_once(
    web: Browser,
    clock: Callable[[datetime], None],
    make_ticket: Callable[..., Ticket],
    login: Callable[[str], StaffClient],
    database: Database,
) -> None:
    handoff_id = waiting_for(web, "warga-pu", make_ticket)
    officer = login("petugas.pu")
    page = officer.post(f"/dashboard/percakapan/{handoff_id}/ambil", follow_redirects=True)
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
    assert nonce
    form = {"teks": "Baik Bu, tim kami meluncur besok pagi. <b>Terima kasih</b> 🙏", "nonce": nonce.group(1)}
    for _ in range(2):  # the second is the same form resubmitted
        sent = officer.post(f"/dashboard/percakapan/{handoff_id}/balas", form, follow_redirects=False)
        assert sent.status_code == 303
    received = updates(web, "warga-pu")
    assert received.count(form["teks"]) == 1
    with database.session() as session:
        stored = session.scalars(select(Message).where(Message.text == form["teks"])).one()
        assert stored.payload is not None and stored.payload["author"] == "officer"
    shown = officer.get(f"/dashboard/percakapan/{handoff_id}").text
    assert "&lt;b&gt;Terima kasih&lt;/b&gt;" in shown and "Petugas Petugas" in shown


@pytest.mark.parametrize(
    ("text", "message"), [("   ", "tidak boleh kosong"), ("x" * 4001, "terlalu panjang")]
)
def test_bad_replies_are_refused_politely(
    web: Browser,
    clock: Callable[[datetime], None],
    make_ticket: Callable[..., Ticket],
    login: Callable[[str], StaffClient],
    database: Database,
    text: str,
    message: str,
) -> None:
    handoff_id = waiting_for(web, "warga-pu", make_ticket)
    officer = login("petugas.pu")
    officer.post(f"/dashboard/percakapan/{handoff_id}/ambil")
    response = officer.post(
        f"/dashboard/percakapan/{handoff_id}/balas", {"teks": text, "nonce": "abcdefgh12"}
    )
    assert response.status_code == 422 and message in response.text
    with database.session() as session:
        officer_rows = [
            m for m in session.scalars(select(Message)).all() if (m.payload or {}).get("author") == "officer"
        ]
    assert officer_rows == []


def test_only_the_holder_may_reply(
    web: Browser,
    clock: Callable[[datetime], None],
    make_ticket: Callable[..., Ticket],
    login: Callable[[str], StaffClient],
) -> None:
    handoff_id = waiting_for(web, "warga-pu", make_ticket)
    login("petugas.pu").post(f"/dashboard/percakapan/{handoff_id}/ambil")
    other = login("supervisor.pu")
    response = other.post(
        f"/dashboard/percakapan/{handoff_id}/balas", {"teks": "Halo", "nonce": "abcdefgh12"}
    )
    assert response.status_code == 422 and "ditangani petugas lain" in response.text
    assert "Halo" not in updates(web, "warga-pu")


def test_live_fragment_returns_messages_after_an_id(
    web: Browser,
    clock: Callable[[datetime], None],
    make_ticket: Callable[..., Ticket],
    login: Callable[[str], StaffClient],
    database: Database,
) -> None:
    handoff_id = waiting_for(web, "warga-pu", make_ticket)
    officer = login("petugas.pu")
    page = officer.post(f"/dashboard/percakapan/{handoff_id}/ambil", follow_redirects=True).text
    last_id = int(re.search(r"pesan\?setelah=(\d+)", page).group(1))  # type: ignore[union-attr]
    assert 'hx-trigger="every 2s"' in page and "hx-swap-oob" not in page
    chat(web, "warga-pu", "Masih di sana, Pak?")
    fragment = officer.get(
        f"/dashboard/percakapan/{handoff_id}/pesan?setelah={last_id}", headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200
    assert "Masih di sana, Pak?" in fragment.text and "halo" not in fragment.text
    new_last = int(re.search(r"pesan\?setelah=(\d+)", fragment.text).group(1))  # type: ignore[union-attr]
    assert new_last > last_id and 'hx-swap-oob="true"' in fragment.text
    empty = officer.get(f"/dashboard/percakapan/{handoff_id}/pesan?setelah={new_last}")
    assert "Masih di sana" not in empty.text and f"setelah={new_last}" in empty.text
    with database.session() as session:
        views = session.scalars(select(AccessLog).where(AccessLog.action == "view_conversation")).all()
    assert len(views) == 1  # the page view, not each poll


def test_hand_back_lets_the_bot_answer_again(
    web: Browser,
    clock: Callable[[datetime], None],
    make_ticket: Callable[..., Ticket],
    login: Callable[[str], StaffClient],
    fake_rasa: FakeRasa,
    database: Database,
) -> None:
    handoff_id = waiting_for(web, "warga-pu", make_ticket)
    officer = login("petugas.pu")
    officer.post(f"/dashboard/percakapan/{handoff_id}/ambil")
    back = officer.post(f"/dashboard/percakapan/{handoff_id}/kembalikan", follow_redirects=True)
    assert "Percakapan dikembalikan ke asisten otomatis." in back.text
    row = handoff_row(database, handoff_id)
    assert row.status == "selesai" and row.end_reason == "dikembalikan"
    assert any(
        text.startswith("Percakapan dikembalikan ke asisten otomatis. Ketik *menu*")
        for text in updates(web, "warga-pu")
    )
    ended = officer.get(f"/dashboard/percakapan/{handoff_id}").text
    assert "every 2s" not in ended and 'name="teks"' not in ended  # no more polling, no reply form
    assert chat(web, "warga-pu", "syarat bikin ktp el apa aja")
    assert rasa_texts(fake_rasa).count("syarat bikin ktp el apa aja") == 1
    with database.session() as session:
        assert (
            session.scalar(select(func.count(AccessLog.id)).where(AccessLog.action == "handoff_returned"))
            == 1
        )
    # A new request is possible once the previous one ended.
    assert request_handoff(web, "warga-pu").json()["created"] is True


def test_closing_a_waiting_request_tells_the_citizen(
    web: Browser,
    clock: Callable[[datetime], None],
    make_ticket: Callable[..., Ticket],
    login: Callable[[str], StaffClient],
    database: Database,
) -> None:
    handoff_id = waiting_for(web, "warga-pu", make_ticket)
    response = login("petugas.pu").post(f"/dashboard/percakapan/{handoff_id}/tutup", follow_redirects=True)
    assert "Permintaan ditutup" in response.text
    row = handoff_row(database, handoff_id)
    assert row.status == "selesai" and row.end_reason == "dibatalkan"
    assert any("sudah kami tutup" in text for text in updates(web, "warga-pu"))


# --- idle timeout ----------------------------------------------------------------------------------------


def test_idle_handoff_returns_to_the_bot_and_tells_the_citizen(
    app: FastAPI,
    web: Browser,
    clock: Callable[[datetime], None],
    make_ticket: Callable[..., Ticket],
    login: Callable[[str], StaffClient],
    database: Database,
    settings: Settings,
) -> None:
    idle_id = waiting_for(web, "warga-pu", make_ticket)
    busy_id = waiting_for(web, "warga-pu2", make_ticket)
    officer = login("petugas.pu")
    officer.post(f"/dashboard/percakapan/{idle_id}/ambil")
    officer.post(f"/dashboard/percakapan/{busy_id}/ambil")
    taken = handoff_row(database, idle_id).last_activity_at
    assert taken is not None
    now = {"value": taken + timedelta(minutes=10)}
    sweeper = HandoffSweeper(
        database, app.state.gateway, HandoffConfig.from_settings(settings), clock=lambda: now["value"]
    )

    async def sweep() -> int:
        return await sweeper.run_once()

    assert anyio.run(sweep) == 0  # 10 minutes: still within handoff_idle_minutes (15)
    with database.session() as session:  # the busy citizen wrote at minute 10
        session.get_one(Handoff, busy_id).last_activity_at = now["value"]
    now["value"] = taken + timedelta(minutes=16)
    assert anyio.run(sweep) == 1
    assert anyio.run(sweep) == 0  # ended once
    idle, busy = handoff_row(database, idle_id), handoff_row(database, busy_id)
    assert idle.status == "selesai" and idle.end_reason == "tidak_aktif"
    assert busy.status == "aktif"
    notes = [text for text in updates(web, "warga-pu") if "tidak ada pesan selama 15 menit" in text]
    assert len(notes) == 1
    assert not [text for text in updates(web, "warga-pu2") if "tidak ada pesan" in text]


def test_sweeper_runs_in_the_app_lifespan(app: FastAPI, test_client: object) -> None:
    sweeper = app.state.handoff_sweeper
    assert sweeper.running
