"""The setup scripts behind `make run` / `make test`: idempotent, explain what is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(command: list[str], cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


def test_missing_python310_is_explained_with_the_ways_to_get_it(tmp_path: Path) -> None:
    result = run(["bash", "scripts/find_python310.sh"], PATH="/nonexistent:/bin", HOME=str(tmp_path))
    assert result.returncode == 1
    assert "pyenv install 3.10" in result.stderr
    assert "uv python install 3.10" in result.stderr


def test_service_environment_is_not_rebuilt_when_its_lock_is_unchanged() -> None:
    result = run(["bash", "scripts/ensure_venv.sh", "service"])
    assert result.returncode == 0
    assert "building" not in result.stdout  # the stamp matches: nothing to do


def test_model_hash_covers_the_training_inputs() -> None:
    first = run([sys.executable, "scripts/train_model.py", "--config", "config.ci.yml", "--print-hash"])
    again = run([sys.executable, "scripts/train_model.py", "--config", "config.ci.yml", "--print-hash"])
    full = run([sys.executable, "scripts/train_model.py", "--config", "config.yml", "--print-hash"])
    assert first.stdout == again.stdout
    assert len(first.stdout.strip()) == 16
    assert full.stdout != first.stdout  # another config, another model


def test_endpoints_follow_the_tracker_store_url() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from run import tracker_store_yaml
    finally:
        sys.path.pop(0)
    assert 'dialect: "sqlite"' in tracker_store_yaml("")
    postgres = tracker_store_yaml("postgresql://rasa:pw@db.internal:5433/rasa")
    assert 'dialect: "postgresql"' in postgres and "port: 5433" in postgres and 'db: "rasa"' in postgres
    assert 'url: "db.internal"' in postgres and "host:" not in postgres  # Rasa passes url as host=


FAKE_RASA = """#!/usr/bin/env python3
import sys
from pathlib import Path
args = sys.argv[1:]
out, name = args[args.index("--out") + 1], args[args.index("--fixed-model-name") + 1]
Path(out, name + ".tar.gz").write_bytes(b"model")
print("Your Rasa model is trained and saved at '" + out + "/" + name + ".tar.gz'.")
"""


def test_a_first_training_prints_only_the_model_path(tmp_path: Path) -> None:
    """`make run` starts Rasa with whatever the script prints: Rasa's own chatter must not reach stdout."""
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    (project / "scripts" / "train_model.py").write_bytes((ROOT / "scripts" / "train_model.py").read_bytes())
    (project / "bot").mkdir()
    for module in ("__init__.py", "rasa_environment.py"):  # what the script imports: standard library only
        (project / "bot" / module).write_bytes((ROOT / "bot" / module).read_bytes())
    (project / "config.yml").write_text("recipe: default.v1\n")
    (project / "domain.yml").write_text("version: '3.1'\n")
    rasa = project / ".venv-rasa" / "bin" / "rasa"
    rasa.parent.mkdir(parents=True)
    rasa.write_text(FAKE_RASA)
    rasa.chmod(0o755)
    command = [sys.executable, str(project / "scripts" / "train_model.py"), "--config", "config.yml"]
    cache = str(tmp_path / "cache")

    trained = run(command, cwd=project, LAYANAN_CACHE=cache)
    reused = run(command, cwd=project, LAYANAN_CACHE=cache)

    assert trained.returncode == 0, trained.stderr
    [path] = trained.stdout.splitlines()
    assert Path(path).is_file() and Path(path).parent == project / "models"
    assert "Your Rasa model is trained" in trained.stderr
    assert reused.stdout == trained.stdout
