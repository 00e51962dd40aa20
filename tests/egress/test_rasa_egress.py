"""Rasa's telemetry and error reporting stay off in every process the project starts (bot/rasa_environment.py)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from bot.rasa_environment import RASA_SETTINGS, _with_telemetry_off, global_config_path, rasa_environment
from tests.egress.recorder import EgressRecorder

ROOT = Path(__file__).resolve().parents[2]
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
# Rasa 3.6 passes host= to SQLTrackerStore itself: a `host:` key makes the server die with a TypeError inside
# the rasa package at start-up — the kind of crash Rasa reports to its error-tracking service.
CRASHING_ENDPOINTS = (
    'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "tracker.db"\n  host: "127.0.0.1"\n'
)


def test_a_missing_config_is_written_with_telemetry_off() -> None:
    written = _with_telemetry_off("")
    assert written.startswith("metrics:\n  enabled: false\n  rasa_user_id: ")


def test_an_enabled_config_is_turned_off_and_keeps_its_other_settings() -> None:
    rasa_wrote = (
        "metrics:\n  enabled: true\n  rasa_user_id: 7ab2\n  date: 2026-12-07 14:16:53\ninteractive: {}\n"
    )
    turned_off = _with_telemetry_off(rasa_wrote)
    assert turned_off == rasa_wrote.replace("enabled: true", "enabled: false")
    assert _with_telemetry_off(turned_off) == turned_off


def test_a_metrics_block_without_the_switch_gets_it() -> None:
    assert _with_telemetry_off("metrics:\n  rasa_user_id: 7ab2\n") == (
        "metrics:\n  enabled: false\n  rasa_user_id: 7ab2\n"
    )


def test_the_environment_turns_telemetry_off_and_writes_the_home_config(tmp_path: Path) -> None:
    environment = rasa_environment({"HOME": str(tmp_path), "PATH": "/usr/bin"}, DATABASE_URL="sqlite://")
    assert environment["RASA_TELEMETRY_ENABLED"] == "false"
    assert environment["PYTHONPATH"] == str(ROOT) and environment["DATABASE_URL"] == "sqlite://"
    assert "enabled: false" in global_config_path(environment).read_text(encoding="utf-8")


def crash_rasa(environment: dict[str, str], workdir: Path) -> subprocess.CompletedProcess[str]:
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(CRASHING_ENDPOINTS, encoding="utf-8")
    model = workdir / "model.tar.gz"  # never read: the tracker store fails first
    model.write_bytes(b"")
    command = [str(RASA), "run", "--model", str(model), "--endpoints", str(endpoints), "--port", "9"]
    command += ["--interface", "127.0.0.1"]
    return subprocess.run(command, cwd=workdir, env=environment, capture_output=True, text=True, timeout=240)


@pytest.mark.skipif(not RASA.exists(), reason="needs .venv-rasa (make envs)")
def test_a_crashing_rasa_sends_nothing_out(tmp_path: Path) -> None:
    with EgressRecorder() as recorder:
        home, control_home = tmp_path / "home", tmp_path / "control"
        home.mkdir(), control_home.mkdir()
        result = crash_rasa(rasa_environment(HOME=str(home), **recorder.environment()), home)
        assert result.returncode != 0 and "TypeError" in result.stdout + result.stderr
        time.sleep(1)
        assert recorder.attempts == []
        assert "enabled: false" in (home / ".config" / "rasa" / "global.yml").read_text(encoding="utf-8")

        # The same crash with Rasa's defaults tries to send an error report abroad: the recorder sees it.
        defaults = {key: value for key, value in os.environ.items() if key not in RASA_SETTINGS}
        crash_rasa({**defaults, "HOME": str(control_home), **recorder.environment()}, control_home)
        time.sleep(1)
    assert any("sentry.io" in attempt for attempt in recorder.attempts), recorder.attempts
