#!/usr/bin/env python3
"""Fault injection at full size: the four faults of issue 19 on the real service, PostgreSQL and fake Bot API.

Runs each scenario of tests/faults/scenarios.py (the service as a uvicorn subprocess; its own PostgreSQL,
started with initdb/pg_ctl into a temporary directory; the fake Telegram Bot API with 429/500 storms; the
fake Rasa answering "jawaban: <text>"), with the issue's sizes: 300 updates from 30 chats at 10/s (150 for
the storm, 15 chats for Rasa down). Prints the table (answered, duplicates, lost, out-of-order chats; recovery:
when the updates Telegram had by the end of the fault were all answered, and the last answer of the run,
both counted from the end of the fault) and writes benchmarks/results/faults.json and .md.
Targets: 0 lost, 0 duplicated beyond a send in flight at the instant of a kill, backlog answered within 60 s.

Run: `.venv/bin/python benchmarks/faults.py` (about 5 minutes; `--only kill` for one scenario).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults import scenarios  # noqa: E402
from tests.faults.harness import Postgres  # noqa: E402
from tests.faults.scenarios import Result  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
RECOVERY_TARGET_SECONDS = 60.0

SCENARIOS: dict[str, Callable[[Postgres, Path], Result]] = {
    "kill": lambda pg, work: scenarios.kill_service(
        pg, work, updates=300, chats=30, rate=10, kill_at=12, down_for=5
    ),
    "postgres": lambda pg, work: scenarios.restart_postgres(
        pg, work, updates=300, chats=30, rate=10, crash_at=10, down_for=15
    ),
    "storm": lambda pg, work: scenarios.bot_api_storm(
        pg, work, updates=150, chats=30, rate=10, retry_after=3, flood_for=25, errors_for=15
    ),
    "rasa": lambda pg, work: scenarios.rasa_down_quick_follow_up(
        pg, work, chats=15, down_for=10, follow_up_after=3
    ),
}


def verdict(result: Result) -> bool:
    got = result.outcome
    return (
        got.lost == 0
        and got.out_of_order == 0
        and got.duplicates <= result.in_flight_at_fault
        and result.backlog_seconds is not None
        and result.backlog_seconds <= RECOVERY_TARGET_SECONDS
    )


def table(rows: list[dict[str, Any]]) -> str:
    """The Markdown table of `Result.row()`s (each with its `target_met`)."""
    lines = [
        "| fault | answered | duplicates | lost | out of order | backlog answered | last answer | target met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        in_flight = row["in_flight_at_fault"]
        duplicates = f"{row['duplicates']}" + (f" ({in_flight} in flight at the kill)" if in_flight else "")
        lines.append(
            f"| {row['fault']} | {row['answered']} of {row['updates']} | {duplicates} | {row['lost']} | "
            f"{row['out_of_order']} | {_seconds(row['backlog_seconds'])} after | "
            f"{_seconds(row['recovery_seconds'])} after | {'yes' if row['target_met'] else '**no**'} |"
        )
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=sorted(SCENARIOS), action="append", help="run only these")
    parser.add_argument("--out", type=Path, default=RESULTS / "faults.json")
    parser.add_argument("--table", action="store_true", help="only print the table of the --out file")
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(args.out.read_text(encoding="utf-8"))["results"]))
        return 0
    chosen = args.only or list(SCENARIOS)
    postgres = Postgres().init()
    postgres.start()
    results: list[Result] = []
    started = time.monotonic()
    try:
        for name in chosen:
            with tempfile.TemporaryDirectory(prefix=f"faults-{name}-") as work:
                print(f"running {name} ...", flush=True)
                results.append(SCENARIOS[name](postgres, Path(work)))
                print("  ", results[-1].row(), flush=True)
    finally:
        postgres.remove()
    rows = [result.row() | {"target_met": verdict(result)} for result in results]
    markdown = table(rows)
    print(markdown)
    report = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "seconds": round(time.monotonic() - started, 1),
        "targets": {
            "lost": 0,
            "duplicates": "≤ sends in flight at a kill",
            "recovery_seconds": RECOVERY_TARGET_SECONDS,
        },
        "results": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(
        f"# Fault injection ({report['when']})\n\n{markdown}\n", encoding="utf-8"
    )
    return 0 if all(verdict(result) for result in results) else 1


def write_markdown(out: Path, report: dict[str, Any]) -> None:
    note = (
        "Recovery is counted from the end of the fault (restart of the service or of PostgreSQL, end of the "
        "storm, Rasa back): when every update Telegram had by then was answered, and the run's last answer."
    )
    out.with_suffix(".md").write_text(
        f"# Fault injection ({report['when']}, {report['seconds']} s)\n\n{table(report['results'])}\n\n{note}\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    sys.exit(main())
