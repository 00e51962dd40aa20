#!/usr/bin/env python3
"""Service catalogue benchmark: does the bot find the agency and the aspect, and is the answer right?

Runs in `.venv`: `python benchmarks/catalogue_eval.py`. Imports the fictional test catalogue
(`tests/catalogue/data/mpp_tirtamaya.yml`, not the demo one) into a scratch SQLite database with the
documented command's code path, then asks every question of `tests/catalogue/data/questions_tirtamaya.yml`
through the same `CatalogueAnswerer` the service's endpoint uses. Scores:

- agency: the agency recognised (or "office" for the office itself, "ambiguous" when the bot must ask with
  buttons, none when the catalogue should stay silent) equals the expected one;
- aspect: the first aspect detected equals the expected one (none expected: none detected);
- fully correct: the agency is right and the answer contains every expected string (for "ambiguous" the bot
  asked, for none it stayed silent);
- added latency per turn: the answerer's wall-clock and CPU time per question (index in memory, the revision check against the
  database at most every 2 s, as in the service), REPEATS passes, p50/p95/p99.

Targets (issue 20): agency ≥ 0.95, fully correct ≥ 0.90, p99 ≤ 10 ms. Writes JSON and Markdown to
benchmarks/results/ and prints the Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import migrations  # noqa: E402
from bot.catalogue.schema import parse_catalogue  # noqa: E402
from bot.catalogue.service import Answer, CatalogueAnswerer, Outcome  # noqa: E402
from bot.catalogue.store import import_catalogue  # noqa: E402
from bot.db import Database  # noqa: E402

CATALOGUE = ROOT / "tests" / "catalogue" / "data" / "mpp_tirtamaya.yml"
QUESTIONS = ROOT / "tests" / "catalogue" / "data" / "questions_tirtamaya.yml"
RESULTS = ROOT / "benchmarks" / "results"
# Wednesday 9 December 2026, 10.15 WITA: a fixed "now", so the open/closed line is reproducible.
NOW = datetime(2026, 12, 9, 2, 15, tzinfo=timezone.utc)
REPEATS = 20


def predicted_agency(answer: Answer) -> str | None:
    if answer.outcome is Outcome.AMBIGUOUS and answer.agency_id is None:
        return "ambiguous"
    if answer.outcome is Outcome.NO_MATCH:
        return None
    return answer.agency_id or "office"


def score(question: dict[str, Any], answer: Answer) -> dict[str, Any]:
    agency = predicted_agency(answer)
    aspect = answer.aspects[0].value if answer.aspects and answer.outcome is not Outcome.NO_MATCH else None
    # Nothing to answer (no agency expected): the aspect does not matter.
    aspect_ok = question["agency"] is None or aspect == question["aspect"]
    text = "\n".join(message.text for message in answer.messages)
    agency_ok = agency == question["agency"]
    full = agency_ok and aspect_ok and all(part in text for part in question["expect"])
    return {
        "text": question["text"],
        "expected_agency": question["agency"],
        "agency": agency,
        "expected_aspect": question["aspect"],
        "aspect": aspect,
        "agency_ok": agency_ok,
        "aspect_ok": aspect_ok,
        "fully_correct": full,
        "answer": text,
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def run(repeats: int) -> dict[str, Any]:
    questions = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as workdir:
        url = f"sqlite:///{Path(workdir) / 'catalogue.db'}"
        migrations.upgrade(url)
        database = Database(url)
        try:
            with database.session() as session:
                import_catalogue(session, parse_catalogue(CATALOGUE.read_text(encoding="utf-8")), "benchmark")
            answerer = CatalogueAnswerer(database, refresh_seconds=2.0)
            answerer.answer("pemanasan", NOW, record=False)  # first load: index and holiday tables
            rows = [score(q, answerer.answer(q["text"], NOW, record=False)) for q in questions]
            timings: list[float] = []
            cpu: list[float] = []
            for _ in range(repeats):
                for question in questions:
                    start, start_cpu = time.perf_counter(), time.thread_time()
                    answerer.answer(question["text"], NOW, record=False)
                    timings.append((time.perf_counter() - start) * 1000)
                    cpu.append((time.thread_time() - start_cpu) * 1000)
        finally:
            database.dispose()
    count = len(rows)
    with_aspect = [row for row in rows if row["expected_agency"] is not None]
    return {
        "catalogue": str(CATALOGUE.relative_to(ROOT)),
        "questions": count,
        "agency_accuracy": round(sum(r["agency_ok"] for r in rows) / count, 3),
        "aspect_accuracy": round(sum(r["aspect_ok"] for r in with_aspect) / len(with_aspect), 3),
        "fully_correct": round(sum(r["fully_correct"] for r in rows) / count, 3),
        "latency_ms": {
            "turns": len(timings),
            "p50": round(statistics.median(timings), 3),
            "p95": round(percentile(timings, 0.95), 3),
            "p99": round(percentile(timings, 0.99), 3),
            "max": round(max(timings), 3),
            "cpu_p50": round(statistics.median(cpu), 3),
            "cpu_p99": round(percentile(cpu, 0.99), 3),
            "load_average": round(os.getloadavg()[0], 2),
        },
        "errors": [row for row in rows if not row["fully_correct"]],
    }


def markdown(report: dict[str, Any]) -> str:
    latency = report["latency_ms"]
    lines = [
        "# Service catalogue benchmark",
        "",
        f"{report['questions']} questions on `{report['catalogue']}` (`benchmarks/catalogue_eval.py`).",
        "",
        "| metric | value | target |",
        "|---|---|---|",
        f"| agency recognised | {report['agency_accuracy']:.3f} | ≥ 0.95 |",
        f"| aspect recognised | {report['aspect_accuracy']:.3f} | – |",
        f"| fully correct answer | {report['fully_correct']:.3f} | ≥ 0.90 |",
        f"| added latency p50 / p95 / p99 (ms) | {latency['p50']:.2f} / {latency['p95']:.2f} / "
        f"{latency['p99']:.2f} | p99 ≤ 10 |",
        f"| CPU time per turn p50 / p99 (ms) | {latency['cpu_p50']:.2f} / {latency['cpu_p99']:.2f} | – |",
        "",
        f"Load average {latency['load_average']} on this machine's shared cores when it finished: the wall-clock "
        "tail includes time waiting for a core; the CPU time is the answerer's own work.",
        "",
    ]
    if report["errors"]:
        lines += ["Not fully correct:", ""]
        for row in report["errors"]:
            lines.append(
                f"- `{row['text']}`: agency {row['agency']} (expected {row['expected_agency']}), "
                f"aspect {row['aspect']} (expected {row['expected_aspect']})"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=REPEATS, help="timing passes over the questions")
    parser.add_argument("--json", type=Path, default=RESULTS / "catalogue_eval.json")
    parser.add_argument("--markdown", type=Path, default=RESULTS / "catalogue_eval.md")
    args = parser.parse_args(argv)
    report = run(args.repeats)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    text = markdown(report)
    args.markdown.write_text(text, encoding="utf-8")
    print(text)
    return report


if __name__ == "__main__":
    main()
