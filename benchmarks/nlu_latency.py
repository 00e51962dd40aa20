"""Measures how long a trained Rasa model takes to load and to parse one message (NLU only).

    .venv-rasa/bin/python benchmarks/nlu_latency.py --model models/full-<hash>.tar.gz
        [--compare-model models/other.tar.gz] [--passes 3] [--messages benchmarks/data/latency_messages.txt]

The model is loaded with `rasa.core.agent.Agent.load` (timed; TensorFlow and Rasa are imported before the
clock starts), then every message of the messages file is parsed with `Agent.parse_message`, one at a time,
timed with `time.perf_counter`: one warm-up pass (reported apart as the "cold" pass, not mixed into the
results) and `--passes` measured passes. Latencies (mean, p50, p95, p99, max) are reported per group:

- seen: every word of the message occurs in the training data (`--data`);
- unseen: the message has words that are not in the training data (invented place names, rare words, slang);
- fresh: the message has `{novel}` placeholders, filled with a new invented word in every pass, so that no
  cache (the stemmer's, the featurisers') has seen them. Without these, a per-word cache filled during the
  warm-up would hide the cost of stemming unseen words, which is exactly the cost that must show if it leaks.

With `--compare-model` both models are loaded and measured in the same run, pass by pass in alternation (so
that the machine's noise hits both alike), each with its own fresh words; the report gives the ratios.
Writes benchmarks/results/nlu_latency.json and .md and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks.common import _display, log, machine_note, quiet_rasa  # noqa: E402
from bot.rasa_environment import configure_this_process  # noqa: E402

configure_this_process()  # telemetry and error reporting off before Rasa is imported

DEFAULT_MESSAGES = ROOT / "benchmarks" / "data" / "latency_messages.txt"
DEFAULT_DATA = ROOT / "nlu_data"
RESULTS_DIR = ROOT / "benchmarks" / "results"
DEFAULT_PASSES = 3
SEED = 42

PLACEHOLDER = re.compile(r"\{(novel|Novel)\}")
_WORDS = re.compile(r"[a-z]+")

SEEN = "seen"
UNSEEN = "unseen"
FRESH = "fresh"
ALL = "all"
GROUPS = (SEEN, UNSEEN, FRESH, ALL)
LENGTH_BANDS = (("≤ 80 chars", 0, 80), ("81–300 chars", 81, 300), ("> 300 chars", 301, 10**9))
STATS = ("mean", "p50", "p95", "p99", "max")


# --------------------------------------------------------------------------------------------------------
# Messages, vocabulary, invented words
# --------------------------------------------------------------------------------------------------------


def load_messages(path: Path) -> list[str]:
    """One message a line; blank lines and lines starting with "#" are skipped."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def words(text: str) -> set[str]:
    """Lower-case letter runs: the unit for "is this word in the training data"."""
    return set(_WORDS.findall(PLACEHOLDER.sub(" ", text).lower()))


def classify(template: str, vocabulary: set[str]) -> str:
    if PLACEHOLDER.search(template):
        return FRESH
    return UNSEEN if words(template) - vocabulary else SEEN


def length_band(text: str) -> str:
    for name, low, high in LENGTH_BANDS:
        if low <= len(text) <= high:
            return name
    return LENGTH_BANDS[-1][0]


_ONSETS = ("b", "c", "d", "g", "h", "j", "k", "l", "m", "n", "ng", "ny", "p", "r", "s", "t", "w", "y")
_VOWELS = ("a", "i", "u", "e", "o")
_CODAS = ("", "", "", "n", "ng", "r", "k", "t", "s", "h")
_PREFIXES = ("", "", "", "me", "mem", "pen", "ber", "di", "ter", "ke", "per", "memper")
_SUFFIXES = ("", "", "", "kan", "an", "i", "nya", "lah", "annya", "kannya")


