"""The environment of every Rasa process the project starts: nothing leaves the office's servers.

Rasa 3.6 sends anonymous usage telemetry and, when a process fails, error reports (stack traces, which can
carry message content) to third-party services abroad unless told not to. `RASA_TELEMETRY_ENABLED=false`
is the documented switch for both (`rasa.telemetry.initialize_error_reporting` only runs with telemetry on).
Rasa also writes `~/.config/rasa/global.yml` with `enabled: true` on its first start whatever that variable
says; this module writes it with `enabled: false` first, so no configuration with telemetry on is left behind
for a Rasa command an operator runs by hand.

Every launcher — `make run` (scripts/run.py), the managed blue/green servers, training, evaluation, the
benchmarks and the tests — takes its environment from here. Standard library only: scripts that run before
any virtual environment exists import it.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RASA_SETTINGS = {
    "RASA_TELEMETRY_ENABLED": "false",  # usage telemetry and error reporting
    "TF_CPP_MIN_LOG_LEVEL": "2",  # TensorFlow's C++ start-up chatter
}
_METRICS_BLOCK = re.compile(r"^metrics:\s*\n((?:[ \t]+.*\n?)*)", re.MULTILINE)
_ENABLED_LINE = re.compile(r"^([ \t]+enabled:[ \t]*)\S+[ \t]*$", re.MULTILINE)


def rasa_environment(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """The environment for a Rasa subprocess: `base` (default: this process's) with telemetry off."""
    environment = dict(os.environ if base is None else base)
    environment.update(PYTHONPATH=str(PROJECT_ROOT), **RASA_SETTINGS)
    environment.update(extra)
    disable_telemetry_in_global_config(global_config_path(environment))
    return environment


def configure_this_process() -> None:
    """For code that runs Rasa in-process (evaluation, benchmarks, scoring, tests): the same settings."""
    os.environ.update(RASA_SETTINGS)
    disable_telemetry_in_global_config(global_config_path(os.environ))


def global_config_path(environment: Mapping[str, str]) -> Path:
    """Where Rasa keeps its per-user settings: `~/.config/rasa/global.yml` of the process's HOME."""
    home = environment.get("HOME") or os.path.expanduser("~")
    return Path(home) / ".config" / "rasa" / "global.yml"


def disable_telemetry_in_global_config(path: Path) -> None:
    """Writes Rasa's `metrics: enabled: false`, keeping the file's other settings (idempotent)."""
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        updated = _with_telemetry_off(text)
        if updated != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(updated, encoding="utf-8")
    except OSError:
        # A read-only home: the environment variable alone still keeps telemetry and error reports off.
        pass


def _with_telemetry_off(text: str) -> str:
    block = _METRICS_BLOCK.search(text)
    if block is None:
        # The same shape Rasa writes (rasa.telemetry._default_telemetry_configuration), disabled.
        prefix = text if not text or text.endswith("\n") else text + "\n"
        return (
            f"{prefix}metrics:\n  enabled: false\n  rasa_user_id: {uuid.uuid4().hex}\n"
            f"  date: {datetime.now().isoformat(sep=' ')}\n"
        )
    body = block.group(1)
    if _ENABLED_LINE.search(body):
        new_body = _ENABLED_LINE.sub(lambda line: f"{line.group(1)}false", body)
    else:
        new_body = "  enabled: false\n" + body
    return text[: block.start(1)] + new_body + text[block.end(1) :]
