"""`bot nlu inbox|label|export` from a terminal, on the database of DATABASE_URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from bot.db import Database
from bot.settings import PROJECT_ROOT
from tests.modelops.nlu_helpers import citizen_says


def bot(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_list_label_refuse_and_export_from_the_cli(database: Database, sqlite_url: str) -> None:
    first = citizen_says(database, "cara aktivasi ikd hp sy 081234567890", "nlu_fallback", 0.2, sender="a")
    second = citizen_says(database, "cara aktivasi ikd hp", "nlu_fallback", 0.3, sender="b")
    listed = bot(sqlite_url, "nlu", "inbox", "--json")
    assert listed.returncode == 0, listed.stderr
    [group] = json.loads(listed.stdout)
    assert group["count"] == 2 and "081234567890" not in listed.stdout
    assert sorted(map(int, group["message_ids"].split())) == sorted([first, second])

    conflict = bot(sqlite_url, "nlu", "label", str(first), "--label", "greet_baru")
    assert conflict.returncode == 1 and "belum dikenal" in conflict.stderr

    labelled = bot(sqlite_url, "nlu", "label", str(first), str(second), "--label", "faq/ktp_el")
    assert labelled.returncode == 0 and "2 message(s) labelled faq/ktp_el; 2 example(s)" in labelled.stdout
    assert json.loads(bot(sqlite_url, "nlu", "inbox", "--json").stdout) == []

    exported = bot(sqlite_url, "nlu", "export")
    examples = yaml.safe_load(exported.stdout)["nlu"][0]
    assert examples["intent"] == "faq/ktp_el"
    assert "- cara aktivasi ikd hp\n" in examples["examples"] and "0812*****890" in examples["examples"]
