"""The service catalogue through the real model, action server and service: a file imported with the
documented command answers "samsat buka hari apa?" and friends with its own facts and the open/closed-now
line, in whatever intent the NLU reads them; an edited hour is used by the next answer."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bot.catalogue.store import edit_agency
from bot.db import Database
from tests.e2e.conftest import ROOT, Stack
from tests.e2e.test_conversation_basics import button_titles, new_sender, texts

TEST_CATALOGUE = ROOT / "tests" / "catalogue" / "data" / "mpp_tirtamaya.yml"


@pytest.fixture(scope="module")
def catalogue_stack(stack: Stack) -> Iterator[Stack]:
    env = {"PYTHONPATH": str(ROOT), "DATABASE_URL": stack.database_url, "PATH": "/usr/bin:/bin"}
    subprocess.run(
        [sys.executable, "-m", "bot.cli", "catalogue", "import", str(TEST_CATALOGUE)],
        cwd=ROOT,
        env=env,
        check=True,
    )
    time.sleep(2.5)  # the services notice a new catalogue within CATALOGUE_REFRESH_SECONDS
    yield stack
    # The other end-to-end tests expect the national FAQ answers: leave no catalogue behind.
    engine = create_engine(stack.database_url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM catalogue_agencies"))
        connection.execute(text("DELETE FROM catalogue_office"))
    engine.dispose()
    time.sleep(2.5)


def test_the_done_when_questions(catalogue_stack: Stack) -> None:
    samsat = texts(catalogue_stack.chat(new_sender(), "samsat buka hari apa?"))
    assert (
        "SAMSAT Kabupaten Tirtamaya melayani hari Senin–Jumat pukul 08.00–12.00; Sabtu pukul 08.00–11.00 WITA."
        in samsat
    )
    assert "Saat ini (" in samsat
    nib = texts(catalogue_stack.chat(new_sender(), "syarat bikin NIB di dpmptsp apa aja"))
    assert "Syarat Nomor Induk Berusaha (NIB)" in nib and "Kode KBLI usaha" in nib
    assert "Sumber: dpmptsp.tirtamaya.example/nib (per 15 September 2026)." in nib
    kejari = texts(catalogue_stack.chat(new_sender(), "kejari tutup jam brp"))
    assert "Kejaksaan Negeri Tirtamaya tutup Senin–Jumat pukul 16.00 WITA." in kejari
    assert "Saat ini (" in kejari


def test_an_ambiguous_name_is_asked_with_buttons_that_answer(catalogue_stack: Stack) -> None:
    sender = new_sender()
    messages = catalogue_stack.chat(sender, "bpjs buka jam berapa")
    assert button_titles(messages) == [
        "BPJS Kesehatan Kantor Cabang Tirtamaya",
        "BPJS Ketenagakerjaan Kantor Cabang Tirtamaya",
    ]
    payload = str(messages[-1]["buttons"][1]["payload"])  # type: ignore[index]
    chosen = texts(catalogue_stack.chat(sender, payload))
    assert chosen.startswith("BPJS Ketenagakerjaan Kantor Cabang Tirtamaya melayani hari Senin–Jumat")


def test_an_edited_hour_is_used_by_the_next_answer(catalogue_stack: Stack) -> None:
    database = Database(catalogue_stack.database_url)
    try:
        with database.session() as session:
            edit_agency(session, "kejari", {"hours": {"senin-jumat": "07.30-15.30"}}, "admin:e2e")
    finally:
        database.dispose()
    time.sleep(2.5)
    answer = texts(catalogue_stack.chat(new_sender(), "kejari tutup jam brp"))
    assert "Kejaksaan Negeri Tirtamaya tutup Senin–Jumat pukul 15.30 WITA." in answer
