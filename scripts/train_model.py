#!/usr/bin/env python3
"""Train a Rasa model only when its inputs changed; print the model's path.

The model is named `<name>-<hash>.tar.gz`, the hash covering everything that shapes it (config, domain,
training data, the NLU components and the locked Rasa environment). A model with the same hash is reused
from `models/` or from the machine-wide cache ($LAYANAN_CACHE/models), so a fresh clone does not retrain.
Stdlib only: it runs before any environment exists.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from bot.rasa_environment import rasa_environment  # noqa: E402  (stdlib only)

INPUTS = ["domain.yml", "nlu_data", "bot/nlu", "requirements/rasa.lock"]
IGNORED_PARTS = {"__pycache__", ".pytest_cache"}


def cache_dir() -> Path:
    return Path(os.environ.get("LAYANAN_CACHE", Path.home() / ".cache" / "layanan-aduan")) / "models"


def input_files(config: Path) -> list[Path]:
    files = [config]
    for name in INPUTS:
        path = ROOT / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(
                p for p in sorted(path.rglob("*")) if p.is_file() and not IGNORED_PARTS & set(p.parts)
            )
    return files


def inputs_hash(config: Path) -> str:
    digest = hashlib.sha256()
    for path in input_files(config):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def training_lock():  # type: ignore[no-untyped-def]
    """One TensorFlow training at a time on this machine: two at once on 2 cores run ~10x slower each."""
    path = cache_dir().parent / "train.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def train(config: Path, model_name: str) -> None:
    rasa = ROOT / ".venv-rasa" / "bin" / "rasa"
    env = rasa_environment()
    command = [
        str(rasa),
        "train",
        "--config",
        str(config),
        "--domain",
        "domain.yml",
        "--data",
        "nlu_data",
        "--out",
        "models",
        "--fixed-model-name",
        model_name,
    ]
    started = time.monotonic()
    # Rasa's own output goes to stderr: stdout carries only the model's path, which callers capture.
    subprocess.run(command, cwd=ROOT, env=env, stdout=sys.stderr, check=True)
    print(f">> trained {model_name} in {time.monotonic() - started:.0f} s", file=sys.stderr)


def ensure_model(config: Path, name: str) -> Path:
    model_name = f"{name}-{inputs_hash(config)}"
    model = ROOT / "models" / f"{model_name}.tar.gz"
    cached = cache_dir() / model.name
    if model.exists():
        return model
    model.parent.mkdir(exist_ok=True)
    if cached.exists():
        shutil.copy2(cached, model)
        print(f">> reused cached model {cached}", file=sys.stderr)
        return model
    with training_lock():
        if cached.exists():  # trained by another process while this one waited for the lock
            shutil.copy2(cached, model)
            return model
        print(
            f">> training {model_name} with {config.name} (inputs changed or no model yet)", file=sys.stderr
        )
        train(config, model_name)
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(model, cached)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default="config.yml", help="Rasa config file")
    parser.add_argument("--name", default="full", help="model name prefix (full, ci, ...)")
    parser.add_argument("--print-hash", action="store_true", help="only print the inputs hash")
    args = parser.parse_args()
    config = (ROOT / args.config).resolve()
    if args.print_hash:
        print(inputs_hash(config))
        return
    print(ensure_model(config, args.name))


if __name__ == "__main__":
    main()
