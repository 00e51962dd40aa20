"""Supervisors' reports (/dashboard/laporan and .csv): figures from hand-made tickets, unit scoping, export."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from bot.csv_safety import safe_cell
from bot.db import Database
from bot.reports.csv_export import to_csv
from bot.reports.figures import figures
from bot.reports.period import Period
from bot.staff.models import AccessLog
from bot.survey.models import Survey, SurveyAnswer, SurveyStatus
from bot.tickets.models import Ticket
from bot.tickets.vocab import Category
from tests.dashboard.conftest import UNIT_DUKCAPIL, UNIT_PU, Staff, StaffClient

UTC = timezone.utc
OCTOBER = {"dari": "2026-10-01", "sampai": "2026-10-31"}
# 1 Oct 2026 09:00 WIB
T0 = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)


def set_ticket(database: Database, ticket: Ticket, **values: object) -> None:
    with database.session() as session:
        session.execute(update(Ticket).where(Ticket.id == ticket.id).values(**values))
        session.commit()


def add_survey(database: Database, ticket: Ticket, unit: str, scores: list[int], completed: datetime) -> None:
    with database.session() as session:
        survey = Survey(
            ticket_id=ticket.id,
            unit=unit,
            channel="web",
            sender_id="warga",
            status=SurveyStatus.COMPLETED.value,
            invited_at=completed - timedelta(hours=1),
            completed_at=completed,
        )
        survey.answers = [SurveyAnswer(element=i + 1, score=s) for i, s in enumerate(scores)]
        session.add(survey)
        session.commit()


@pytest.fixture
def october(make_ticket: Callable[..., Ticket], database: Database) -> dict[str, Ticket]:
    """PU: 3 infrastruktur tickets in October (answered after 2 h, 4 h and 30 h) and one in September;
    Dukcapil: 2 kependudukan tickets in October, one from WhatsApp."""
    made = {
        "pu1": make_ticket(Category.INFRASTRUKTUR, sender_id="a"),
        "pu2": make_ticket(Category.INFRASTRUKTUR, sender_id="b", channel="telegram"),
        "pu3": make_ticket(Category.INFRASTRUKTUR, sender_id="c"),
        "pu_sept": make_ticket(Category.INFRASTRUKTUR, sender_id="d"),
        "dk1": make_ticket(Category.KEPENDUDUKAN, sender_id="e"),
        "dk2": make_ticket(Category.KEPENDUDUKAN, sender_id="f", channel="whatsapp"),
    }
    for name, hours in (("pu1", 2), ("pu2", 4), ("pu3", 30)):
        set_ticket(database, made[name], created_at=T0, first_response_at=T0 + timedelta(hours=hours))
    set_ticket(database, made["pu3"], status="diproses")
    set_ticket(database, made["pu_sept"], created_at=T0 - timedelta(days=5))
    set_ticket(database, made["dk1"], created_at=T0)
    set_ticket(database, made["dk2"], created_at=T0 + timedelta(days=3))
    return made


def test_counts_median_and_channels_of_a_supervisors_units(
    login: Callable[[str], StaffClient], staff: Staff, october: dict[str, Ticket], database: Database
) -> None:
    page = login(staff.supervisor_pu).get("/dashboard/laporan", params=OCTOBER)
    assert page.status_code == 200
    text = page.text
    assert '<span class="kpi-value">3</span>' in text  # the September ticket and Dukcapil's are left out
    assert "4.0 jam" in text and "dari 3 aduan yang sudah ditanggapi" in text  # median of 2, 4, 30 hours
    with database.session() as session:
        result = figures(session, Period(T0.date(), datetime(2026, 10, 31).date()), [UNIT_PU], T0)
    by_category = {c.code: c.count for c in result.by_category}
    assert by_category["infrastruktur"] == 3 and by_category["kependudukan"] == 0
    by_status = {c.code: c.count for c in result.by_status}
    assert by_status["belum_diverifikasi"] == 2 and by_status["diproses"] == 1
    assert {c.code: c.count for c in result.by_channel} == {
        "web": 2,
        "telegram": 1,
        "whatsapp": 0,
        "loket": 0,
    }
    assert str(result.median_first_response_hours) == "4.0"


def test_supervisor_of_pu_cannot_see_dukcapil_numbers(
    login: Callable[[str], StaffClient], staff: Staff, october: dict[str, Ticket]
) -> None:
    supervisor = login(staff.supervisor_pu)
    page = supervisor.get("/dashboard/laporan", params=OCTOBER)
    assert UNIT_DUKCAPIL not in page.text
    assert supervisor.get("/dashboard/laporan", params={**OCTOBER, "unit": UNIT_DUKCAPIL}).status_code == 403
    assert (
        supervisor.get("/dashboard/laporan.csv", params={**OCTOBER, "unit": UNIT_DUKCAPIL}).status_code == 403
    )


def test_admin_sees_all_units_or_one(
    login: Callable[[str], StaffClient], staff: Staff, october: dict[str, Ticket]
) -> None:
    admin = login(staff.admin)
    everything = admin.get("/dashboard/laporan", params=OCTOBER)
    assert '<span class="kpi-value">5</span>' in everything.text
    one = admin.get("/dashboard/laporan", params={**OCTOBER, "unit": UNIT_DUKCAPIL})
    assert '<span class="kpi-value">2</span>' in one.text
    assert admin.get("/dashboard/laporan", params={**OCTOBER, "unit": "Dinas Rahasia"}).status_code == 403


def test_petugas_may_not_open_reports(login: Callable[[str], StaffClient], staff: Staff) -> None:
    petugas = login(staff.petugas_pu)
    assert petugas.get("/dashboard/laporan").status_code == 403
    assert petugas.get("/dashboard/laporan.csv").status_code == 403


def test_anonymous_visitor_is_sent_to_login(client_factory: Callable[[], object], staff: Staff) -> None:
    response = client_factory().get("/dashboard/laporan.csv", follow_redirects=False)  # type: ignore[attr-defined]
    assert response.status_code == 303 and "/dashboard/masuk" in response.headers["location"]


def test_sla_compliance_counts_decided_deadlines_falling_in_the_period(
    make_ticket: Callable[..., Ticket], database: Database
) -> None:
    due = T0 + timedelta(days=3)
    on_time = make_ticket(Category.INFRASTRUKTUR, sender_id="1")
    late = make_ticket(Category.INFRASTRUKTUR, sender_id="2")
    missed = make_ticket(Category.INFRASTRUKTUR, sender_id="3")
    undecided = make_ticket(Category.INFRASTRUKTUR, sender_id="4")
    paused = make_ticket(Category.INFRASTRUKTUR, sender_id="5")
    other_month = make_ticket(Category.INFRASTRUKTUR, sender_id="6")
    far = T0 + timedelta(days=400)
    for ticket in (on_time, late, missed, undecided, paused, other_month):
        set_ticket(
            database, ticket, verification_due_at=far, first_response_due_at=far, resolution_due_at=far
        )
    set_ticket(database, on_time, first_response_due_at=due, first_response_at=due - timedelta(hours=1))
    set_ticket(database, late, first_response_due_at=due, first_response_at=due + timedelta(hours=1))
    set_ticket(database, missed, first_response_due_at=due)
    set_ticket(database, undecided, first_response_due_at=T0 + timedelta(days=20))
    set_ticket(database, paused, first_response_due_at=due, paused_at=due - timedelta(days=1))
    set_ticket(database, other_month, first_response_due_at=T0 + timedelta(days=40))
    now = T0 + timedelta(days=10)
    with database.session() as session:
        result = figures(session, Period(T0.date(), datetime(2026, 10, 31).date()), [UNIT_PU], now)
    sla = {s.kind: s for s in result.sla}
    first = sla["tanggapan_pertama"]
    assert (first.decided, first.on_time) == (3, 1)
    assert str(first.percent) == "33.3"
    assert sla["verifikasi"].decided == 0 and sla["verifikasi"].percent is None


def test_ikm_on_the_page_and_belum_ada_data(
    login: Callable[[str], StaffClient], staff: Staff, make_ticket: Callable[..., Ticket], database: Database
) -> None:
    supervisor = login(staff.supervisor_pu)
    assert "IKM: belum ada data" in supervisor.get("/dashboard/laporan", params=OCTOBER).text
    add_survey(database, make_ticket(sender_id="s1"), UNIT_PU, [3] * 9, T0)
    add_survey(database, make_ticket(sender_id="s2"), UNIT_PU, [4] + [3] * 8, T0)
    add_survey(database, make_ticket(Category.KEPENDUDUKAN, sender_id="s3"), UNIT_DUKCAPIL, [1] * 9, T0)
    page = supervisor.get("/dashboard/laporan", params=OCTOBER).text
    assert "76.39 (C)" in page and "2 responden" in page  # Dukcapil's survey is not mixed in
    assert '<script type="application/json" id="report-data">' in page


def test_csv_export_has_bom_same_figures_and_is_logged(
    login: Callable[[str], StaffClient], staff: Staff, october: dict[str, Ticket], database: Database
) -> None:
    response = login(staff.supervisor_pu).get("/dashboard/laporan.csv", params=OCTOBER)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    raw = response.content.decode("utf-8")
    assert raw.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(raw[1:]), delimiter=";"))
    assert ["Jumlah aduan", "3"] in rows
    assert ["Infrastruktur", "3"] in rows
    assert ["Unit", UNIT_PU] in rows
    assert ["Median waktu tanggapan pertama (jam kalender)", "4,0"] in rows
    assert ["IKM", "belum ada data"] in rows
    with database.session() as session:
        logs = session.scalars(select(AccessLog).where(AccessLog.action == "export")).all()
    assert len(logs) == 1 and logs[0].actor == "supervisor:supervisor.pu"
    assert "2026-10-01" in (logs[0].detail or "")


@pytest.mark.parametrize("value", ['=HYPERLINK("x")', "+1", "-2+3", "@SUM(A1)", "\tcmd"])
def test_csv_cells_that_would_be_formulas_are_quoted(value: str) -> None:
    assert safe_cell(value) == "'" + value
    written = to_csv([["Unit", value]])
    assert f"Unit;'{value}" in written or f"Unit;\"'{value}" in written.replace('""', '"')


def test_csv_keeps_ordinary_cells() -> None:
    assert safe_cell("Dinas Sosial") == "Dinas Sosial" and safe_cell(12) == "12" and safe_cell(None) == ""


def test_invalid_period_is_explained(login: Callable[[str], StaffClient], staff: Staff) -> None:
    page = login(staff.supervisor_pu).get(
        "/dashboard/laporan", params={"dari": "2026-10-31", "sampai": "2026-10-01"}
    )
    assert page.status_code == 422 and "Tanggal akhir tidak boleh sebelum tanggal awal." in page.text