class NovelWords:
    """Invented Indonesian-looking words (affix + 2-4 syllables + suffix), never repeated within a run.

    Affixed forms make the stemmer try its affix-removal rules, the expensive path for unknown words.
    """

    def __init__(self, seed: int, avoid: Iterable[str] = ()) -> None:
        self._rng = random.Random(seed)
        self._used = set(avoid)

    def _candidate(self) -> str:
        rng = self._rng
        stem = "".join(
            rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(rng.randint(2, 4))
        )
        return rng.choice(_PREFIXES) + stem + rng.choice(_SUFFIXES)

    def __call__(self) -> str:
        while True:
            word = self._candidate()
            if word not in self._used:
                self._used.add(word)
                return word


def fill(template: str, novel: NovelWords) -> str:
    """Replaces each {novel} with a new invented word ({Novel}: capitalised, as a place name)."""
    return PLACEHOLDER.sub(
        lambda m: novel().capitalize() if m.group(1) == "Novel" else novel(),
        template,
    )


def training_vocabulary(data: Path) -> set[str]:
    from rasa.shared.importers.importer import TrainingDataImporter

    domain = ROOT / "domain.yml"  # only to keep the importer from warning about intents it does not know
    importer = TrainingDataImporter.load_from_dict(
        domain_path=str(domain) if domain.exists() else None, training_data_paths=[str(data)]
    )
    vocabulary: set[str] = set()
    for message in importer.get_nlu_data().training_examples:
        vocabulary |= words(message.get("text") or "")
    return vocabulary


# --------------------------------------------------------------------------------------------------------
# Statistics and rendering
# --------------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_stats(values_ms: Sequence[float]) -> dict[str, float | int]:
    if not values_ms:
        return {"n": 0}
    return {
        "n": len(values_ms),
        "mean": round(statistics.fmean(values_ms), 2),
        "p50": round(percentile(values_ms, 50), 2),
        "p95": round(percentile(values_ms, 95), 2),
        "p99": round(percentile(values_ms, 99), 2),
        "max": round(max(values_ms), 2),
    }


