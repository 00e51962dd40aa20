"""The catalogue in the database (SQLite and PostgreSQL): atomic import, export, audited edits that are live
at once for the answering service, and the grouped record of unanswered questions."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.catalogue.cli import add_catalogue_commands  # noqa: F401  the CLI module imports cleanly
from bot.catalogue.models import CatalogueAgency, CatalogueChange, CatalogueMiss
from bot.catalogue.schema import Catalogue, CatalogueError, parse_catalogue
from bot.catalogue.service import CatalogueAnswerer, open_misses
from bot.catalogue.store import edit_agency, export_yaml, import_catalogue, load_catalogue
from bot.cli import main
from bot.db import Database
from tests.catalogue.conftest import TEST_CATALOGUE

MONDAY_0930_WITA = datetime(2026, 12, 7, 1, 30, tzinfo=timezone.utc)


def test_import_then_load_gives_the_same_catalogue(database: Database, catalogue: Catalogue) -> None:
    with database.session() as session:
        assert import_catalogue(session, catalogue, "uji") == 1
    with database.session() as session:
        assert load_catalogue(session) == catalogue
        change = session.scalars(select(CatalogueChange)).one()
        assert (change.actor, change.action) == ("uji", "import")
        assert change.note == "18 instansi, 20 layanan; baru 18, dihapus 0"


def test_a_failed_import_leaves_the_previous_catalogue(database: Database, catalogue: Catalogue) -> None:
    with database.session() as session:
        import_catalogue(session, catalogue, "uji")
    smaller = Catalogue(catalogue.office, catalogue.agencies[:2])
    with pytest.raises(RuntimeError), database.session() as session:
        import_catalogue(session, smaller, "uji")
        raise RuntimeError("interrupted before commit")
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(CatalogueAgency)) == 18


def test_an_edited_hour_is_used_by_the_next_answer_and_audited(
    database: Database, catalogue: Catalogue
) -> None:
    with database.session() as session:
        import_catalogue(session, catalogue, "uji")
    answerer = CatalogueAnswerer(database, refresh_seconds=0.0)
    before = answerer.answer("samsat buka hari apa", MONDAY_0930_WITA)
    assert "Senin–Jumat pukul 08.00–12.00" in before.messages[0].text
    with database.session() as session:
        edit_agency(session, "samsat", {"hours": {"senin-jumat": "07.30-13.00"}}, "admin.samsat")
    after = answerer.answer("samsat buka hari apa", MONDAY_0930_WITA)
    assert "Senin–Jumat pukul 07.30–13.00 WITA" in after.messages[0].text
    with database.session() as session:
        edit = session.scalars(select(CatalogueChange).where(CatalogueChange.action == "edit")).one()
        assert (edit.agency_id, edit.field, edit.actor) == ("samsat", "hours", "admin.samsat")
        assert edit.before == {"senin-jumat": "08.00-12.00", "sabtu": "08.00-11.00"}
        assert edit.after == {"senin-jumat": "07.30-13.00"}


def test_an_invalid_edit_is_refused_and_changes_nothing(database: Database, catalogue: Catalogue) -> None:
    with database.session() as session:
        import_catalogue(session, catalogue, "uji")
    with pytest.raises(CatalogueError) as caught, database.session() as session:
        edit_agency(session, "samsat", {"hours": {"senin": "12.00-08.00"}}, "admin")
    assert "jam selesai harus sesudah jam mulai" in str(caught.value)
    with pytest.raises(CatalogueError) as taken, database.session() as session:
        edit_agency(session, "samsat", {"aliases": ["samsat", "dukcapil"]}, "admin")
    assert "alias 'dukcapil' sudah dipakai instansi 'disdukcapil'" in str(taken.value)
    with database.session() as session:
        assert load_catalogue(session) == catalogue
        assert session.scalar(select(func.count()).select_from(CatalogueChange)) == 1  # the import only


def test_unanswered_questions_are_grouped(database: Database, catalogue: Catalogue) -> None:
    with database.session() as session:
        import_catalogue(session, catalogue, "uji")
    answerer = CatalogueAnswerer(database)
    for text in (
        "biaya pbb berapa",
        "pbb bayar berapa ya",
        "dinas pertanian buka jam berapa",
        "kantor dinas pertanian jam brp",
        "halo",
    ):
        answerer.answer(text, MONDAY_0930_WITA)
    with database.session() as session:
        rows = [(m.kind, m.key, m.count) for m in open_misses(session)]
        example = (
            session.scalars(select(CatalogueMiss).where(CatalogueMiss.kind == "unknown_agency")).one().example
        )
    assert rows == [("missing_fact", "bapenda/pbb:biaya", 2), ("unknown_agency", "pertanian", 2)]
    assert example == "kantor dinas pertanian jam brp"


def test_cli_dry_run_lists_errors_with_lines_and_import_export_round_trip(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    from bot.settings import get_settings

    get_settings.cache_clear()
    bad = tmp_path / "salah.yml"
    bad.write_text(
        'version: 1\noffice: {name: X}\nagencies:\n  - id: a\n    name: A\n    hours: {senin: "8-12"}\n'
    )
    assert main(["catalogue", "import", str(bad), "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:6: jam layanan: jam '8-12' tidak dapat dibaca" in err
    assert "1 kesalahan; katalog tidak diimpor." in err
    assert main(["catalogue", "import", str(TEST_CATALOGUE), "--dry-run"]) == 0
    assert (
        "valid (Mal Pelayanan Publik Kabupaten Tirtamaya: 18 instansi, 20 layanan)" in capsys.readouterr().out
    )
    assert main(["catalogue", "export"]) == 1  # nothing stored by a dry run
    assert main(["catalogue", "import", str(TEST_CATALOGUE)]) == 0
    out = tmp_path / "ekspor.yml"
    assert main(["catalogue", "export", "--output", str(out)]) == 0
    assert parse_catalogue(out.read_text()) == parse_catalogue(TEST_CATALOGUE.read_text())
    assert main(["catalogue", "import", str(bad)]) == 1
    database = Database(sqlite_url)
    try:
        with database.session() as session:
            stored = load_catalogue(session)
    finally:
        database.dispose()
    assert stored is not None and len(stored.agencies) == 18  # the bad file changed nothing
    assert export_yaml(stored).startswith("# Katalog layanan")
    get_settings.cache_clear()
