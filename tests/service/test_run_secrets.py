"""`make run` (scripts/run.py) generates the secrets on first start, reuses them, and gives them to the
action server, which refuses to start without them."""

from __future__ import annotations

import argparse
import os
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from dotenv import dotenv_values

from bot.secret_checks import find_problems
from bot.settings import PROJECT_ROOT, Settings

GENERATED = ("SERVICE_TOKEN", "DATA_ENCRYPTION_KEY", "LOG_HASH_KEY")


@pytest.fixture(scope="module")
def run_script() -> Iterator[ModuleType]:
    sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
    try:
        import run

        yield run
    finally:
        sys.path.pop(0)


def test_first_start_writes_strong_secrets_readable_by_the_owner_only(
    run_script: ModuleType, tmp_path: Path
) -> None:
    path = tmp_path / "var" / "secrets.env"
    values = run_script.ensure_secrets({}, path, tmp_path / ".env")
    assert set(values) == set(GENERATED)
    assert find_problems(values) == {}
    assert len({values[name] for name in GENERATED}) == 3
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert dotenv_values(path) == values
    # The service reads the file the same way (bot/settings.py lists it as an env file).
    settings = Settings(_env_file=(path,))
    assert (settings.service_token, settings.data_encryption_key, settings.log_hash_key) == (
        values["SERVICE_TOKEN"],
        values["DATA_ENCRYPTION_KEY"],
        values["LOG_HASH_KEY"],
    )


def test_later_starts_reuse_them(run_script: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    first = run_script.ensure_secrets({}, path, tmp_path / ".env")
    path.chmod(0o644)
    assert run_script.ensure_secrets({}, path, tmp_path / ".env") == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_configured_secrets_win_and_only_missing_ones_are_generated(
    run_script: ModuleType, tmp_path: Path
) -> None:
    path = tmp_path / "secrets.env"
    dotenv = tmp_path / ".env"
    dotenv.write_text("LOG_HASH_KEY=from-dotenv-Tz8Yb2Nq5Wc1Xm7Lr4Vk0Hs9Pd3Jf6\n")
    environ = {"SERVICE_TOKEN": "from-environment-Xq3v9Zr1Lk8Tn2Wb7Yc5Hd4"}
    values = run_script.ensure_secrets(environ, path, dotenv)
    assert values["SERVICE_TOKEN"] == environ["SERVICE_TOKEN"]
    assert values["LOG_HASH_KEY"].startswith("from-dotenv-")
    assert list(dotenv_values(path)) == ["DATA_ENCRYPTION_KEY"]  # only the generated one is stored
    # A secret added to the generator later is appended; the stored ones stay.
    stored_key = values["DATA_ENCRYPTION_KEY"]
    again = run_script.ensure_secrets({}, path, tmp_path / "none.env")
    assert again["DATA_ENCRYPTION_KEY"] == stored_key
    assert set(dotenv_values(path)) == set(GENERATED)


def _arguments(tmp_path: Path) -> argparse.Namespace:
    return argparse.Namespace(
        model=tmp_path / "model.tar.gz",
        host="127.0.0.1",
        rasa_port=5005,
        action_port=5055,
        service_port=8000,
        unmanaged_rasa=False,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_action_server(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    # The action server `make run` starts (`rasa run actions --actions actions`) without loading all of Rasa.
    return subprocess.Popen(
        [str(PROJECT_ROOT / ".venv-rasa" / "bin" / "python"), "-m", "rasa_sdk", "--actions", "actions"]
        + ["--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _health(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return int(response.status)
    except OSError:
        return None


def test_the_action_server_gets_the_generated_secrets(
    run_script: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in GENERATED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_ENV", "production")
    values = run_script.ensure_secrets(os.environ, tmp_path / "secrets.env", tmp_path / ".env")
    env = run_script.service_environment(_arguments(tmp_path), values)
    assert {name: env[name] for name in GENERATED} == values
    env |= {"ACTION_OUTBOX_WORKER": "0", "ACTION_OUTBOX_PATH": str(tmp_path / "outbox.db")}

    port = _free_port()
    server = _start_action_server(env, port)
    try:
        deadline = time.monotonic() + 120
        while _health(port) != 200:
            assert server.poll() is None, server.communicate()[0]
            assert time.monotonic() < deadline, "the action server did not answer"
            time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=30)

    # The same environment without the service token: the action server stops at start-up.
    refused = _start_action_server({**env, "SERVICE_TOKEN": ""}, _free_port())
    output, _ = refused.communicate(timeout=120)
    assert refused.returncode != 0
    assert "the action server refuses to start: SERVICE_TOKEN is missing" in output


def test_the_action_server_masks_its_log_lines(tmp_path: Path) -> None:
    """Importing the actions package (the action server's start-up) masks every later log record, also of
    loggers with their own handler such as sanic's access log."""
    key = "Tz8Yb2Nq5Wc1Xm7Lr4Vk0Hs9Pd3Jf6Gg_Ae-Ui"
    script = (
        "import logging, sys\n"
        "access = logging.getLogger('sanic.access')\n"
        "access.addHandler(logging.StreamHandler(sys.stdout)); access.propagate = False\n"
        "import actions\n"
        "from bot.log_masking import sender_tag\n"
        "access.warning('POST /webhook sender=%s:%s NIK %s', 'whatsapp', '6281234567890', '3201010101900001')\n"
        "print('tag', sender_tag('6281234567890'))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "APP_ENV": "production",
        "SERVICE_TOKEN": "Xq3v9Zr1Lk8Tn2Wb7Yc5Hd4Jf6Mg0Ps-Qa_Re",
        "LOG_HASH_KEY": key,
        "ACTION_OUTBOX_WORKER": "0",
        "ACTION_OUTBOX_PATH": str(tmp_path / "outbox.db"),
    }
    result = subprocess.run(
        [str(PROJECT_ROOT / ".venv-rasa" / "bin" / "python"), "-c", script],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    line, tag_line = result.stdout.splitlines()[-2:]
    tag = tag_line.split()[1]
    assert line == f"POST /webhook sender=whatsapp:{tag} NIK 3201********0001"
    assert tag == sender_tag_with(key, "6281234567890")


def sender_tag_with(key: str, sender_id: str) -> str:
    import hashlib
    import hmac

    return "~" + hmac.new(key.encode(), sender_id.encode(), hashlib.sha256).hexdigest()[:12]