def ratios(candidate: dict[str, Any], reference: dict[str, Any]) -> dict[str, float | None]:
    """candidate / reference for each statistic (None where the reference is empty or zero)."""
    return {
        stat: (round(candidate[stat] / reference[stat], 2) if reference.get(stat) else None)
        for stat in STATS
        if stat in candidate
    }


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_fmt(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def stats_table(models: dict[str, dict[str, Any]], key: str, groups: Sequence[str]) -> str:
    """One row per model and group: n and the latency statistics in ms."""
    header = ["model", "group", "n", *(f"{stat} ms" for stat in STATS)]
    rows = [
        [label, group, result[key][group].get("n", 0), *(result[key][group].get(stat) for stat in STATS)]
        for label, result in models.items()
        for group in groups
        if group in result[key]
    ]
    return markdown_table(header, rows)


def render_markdown(report: dict[str, Any]) -> str:
    run = report["run"]
    models = report["models"]
    lines = [
        "# NLU latency",
        "",
        f"- Date: {run['date']}",
        f"- Command: `{run['command']}`",
        f"- Machine: {run['machine']}",
        f"- Messages: {run['messages']} from `{run['messages_file']}` ({run['groups']}); "
        f"{run['passes']} measured passes after one warm-up pass.",
        "",
        "## Model load",
        "",
        markdown_table(
            ["model", "path", "size MB", "load s", "RSS after load MB"],
            [[label, m["path"], m["size_mb"], m["load_s"], m.get("rss_mb")] for label, m in models.items()],
        ),
        "",
        "## Parse latency (measured passes)",
        "",
        stats_table(models, "latency_ms", GROUPS),
        "",
        "## By message length (measured passes)",
        "",
        stats_table(models, "by_length_ms", [name for name, _, _ in LENGTH_BANDS]),
        "",
        "## Cold pass (the warm-up: first sight of every fixed word)",
        "",
        stats_table(models, "cold_ms", GROUPS),
    ]
    if report.get("ratios"):
        lines += [
            "",
            f"## Ratios {report['ratios']['candidate']} / {report['ratios']['reference']} (same run)",
            "",
            f"- Load: {report['ratios']['load']}",
            "",
            markdown_table(
                ["group", *STATS],
                [
                    [group, *(report["ratios"]["latency"][group].get(stat) for stat in STATS)]
                    for group in GROUPS
                    if group in report["ratios"]["latency"]
                ],
            ),
        ]
    lines += ["", "## Slowest messages (median over measured passes)", ""]
    for label, result in models.items():
        lines.append(f"- {label}:")
        lines += [
            f"  - {item['median_ms']:.1f} ms [{item['group']}] {item['text'][:100]}"
            for item in result["slowest"]
        ]
    lines += [
        "",
        "Caveat: a shared, noisy 2-core machine. Compare models by the ratios within one run.",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------
# Measuring with Rasa
# --------------------------------------------------------------------------------------------------------


def rss_mb() -> float | None:
    """Resident memory of this process (Linux)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


@dataclass
class ModelRun:
    label: str
    path: Path
    agent: Any = None
    load_s: float = 0.0
    rss_mb: float | None = None
    # samples[pass][i] = latency of message i in that pass, in ms
    samples: list[list[float]] = field(default_factory=list)
    texts: list[list[str]] = field(default_factory=list)


def load_model(run: ModelRun) -> None:
    from rasa.core.agent import Agent

    started = time.perf_counter()
    run.agent = Agent.load(str(run.path))
    run.load_s = round(time.perf_counter() - started, 2)
    run.rss_mb = rss_mb()
    log(f"{run.label}: loaded {run.path.name} in {run.load_s:.1f} s")


async def measure_pass(run: ModelRun, templates: Sequence[str], novel: NovelWords) -> None:
    latencies: list[float] = []
    texts: list[str] = []
    for template in templates:
        text = fill(template, novel)
        started = time.perf_counter()
        await run.agent.parse_message(text)
        latencies.append((time.perf_counter() - started) * 1000)
        texts.append(text)
    run.samples.append(latencies)
    run.texts.append(texts)


def summarise(run: ModelRun, templates: Sequence[str], groups: Sequence[str]) -> dict[str, Any]:
    """Pass 0 is the warm-up (cold); passes 1.. are the measurement."""
    cold, measured = run.samples[0], run.samples[1:]

    def grouped(per_pass: Sequence[Sequence[float]], keep: str) -> list[float]:
        return [
            ms for latencies in per_pass for ms, g in zip(latencies, groups, strict=True) if keep in (g, ALL)
        ]

    by_length: dict[str, list[float]] = {name: [] for name, _, _ in LENGTH_BANDS}
    for latencies, texts in zip(measured, run.texts[1:], strict=True):
        for ms, text in zip(latencies, texts, strict=True):
            by_length[length_band(text)].append(ms)
    medians = [statistics.median(latencies[i] for latencies in measured) for i in range(len(templates))]
    slowest = sorted(range(len(templates)), key=lambda i: medians[i], reverse=True)[:5]
    return {
        "path": _display(run.path),
        "size_mb": round(run.path.stat().st_size / 2**20, 1),
        "load_s": run.load_s,
        "rss_mb": run.rss_mb,
        "latency_ms": {group: latency_stats(grouped(measured, group)) for group in GROUPS},
        "by_length_ms": {name: latency_stats(values) for name, values in by_length.items()},
        "cold_ms": {group: latency_stats(grouped([cold], group)) for group in GROUPS},
        "slowest": [
            {"median_ms": round(medians[i], 2), "group": groups[i], "text": templates[i]} for i in slowest
        ],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    import asyncio

    # Imported before any clock starts, so that the first model's load time does not include them (the
    # component modules are otherwise imported by the first Agent.load only).
    import rasa.core.policies.ted_policy
    import rasa.engine.recipes.default_recipe
    import rasa.nlu.classifiers.diet_classifier
    import rasa.nlu.selectors.response_selector  # noqa: F401
    import tensorflow  # noqa: F401

    started_at = datetime.now(timezone.utc)
    machine = machine_note()
    templates = load_messages(args.messages)
    vocabulary = training_vocabulary(args.data)
    groups = [classify(template, vocabulary) for template in templates]
    counts = {group: groups.count(group) for group in (SEEN, UNSEEN, FRESH)}
    log(f"{len(templates)} messages: {counts}; training vocabulary {len(vocabulary)} words")

    runs = [ModelRun("model", args.model)]
    if args.compare_model:
        runs.append(ModelRun("compare", args.compare_model))
    for model_run in runs:
        load_model(model_run)

    # Every (model, pass) gets its own stream of invented words; none is ever reused in the run, because a
    # word one model has seen may sit in a process-wide cache that the other model shares.
    used = set(vocabulary)
    for pass_index in range(args.passes + 1):
        for model_index, model_run in enumerate(runs):
            novel = NovelWords(args.seed * 1000 + pass_index * 10 + model_index, avoid=used)
            started = time.perf_counter()
            asyncio.run(measure_pass(model_run, templates, novel))
            used |= {w for text in model_run.texts[-1] for w in words(text)}
            kind = "warm-up" if pass_index == 0 else f"pass {pass_index}/{args.passes}"
            log(f"{model_run.label}: {kind} in {time.perf_counter() - started:.1f} s")

    models = {model_run.label: summarise(model_run, templates, groups) for model_run in runs}
    report: dict[str, Any] = {
        "run": {
            "date": started_at.isoformat(timespec="seconds"),
            "command": args.command,
            "machine": machine,
            "messages_file": _display(args.messages),
            "messages": len(templates),
            "groups": ", ".join(f"{count} {group}" for group, count in counts.items()),
            "passes": args.passes,
            "seed": args.seed,
            "training_vocabulary": len(vocabulary),
        },
        "models": models,
    }
    if len(runs) == 2:
        reference, candidate = models["model"], models["compare"]
        report["ratios"] = {
            "candidate": "compare",
            "reference": "model",
            "load": round(candidate["load_s"] / reference["load_s"], 2) if reference["load_s"] else None,
            "latency": {
                group: ratios(candidate["latency_ms"][group], reference["latency_ms"][group])
                for group in GROUPS
            },
        }
    return report


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, required=True, help="trained model (.tar.gz)")
    parser.add_argument("--compare-model", type=Path, default=None, help="a second model, same run")
    parser.add_argument("--passes", type=int, default=DEFAULT_PASSES, help="measured passes after warm-up")
    parser.add_argument("--messages", type=Path, default=DEFAULT_MESSAGES, help="one message a line")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="training data (for 'unseen')")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the invented words")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "nlu_latency.json", help="JSON report")
    args = parser.parse_args(argv)
    args.command = " ".join(
        [
            "python benchmarks/nlu_latency.py",
            *(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)),
        ]
    )
    if args.passes < 1:
        parser.error("--passes must be at least 1")
    for name in ("model", "compare_model", "messages", "data", "out"):
        if getattr(args, name) is not None:
            setattr(args, name, getattr(args, name).resolve())
    for model in (args.model, args.compare_model):
        if model is not None and not model.is_file():
            parser.error(f"no model at {model}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    os.chdir(ROOT)  # custom components may read their data files relative to the repository root
    quiet_rasa()
    report = run(args)
    markdown = render_markdown(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(markdown, encoding="utf-8")
    print(markdown)
    log(f"wrote {_display(args.out)} and {_display(args.out.with_suffix('.md'))}")


if __name__ == "__main__":
    main()
