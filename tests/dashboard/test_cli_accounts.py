"""`bot create-admin` / `bot create-user` make accounts that can log in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot import migrations
from bot.db import Database
from bot.settings import PROJECT_ROOT
from bot.staff.accounts import find_user
from bot.staff.passwords import verify_password


def _cli(url: str, *args: str, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args, "--password-stdin"],
        input=password + "\n",
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={"DATABASE_URL": url, "PYTHONPATH": str(PROJECT_ROOT), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )


def test_create_admin_and_user(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrations.upgrade(url)
    made = _cli(url, "create-admin", "--username", "Admin", "--name", "Admin Kota", password="sandi-admin-1")
    assert made.returncode == 0, made.stderr
    assert "Akun admin (admin) dibuat" in made.stdout
    again = _cli(url, "create-admin", "--username", "admin", "--name", "X", password="sandi-admin-1")
    assert again.returncode == 1 and "sudah dipakai" in again.stderr
    weak = _cli(
        url, "create-user", "--username", "budi", "--name", "Budi", "--unit", "Dinas Sosial", password="123"
    )
    assert weak.returncode == 1 and "minimal" in weak.stderr
    no_unit = _cli(url, "create-user", "--username", "budi", "--name", "Budi", password="sandi-budi-1")
    assert no_unit.returncode == 1 and "unit" in no_unit.stderr
    ok = _cli(
        url,
        "create-user",
        "--username",
        "budi",
        "--name",
        "Budi",
        "--unit",
        "Dinas Sosial",
        password="sandi-budi-1",
    )
    assert ok.returncode == 0, ok.stderr
    database = Database(url)
    with database.session() as session:
        admin = find_user(session, "admin")
        budi = find_user(session, "budi")
        assert admin is not None and admin.role == "admin"
        assert budi is not None and budi.unit_names == ["Dinas Sosial"]
        assert verify_password(admin.password_hash, "sandi-admin-1")
        assert "sandi-admin-1" not in admin.password_hash
    database.dispose()
