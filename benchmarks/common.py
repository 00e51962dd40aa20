"""Helpers shared by the NLU benchmarks (logging, machine description, quiet Rasa, paths)."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    print(f">> {message}", file=sys.stderr, flush=True)


def quiet_rasa() -> None:
    """Rasa warnings only, on stderr: its per-message debug logs would flood the output and the timings."""
    import logging

    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING
    )  # first, so Rasa's stdout handler is not added
    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)


def machine_note() -> str:
    import rasa

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPUs (shared), load {load:.2f} at start, "
        f"Python {platform.python_version()}, Rasa {rasa.__version__}"
    )


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
