"""Public transparency page (/transparansi): aggregates only, small counts suppressed, cacheable."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import update

from bot.db import Database
from bot.reports.suppression import SUPPRESSED, suppress
from bot.tickets.models import Ticket
from bot.tickets.vocab import Category
from tests.dashboard.conftest import UNIT_DUKCAPIL, UNIT_PU, Browser

OCTOBER = {"dari": "2026-10-01", "sampai": "2026-10-31"}
IN_OCTOBER = datetime(2026, 10, 5, 3, 0, tzinfo=timezone.utc)
XSS = "<script>alert('pelapor')</script> jalan rusak parah sekali di Gang Mawar"


def _in_october(database: Database, *tickets: Ticket) -> None:
    with database.session() as session:
        session.execute(
            update(Ticket).where(Ticket.id.in_([t.id for t in tickets])).values(created_at=IN_OCTOBER)
        )
        session.commit()


def test_page_shows_aggregates_without_personal_data(
    client_factory: Callable[[], Browser], make_ticket: Callable[..., Ticket], database: Database
) -> None:
    tickets = [
        make_ticket(Category.INFRASTRUKTUR, description=XSS, sender_id=f"w{i}", name="Siti Rahasia")
        for i in range(4)
    ]
    _in_october(database, *tickets)
    response = client_factory().get("/transparansi", params=OCTOBER)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    text = response.text
    assert "Siti Rahasia" not in text
    assert "<script>alert" not in text and "alert(" not in text and "Gang Mawar" not in text
    assert all(t.code not in text for t in tickets)
    assert "w0" not in text
    assert UNIT_PU in text
    assert "Jumlah aduan masuk: <strong>4</strong>" in text
    assert 'class="mainnav"' not in text and "Keluar" not in text


def test_unit_category_cells_below_three_are_suppressed(
    client_factory: Callable[[], Browser], make_ticket: Callable[..., Ticket], database: Database
) -> None:
    pu = [make_ticket(Category.INFRASTRUKTUR, sender_id=f"p{i}") for i in range(5)]
    dk = [make_ticket(Category.KEPENDUDUKAN, sender_id=f"d{i}") for i in range(2)]
    _in_october(database, *pu, *dk)
    text = client_factory().get("/transparansi", params=OCTOBER).text
    dukcapil_row = text.split(f'<th scope="row">{UNIT_DUKCAPIL}</th>')[1].split("</tr>")[0]
    assert "&lt; 3" in dukcapil_row and ">2<" not in dukcapil_row
    pu_row = text.split(f'<th scope="row">{UNIT_PU}</th>')[1].split("</tr>")[0]
    assert "<td>5</td>" in pu_row


def test_suppression_hides_a_second_cell_so_totals_cannot_reveal_the_first() -> None:
    table = suppress(
        {"A": {"x": 10, "y": 1, "z": 7}, "B": {"x": 4, "y": 0, "z": 5}}, ["A", "B"], ["x", "y", "z"]
    )
    assert table.cells[("A", "y")] == SUPPRESSED
    # Row A's total (18) is shown, so one more cell of row A is hidden: the smallest, z = 7.
    assert table.cells[("A", "z")] == SUPPRESSED
    assert table.row_totals["A"] == "18"
    # Column z now has one hidden cell too, so B's z (5) is hidden; row B then has one hidden cell: x (4).
    assert table.cells[("B", "z")] == SUPPRESSED and table.cells[("B", "x")] == SUPPRESSED
    # Column y's total is 1: itself hidden.
    assert table.column_totals["y"] == SUPPRESSED
    assert table.cells[("B", "y")] == "0"
    for row in ("A", "B"):
        hidden = [c for c in ("x", "y", "z") if table.cells[(row, c)] == SUPPRESSED]
        assert len(hidden) != 1


def test_empty_period_shows_zeroes(client_factory: Callable[[], Browser], database: Database) -> None:
    response = client_factory().get("/transparansi", params={"dari": "2020-01-01", "sampai": "2020-01-31"})
    assert response.status_code == 200
    assert "Jumlah aduan masuk: <strong>0</strong>" in response.text
    assert "belum ada data" in response.text


def test_bad_dates_get_a_polite_message(client_factory: Callable[[], Browser], database: Database) -> None:
    response = client_factory().get("/transparansi", params={"dari": "<script>", "sampai": ""})
    assert response.status_code == 422
    assert "Tanggal awal tidak valid" in response.text and "<script>" not in response.text
