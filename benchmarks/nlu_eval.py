"""Cross-validates this project's NLU pipeline against the plain Rasa pipeline for non-English data.

    .venv-rasa/bin/python benchmarks/nlu_eval.py [--folds 5] [--config config.yml]
        [--baseline benchmarks/baseline_config.yml] [--quick] [--epochs N] [--seed 42]
        [--pipelines project|baseline|both] [--holdout 0.2]

Both pipelines are trained and scored on the same seeded, stratified folds in one run (stratified on the
full intent label, so each `faq/<topic>` is spread over the folds). Each held-out fold is parsed four times:
as written ("clean") and as an informal copy made by a seeded transformer (formal words replaced by slang
from the informal-formal lexicon read in reverse, abbreviations such as bagaimana -> bgmn where the lexicon
has them, adjacent-letter swaps and repeated letters); "slang only" and "typos only" copies split the
informal score into its two causes. Metrics: intent accuracy, intent macro-F1 over the base intents (all FAQ
topics count as the one intent `faq`), FAQ-topic accuracy (gold `faq/<topic>` predicted as `faq` with the
same topic), per-intent F1.

Plain Python API, one process, one training at a time (the machine has 2 shared cores):
`rasa.model_training.train_nlu` on a temporary YAML file per fold, `rasa.core.agent.Agent.load` and
`Agent.parse_message` on the held-out texts. Writes reports/nlu_eval.json and reports/nlu_eval.md and prints
the tables. `--quick` (2 folds, at most 20 epochs) is for trying the script out, not for conclusions.

`--holdout 0.2` replaces the folds by one fixed split, one training per pipeline: an example is held out
when a seeded hash of its label and text falls in the first 20 %. The assignment of an example does not
depend on the rest of the data, so after examples are added the old held-out ones stay held out and a
before/after comparison can be restricted to them (the report lists every held-out prediction).
`--pipelines project` trains the project pipeline only (half the time).

The project pipeline's LinearEnsembleClassifier also reports its unblended parts in this run, so the report's
"Blend weight" table re-scores the same held-out predictions for other `linear_weight` values: the weight is
chosen by cross-validation on the current data without a training per candidate.
"""

from __future__ import annotations

import argparse
import copy
import gc
import hashlib
import json
import os
import random
import re
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks.common import _display, log, machine_note, quiet_rasa  # noqa: E402
from bot.rasa_environment import configure_this_process  # noqa: E402

# Before Rasa is imported: telemetry and error reporting off, no TensorFlow chatter, and no training cache
# (every fold has different data, so the cache would only fill .rasa/ with entries that are never hit).
configure_this_process()
os.environ.setdefault("RASA_MAX_CACHE_SIZE", "0")

DEFAULT_CONFIG = ROOT / "config.yml"
DEFAULT_BASELINE = ROOT / "benchmarks" / "baseline_config.yml"
DEFAULT_DATA = ROOT / "nlu_data"
DEFAULT_DOMAIN = ROOT / "domain.yml"
DEFAULT_LEXICON = ROOT / "bot" / "nlu" / "data" / "indocollex_informal_formal_dict.tsv"
DEFAULT_DOMAIN_TERMS = ROOT / "bot" / "nlu" / "data" / "domain_terms.txt"
REPORT_JSON = ROOT / "reports" / "nlu_eval.json"
REPORT_MD = ROOT / "reports" / "nlu_eval.md"
# Written from the labelling guide without reading nlu_data (see its header); never trained on.
DEFAULT_UNSEEN = ROOT / "benchmarks" / "data" / "nlu_unseen.yml"

RETRIEVAL_INTENT = "faq"
ENSEMBLE = "bot.nlu.linear_ensemble.LinearEnsembleClassifier"
ENSEMBLE_PARTS = "linear_ensemble_parts"
# linear_weight values scored from the unblended parts of the project pipeline's predictions.
BLEND_WEIGHTS = (0.0, 0.25, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 1.0)
FALLBACK_INTENT = "nlu_fallback"
DEFAULT_FOLDS = 5
QUICK_FOLDS = 2
QUICK_MAX_EPOCHS = 20
SEED = 42

PROJECT = "project"
BASELINE = "baseline"
PIPELINES = (PROJECT, BASELINE)
CLEAN = "clean"
INFORMAL = "informal"
SLANG_ONLY = "slang_only"
TYPOS_ONLY = "typos_only"
VARIANTS = (CLEAN, INFORMAL, SLANG_ONLY, TYPOS_ONLY)

# Components whose training settings the baseline takes over from the project config, so that the comparison
# is about the featurisation and not about a different training budget or fallback threshold.
ALIGNED_SETTINGS: dict[str, tuple[str, ...]] = {
    "DIETClassifier": ("epochs", "random_seed"),
    "ResponseSelector": ("epochs", "random_seed"),
    "FallbackClassifier": ("threshold", "ambiguity_threshold"),
}


# --------------------------------------------------------------------------------------------------------
# Informal copy of a held-out fold
# --------------------------------------------------------------------------------------------------------

_WORD = re.compile(r"^([A-Za-z]+)([.,!?;:]*)$")


def is_subsequence(short: str, long: str) -> bool:
    """True when `short` can be read out of `long` by skipping letters (sdh in sudah, bgmn in bagaimana)."""
    letters = iter(long)
    return all(char in letters for char in short)


def _bigrams(word: str) -> set[str]:
    return {word[i : i + 2] for i in range(len(word) - 1)}


def is_plausible_variant(informal: str, formal: str) -> bool:
    """Keeps Indonesian spellings and abbreviations of the formal word, drops most English glosses.

    The lexicon also maps English words to Indonesian ("wants" -> mau, "congrats" -> selamat); read in
    reverse those would turn an Indonesian message into an English one, which is not what citizens' slang
    does. Kept: abbreviations (sdh, bgmn: subsequences) and spellings sharing two letter pairs or the ending
    with the formal word (gimana, belom, nggak). Lost with the glosses: a few unrelated forms (gw, bc).
    """
    letters = formal.replace(" ", "")
    if informal == formal or len(informal) > len(letters) + 3:  # "congratulations" is not slang for selamat
        return False
    return (
        is_subsequence(informal, letters)
        or len(_bigrams(informal) & _bigrams(letters)) >= 2
        or (len(informal) >= 3 and informal[-2:] == letters[-2:])
    )


def is_abbreviation(informal: str, formal: str) -> bool:
    """bagaimana -> bgmn, sudah -> sdh, yang -> yg: shorter and readable out of the formal word."""
    return len(informal) < len(formal) and is_subsequence(informal, formal)


def load_reverse_lexicon(path: Path, protected: Iterable[str] = ()) -> dict[str, tuple[str, ...]]:
    """formal word or two-word phrase -> its informal spellings, from an `informal<TAB>formal` file.

    Informal forms that are domain terms are skipped: the general lexicon maps kk -> kakak, and writing
    "kakak" as "kk" would turn it into Kartu Keluarga here, changing the gold label instead of the register.
    """
    protected_set = {term.lower() for term in protected}
    pairs: dict[str, set[str]] = {}
    for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if line_number == 0 or not line.strip() or line.startswith("#"):
            continue
        informal, _, formal = line.partition("\t")
        informal = informal.strip().lower()
        formal = formal.strip().strip('"').lower()
        if not informal.isascii() or not informal.isalpha() or informal in protected_set:
            continue
        words = formal.split()
        if not 1 <= len(words) <= 2 or not all(word.isascii() and word.isalpha() for word in words):
            continue
        if words[0] in protected_set or not is_plausible_variant(informal, formal):
            continue
        pairs.setdefault(" ".join(words), set()).add(informal)
    return {formal: tuple(sorted(forms)) for formal, forms in sorted(pairs.items())}


def load_domain_terms(path: Path) -> list[str]:
    if not path.exists():
        return []
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line.lower() for line in lines if line and not line.startswith("#")]


@dataclass(frozen=True)
class InformalTransformer:
    """Deterministic informal rewrite of a message (same text and seed -> same output, in any order).

    Only whitespace-separated words made of letters (with trailing punctuation) are touched, so tracking
    codes, NIKs, phone numbers and URLs stay intact; domain terms are never rewritten.
    """

    reverse_lexicon: dict[str, tuple[str, ...]]
    protected: frozenset[str] = frozenset()
    seed: int = SEED
    slang_rate: float = 0.6  # chance that a word with informal spellings is replaced by one
    abbreviation_rate: float = 0.5  # chance to prefer an abbreviation (bgmn) when the lexicon has one
    typo_rate: float = 0.08  # chance of a swap or repeated letter in another word of >= 4 letters
    slang: bool = True
    typos: bool = True

    @classmethod
    def from_files(
        cls, lexicon: Path, domain_terms: Path | None = None, **settings: Any
    ) -> InformalTransformer:
        protected = load_domain_terms(domain_terms) if domain_terms else []
        return cls(load_reverse_lexicon(lexicon, protected), frozenset(protected), **settings)

    def variant(self, *, slang: bool, typos: bool) -> InformalTransformer:
        return InformalTransformer(
            self.reverse_lexicon,
            self.protected,
            self.seed,
            self.slang_rate,
            self.abbreviation_rate,
            self.typo_rate,
            slang,
            typos,
        )

    def _slang_for(self, formal: str, rng: random.Random) -> str:
        forms = self.reverse_lexicon[formal]
        abbreviations = [form for form in forms if is_abbreviation(form, formal.replace(" ", ""))]
        others = [form for form in forms if form not in abbreviations]
        if abbreviations and (not others or rng.random() < self.abbreviation_rate):
            return rng.choice(abbreviations)
        return rng.choice(others)

    @staticmethod
    def _typo(word: str, rng: random.Random) -> str:
        # Swap two different adjacent letters, never the first one (people rarely miss that one) ...
        swaps = [i for i in range(1, len(word) - 1) if word[i] != word[i + 1]]
        if swaps and rng.random() < 0.5:
            i = rng.choice(swaps)
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        # ... or repeat a letter once or twice ("tolongg", "lamaaa").
        i = rng.randrange(len(word))
        return word[: i + 1] + word[i] * rng.randint(1, 2) + word[i + 1 :]

    def __call__(self, text: str) -> str:
        rng = random.Random(f"{self.seed}:{int(self.slang)}{int(self.typos)}:{text}")
        tokens = text.split(" ")
        out: list[str] = []
        i = 0
        while i < len(tokens):
            match = _WORD.match(tokens[i])
            if not match:
                out.append(tokens[i])
                i += 1
                continue
            word, tail = match.groups()
            lower = word.lower()
            if self.slang and i + 1 < len(tokens) and not tail:
                next_match = _WORD.match(tokens[i + 1])
                phrase = f"{lower} {next_match.group(1).lower()}" if next_match else ""
                if next_match and phrase in self.reverse_lexicon and rng.random() < self.slang_rate:
                    out.append(self._slang_for(phrase, rng) + next_match.group(2))
                    i += 2
                    continue
            if lower in self.protected:
                out.append(tokens[i])
            elif self.slang and lower in self.reverse_lexicon and rng.random() < self.slang_rate:
                out.append(self._slang_for(lower, rng) + tail)
            elif self.typos and len(word) >= 4 and rng.random() < self.typo_rate:
                out.append(self._typo(word, rng) + tail)
            else:
                out.append(tokens[i])
            i += 1
        return " ".join(out)


# --------------------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------------------


def base_intent(label: str) -> str:
    """faq/ktp_el -> faq; other intents unchanged."""
    return label.split("/", 1)[0]


@dataclass(frozen=True)
class Prediction:
    """One held-out example and what a model made of it."""

    text: str
    gold: str  # full gold label: an intent, or faq/<topic>
    intent: str  # predicted intent (base name; may be nlu_fallback)
    confidence: float
    selector_key: str | None = None  # the response selector's faq/<topic>, whatever the intent
    fold: int = 0
    # The best real intent even when the FallbackClassifier answered nlu_fallback: the classifier's own
    # quality, before the bot's "I'm not sure" policy.
    raw_intent: str = ""
    # LinearEnsembleClassifier's unblended parts (its `output_parts` option): the linear model's label
    # probabilities and the earlier intent and FAQ-topic rankings, from which any blend weight can be scored.
    parts: dict[str, dict[str, float]] | None = None

    @property
    def gold_intent(self) -> str:
        return base_intent(self.gold)


def _round(value: float) -> float:
    return round(float(value), 4)


def compute_metrics(predictions: Sequence[Prediction], labels: Sequence[str] | None = None) -> dict[str, Any]:
    """Intent accuracy and macro-F1 over base intents, FAQ-topic accuracy, per-intent scores, confusions.

    `labels` are the base intents averaged over (default: the gold intents present). A prediction outside
    them (nlu_fallback) counts as a miss of the gold intent and as nobody's false positive.
    """
    if not predictions:
        raise ValueError("no predictions to score")
    gold = [p.gold_intent for p in predictions]
    predicted = [p.intent for p in predictions]
    label_list = sorted(set(labels) if labels is not None else set(gold))
    per_intent: dict[str, dict[str, float | int]] = {}
    for label in label_list:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent[label] = {
            "precision": _round(precision),
            "recall": _round(recall),
            "f1": _round(f1),
            "support": tp + fn,
        }
    faq = [p for p in predictions if p.gold_intent == RETRIEVAL_INTENT and "/" in p.gold]
    confusions = Counter(
        (p.gold_intent, p.intent) for p in predictions if p.gold_intent != p.intent
    ).most_common(10)
    without_fallback: dict[str, Any] = {}
    if any(p.raw_intent for p in predictions):
        raw = compute_metrics(
            [replace(p, intent=p.raw_intent or p.intent, raw_intent="") for p in predictions], labels
        )
        without_fallback = {
            "intent_accuracy_without_fallback": raw["intent_accuracy"],
            "intent_macro_f1_without_fallback": raw["intent_macro_f1"],
            "faq_topic_accuracy_without_fallback": raw["faq_topic_accuracy"],
        }
    return {
        **without_fallback,
        "examples": len(predictions),
        "intent_accuracy": _round(sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)),
        "intent_macro_f1": _round(statistics.fmean(row["f1"] for row in per_intent.values())),
        "faq_examples": len(faq),
        # End to end: the intent is faq and the response selector picked the gold topic.
        "faq_topic_accuracy": (
            _round(sum(p.intent == RETRIEVAL_INTENT and p.selector_key == p.gold for p in faq) / len(faq))
            if faq
            else None
        ),
        # The response selector alone, whatever the intent classifier said.
        "selector_topic_accuracy": (
            _round(sum(p.selector_key == p.gold for p in faq) / len(faq)) if faq else None
        ),
        "fallback_rate": _round(sum(p == FALLBACK_INTENT for p in predicted) / len(predicted)),
        "per_intent": per_intent,
        "top_confusions": [{"gold": g, "predicted": p, "count": count} for (g, p), count in confusions],
    }


def fold_summary(predictions: Sequence[Prediction], labels: Sequence[str]) -> dict[str, Any]:
    """Mean and sample standard deviation over folds of accuracy and macro-F1."""
    folds = sorted({p.fold for p in predictions})
    accuracy = [
        compute_metrics([p for p in predictions if p.fold == f], labels)["intent_accuracy"] for f in folds
    ]
    macro = [
        compute_metrics([p for p in predictions if p.fold == f], labels)["intent_macro_f1"] for f in folds
    ]

    def spread(values: list[float]) -> dict[str, float]:
        return {
            "mean": _round(statistics.fmean(values)),
            "sd": _round(statistics.stdev(values)) if len(values) > 1 else 0.0,
        }

    return {"intent_accuracy": spread(accuracy), "intent_macro_f1": spread(macro)}


def blend_sweep(predictions: Sequence[Prediction], labels: Sequence[str]) -> list[dict[str, Any]]:
    """Metrics before the fallback for each blend weight in BLEND_WEIGHTS (empty without ensemble parts).

    A message without parts keeps its prediction: Rasa answers "/start"-style messages without the NLU graph.
    """
    if not any(p.parts for p in predictions):
        return []
    from bot.nlu.linear_ensemble import blended_top

    rows = []
    for weight in BLEND_WEIGHTS:
        blended = []
        for p in predictions:
            if p.parts:
                intent, topic = blended_top(p.parts, weight, RETRIEVAL_INTENT)
            else:
                intent, topic = p.raw_intent or p.intent, p.selector_key
            blended.append(replace(p, intent=intent, selector_key=topic, raw_intent="", parts=None))
        scores = compute_metrics(blended, labels)
        rows.append(
            {
                "linear_weight": weight,
                "intent_accuracy": scores["intent_accuracy"],
                "intent_macro_f1": scores["intent_macro_f1"],
                "faq_topic_accuracy": scores["faq_topic_accuracy"],
            }
        )
    return rows


# --------------------------------------------------------------------------------------------------------
# Configs
# --------------------------------------------------------------------------------------------------------


def with_ensemble_parts(config: dict[str, Any]) -> dict[str, Any]:
    """A copy whose LinearEnsembleClassifier also outputs its unblended parts (for blend_sweep)."""
    result = copy.deepcopy(config)
    for component in _components(result):
        if component.get("name") == ENSEMBLE:
            component["output_parts"] = True
    return result


def _components(config: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in config.get("pipeline") or [] if isinstance(c, dict)]


def _component_named(config: dict[str, Any], name: str) -> dict[str, Any] | None:
    matches = [c for c in _components(config) if c.get("name") == name]
    if name == "ResponseSelector":  # several selectors are possible: the faq one is the one compared
        matches = [c for c in matches if c.get("retrieval_intent") == RETRIEVAL_INTENT] or matches
    return matches[0] if matches else None


def align_baseline(baseline: dict[str, Any], project: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The baseline config with the project's language, epochs, seeds and fallback thresholds."""
    aligned = copy.deepcopy(baseline)
    notes: list[str] = []
    if project.get("language") and aligned.get("language") != project["language"]:
        notes.append(f"language {aligned.get('language')} -> {project['language']}")
        aligned["language"] = project["language"]
    for name, keys in ALIGNED_SETTINGS.items():
        ours, theirs = _component_named(aligned, name), _component_named(project, name)
        if ours is None or theirs is None:
            continue
        for key in keys:
            if key in theirs and ours.get(key) != theirs[key]:
                notes.append(f"{name}.{key} {ours.get(key)} -> {theirs[key]}")
                ours[key] = theirs[key]
    return aligned, notes


def cap_epochs(config: dict[str, Any], max_epochs: int | None) -> dict[str, Any]:
    """A copy with every component's `epochs` set to at most `max_epochs` (None: unchanged)."""
    capped = copy.deepcopy(config)
    if max_epochs is not None:
        for component in _components(capped):
            if "epochs" in component:
                component["epochs"] = min(int(component["epochs"]), max_epochs)
    return capped


def pipeline_summary(config: dict[str, Any]) -> list[str]:
    """One line per component: its name and the settings that matter for the comparison."""
    shown = ("epochs", "random_seed", "threshold", "analyzer", "min_ngram", "max_ngram", "retrieval_intent")
    lines = []
    for component in _components(config):
        settings = ", ".join(f"{k}={component[k]}" for k in shown if k in component)
        lines.append(f"{component.get('name')}" + (f" ({settings})" if settings else ""))
    return lines


# --------------------------------------------------------------------------------------------------------
# Report rendering
# --------------------------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_fmt(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


SUMMARY_METRICS = (
    ("intent accuracy", "intent_accuracy"),
    ("intent macro-F1", "intent_macro_f1"),
    ("FAQ-topic accuracy", "faq_topic_accuracy"),
    ("intent accuracy, fallback off", "intent_accuracy_without_fallback"),
    ("intent macro-F1, fallback off", "intent_macro_f1_without_fallback"),
    ("FAQ-topic accuracy, fallback off", "faq_topic_accuracy_without_fallback"),
    ("response-selector topic accuracy", "selector_topic_accuracy"),
    ("fallback rate", "fallback_rate"),
)


def comparison_table(metrics: dict[str, dict[str, dict[str, Any]]]) -> str:
    """metrics[pipeline][variant] -> one row per metric, columns pipeline x (clean, informal)."""
    run = [p for p in PIPELINES if p in metrics]
    header = ["metric"] + [f"{pipeline} {variant}" for variant in (CLEAN, INFORMAL) for pipeline in run]
    rows = [
        [label] + [metrics[pipeline][variant].get(key) for variant in (CLEAN, INFORMAL) for pipeline in run]
        for label, key in SUMMARY_METRICS
    ]
    return markdown_table(header, rows)


def robustness_table(metrics: dict[str, dict[str, dict[str, Any]]]) -> str:
    header = ["pipeline", "metric", *VARIANTS]
    rows = [
        [pipeline, label, *(metrics[pipeline][variant][key] for variant in VARIANTS)]
        for pipeline in PIPELINES
        if pipeline in metrics
        for label, key in SUMMARY_METRICS[:3]
    ]
    return markdown_table(header, rows)


def per_intent_table(metrics: dict[str, dict[str, dict[str, Any]]]) -> str:
    run = [p for p in PIPELINES if p in metrics]
    columns = [(pipeline, variant) for variant in (CLEAN, INFORMAL) for pipeline in run]
    intents = sorted(metrics[run[0]][CLEAN]["per_intent"])
    header = ["intent", "support"] + [f"F1 {pipeline} {variant}" for pipeline, variant in columns]
    rows = [
        [intent, metrics[run[0]][CLEAN]["per_intent"][intent]["support"]]
        + [metrics[pipeline][variant]["per_intent"][intent]["f1"] for pipeline, variant in columns]
        for intent in intents
    ]
    return markdown_table(header, rows)


def unseen_section(report: dict[str, Any]) -> list[str]:
    unseen = report.get("unseen") or {}
    metrics = unseen.get("metrics") or {}
    if not metrics:
        return []
    run = [p for p in PIPELINES if p in metrics]
    rows = [[label, *(metrics[pipeline].get(key) for pipeline in run)] for label, key in SUMMARY_METRICS]
    lines = [
        "## Unseen test set",
        "",
        f"`{unseen['file']}`: {unseen['examples']} messages written from the labelling guide without reading "
        "the training data, never trained on; scored by a model trained on all of the data.",
        "",
        markdown_table(["metric", *run], rows),
        "",
    ]
    for pipeline in run:
        confusions = metrics[pipeline]["top_confusions"][:5]
        text = ", ".join(f"{c['gold']} → {c['predicted']} ({c['count']})" for c in confusions) or "none"
        lines.append(f"- {pipeline} confusions: {text}")
    return [*lines, ""]


def blend_section(report: dict[str, Any]) -> list[str]:
    sweep = report.get("blend_sweep") or {}
    clean, informal = sweep.get(CLEAN) or [], sweep.get(INFORMAL) or []
    if not clean:
        return []
    rows = [
        [
            row["linear_weight"],
            row["intent_macro_f1"],
            row["faq_topic_accuracy"],
            *(
                [informal[index]["intent_macro_f1"], informal[index]["faq_topic_accuracy"]]
                if len(informal) == len(clean)
                else ["", ""]
            ),
        ]
        for index, row in enumerate(clean)
    ]
    return [
        "## Blend weight (project pipeline)",
        "",
        "The same cross-validated predictions re-scored for other `linear_weight` values of "
        "LinearEnsembleClassifier (0 = DIET and the ResponseSelector alone, 1 = the linear model alone), "
        "before the FallbackClassifier.",
        "",
        markdown_table(
            ["linear_weight", "macro-F1 clean", "FAQ-topic clean", "macro-F1 informal", "FAQ-topic informal"],
            rows,
        ),
        "",
    ]


def render_markdown(report: dict[str, Any]) -> str:
    metrics = report["metrics"]
    run = report["run"]
    pipelines = [p for p in PIPELINES if p in metrics]
    if run.get("holdout"):
        method = (
            f"One fixed split (hash of label and text, seed {run['seed']}): {run['holdout']:.0%} held out, "
            "trained once on the rest; the same split for every pipeline."
        )
    else:
        method = (
            f"{run['folds']}-fold stratified cross-validation (seed {run['seed']})"
            + (", the same folds for both pipelines" if len(pipelines) > 1 else "")
            + "; pooled over the folds (every example predicted once, by the model that did not see it)."
        )
    lines = [
        "# NLU evaluation: this pipeline vs the plain Rasa pipeline",
        "",
        f"- Date: {run['date']}",
        f"- Command: `{run['command']}`",
        f"- Machine: {run['machine']}",
        f"- Data: {run['examples']} examples, {len(run['intents'])} intents, {run['faq_topics']} FAQ topics "
        f"({run['data']})",
        f"- {method}",
        (
            f"- Project pipeline: `{run['config']}`; baseline: `{run['baseline']}`"
            + (f" (aligned: {'; '.join(run['baseline_alignment'])})" if run["baseline_alignment"] else "")
            if BASELINE in pipelines
            else f"- Project pipeline only: `{run['config']}` (no baseline in this run)."
        ),
    ]
    if run.get("epochs_cap") is not None:
        lines.append(f"- Epochs capped at {run['epochs_cap']} (quick run: not for conclusions).")
    lines += [
        "",
        "## Summary",
        "",
        comparison_table(metrics),
        "",
        "Per fold (clean), mean ± sd: "
        + "; ".join(
            f"{pipeline} accuracy {report['per_fold'][pipeline]['intent_accuracy']['mean']:.3f} ± "
            f"{report['per_fold'][pipeline]['intent_accuracy']['sd']:.3f}, macro-F1 "
            f"{report['per_fold'][pipeline]['intent_macro_f1']['mean']:.3f} ± "
            f"{report['per_fold'][pipeline]['intent_macro_f1']['sd']:.3f}"
            for pipeline in pipelines
        ),
        "",
        *unseen_section(report),
        *blend_section(report),
        "## Robustness: where the informal loss comes from",
        "",
        "`informal` = slang + typos; `slang_only` = formal words replaced from the lexicon (in reverse), "
        "`typos_only` = adjacent-letter swaps and repeated letters.",
        "",
        robustness_table(metrics),
        "",
        "## Per-intent F1",
        "",
        per_intent_table(metrics),
        "",
        "## Most frequent confusions (clean)",
        "",
    ]
    for pipeline in pipelines:
        confusions = metrics[pipeline][CLEAN]["top_confusions"][:5]
        text = ", ".join(f"{c['gold']} → {c['predicted']} ({c['count']})" for c in confusions) or "none"
        lines.append(f"- {pipeline}: {text}")
    timing = report["timing"]
    lines += [
        "",
        "## Time",
        "",
        markdown_table(
            ["pipeline", "train s/fold (mean)", "load s/fold (mean)", "parse ms/message (mean)"],
            [
                [
                    pipeline,
                    statistics.fmean(timing[pipeline]["train_s"]),
                    statistics.fmean(timing[pipeline]["load_s"]),
                    statistics.fmean(timing[pipeline]["parse_ms"]),
                ]
                for pipeline in pipelines
            ],
        ),
        "",
        "## Caveats",
        "",
        "- The informal copies come from the same informal→formal lexicon the project's normaliser reads, so "
        "the project pipeline's gain on `slang_only` is partly by construction; `typos_only` is independent "
        "of it. Real citizen messages are the final test.",
        "- Timings are from a shared, noisy 2-core machine: compare the two pipelines within this run only.",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------
# Training and parsing with Rasa (imported lazily: the helpers above must stay importable without it)
# --------------------------------------------------------------------------------------------------------


@dataclass
class Dataset:
    examples: list[Any]  # rasa Message objects with an intent
    labels: list[str]  # full labels (faq/<topic> for retrieval examples)
    training_data: Any  # the complete rasa TrainingData (responses, regexes, lookups, synonyms)


def load_dataset(config: Path, data: Path, domain: Path | None) -> Dataset:
    from rasa.shared.importers.importer import TrainingDataImporter

    importer = TrainingDataImporter.load_nlu_importer_from_config(
        str(config), str(domain) if domain and domain.exists() else None, [str(data)]
    )
    training_data = importer.get_nlu_data()
    examples = [m for m in training_data.intent_examples if m.get("text")]
    labels = [m.get_full_intent() for m in examples]
    return Dataset(examples, labels, training_data)


def fold_indices(labels: Sequence[str], folds: int, seed: int) -> list[tuple[list[int], list[int]]]:
    """Stratified (on the full label) and seeded; the same split for every pipeline."""
    import warnings

    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # a rare label with fewer members than folds is allowed, not an error
        warnings.simplefilter("ignore", UserWarning)
        return [
            (train.tolist(), test.tolist())
            for train, test in splitter.split([[0]] * len(labels), list(labels))
        ]


def holdout_indices(labels: Sequence[str], texts: Sequence[str], fraction: float, seed: int) -> list[int]:
    """Held-out example indices: a seeded hash of (label, text) below `fraction`; stable as data grows."""

    def bucket(label: str, text: str) -> float:
        digest = hashlib.sha256(f"{seed}\0{label}\0{text}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    return [
        i for i, (label, text) in enumerate(zip(labels, texts, strict=True)) if bucket(label, text) < fraction
    ]


def holdout_split(
    labels: Sequence[str], texts: Sequence[str], fraction: float, seed: int
) -> list[tuple[list[int], list[int]]]:
    test = holdout_indices(labels, texts, fraction, seed)
    held = set(test)
    return [([i for i in range(len(labels)) if i not in held], test)]


def check_unseen(dataset: Dataset, unseen: Dataset) -> Dataset:
    """Only the training data's labels; messages that are also training examples (short ones such as "ok"
    can be) are dropped, so the set stays unseen."""
    unknown = sorted(set(unseen.labels) - set(dataset.labels))
    if unknown:
        raise ValueError(f"unseen set has labels the training data lacks: {', '.join(unknown)}")
    trained = {_canonical(example.get("text")) for example in dataset.examples}
    keep = [i for i, example in enumerate(unseen.examples) if _canonical(example.get("text")) not in trained]
    if len(keep) < len(unseen.examples):
        log(f"unseen set: {len(unseen.examples) - len(keep)} messages are also training examples, left out")
    return Dataset([unseen.examples[i] for i in keep], [unseen.labels[i] for i in keep], unseen.training_data)


def _canonical(text: str) -> str:
    return " ".join(text.lower().split())


def write_training_file(dataset: Dataset, indices: Iterable[int], target: Path) -> None:
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.training_data import TrainingData

    full = dataset.training_data
    subset = TrainingData(
        training_examples=[dataset.examples[i] for i in indices],
        entity_synonyms=full.entity_synonyms,
        regex_features=full.regex_features,
        lookup_tables=full.lookup_tables,
        responses=full.responses,
    )
    # RasaYAMLWriter rather than TrainingData.nlu_as_yaml(): the latter drops the responses, without which
    # the ResponseSelector cannot be trained.
    target.write_text(RasaYAMLWriter().dumps(subset), encoding="utf-8")


def write_config(config: dict[str, Any], target: Path) -> None:
    from rasa.shared.utils.io import write_yaml

    write_yaml(config, target)


def train(config_file: Path, data_file: Path, out_dir: Path, name: str) -> Path:
    from rasa.model_training import train_nlu

    model = train_nlu(str(config_file), str(data_file), str(out_dir), fixed_model_name=name)
    if not model:
        raise RuntimeError(f"training {name} produced no model")
    return Path(model)


def parse_texts(agent: Any, texts: Sequence[str]) -> list[dict[str, Any]]:
    import asyncio

    async def run() -> list[dict[str, Any]]:
        return [await agent.parse_message(text) for text in texts]

    return asyncio.run(run())


def to_prediction(parse: dict[str, Any], gold: str, fold: int) -> Prediction:
    intent = parse.get("intent") or {}
    selector = (parse.get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}
    key = (selector.get("response") or {}).get("intent_response_key")
    ranked = [
        str(r.get("name")) for r in parse.get("intent_ranking") or [] if r.get("name") != FALLBACK_INTENT
    ]
    return Prediction(
        text=parse.get("text", ""),
        gold=gold,
        intent=str(intent.get("name") or ""),
        confidence=float(intent.get("confidence") or 0.0),
        selector_key=key,
        fold=fold,
        raw_intent=ranked[0] if ranked else str(intent.get("name") or ""),
        parts=parse.get(ENSEMBLE_PARTS),
    )


@dataclass
class RunState:
    pipelines: Sequence[str] = PIPELINES
    predictions: dict[str, dict[str, list[Prediction]]] = field(default_factory=dict)
    timing: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for p in self.pipelines:
            self.predictions.setdefault(p, {v: [] for v in VARIANTS})
            self.timing.setdefault(p, {"train_s": [], "load_s": [], "parse_ms": []})


def evaluate_fold(
    fold: int,
    pipeline: str,
    config_file: Path,
    dataset: Dataset,
    split: tuple[list[int], list[int]],
    transformers: dict[str, InformalTransformer | None],
    work: Path,
    state: RunState,
) -> None:
    from rasa.core.agent import Agent

    train_idx, test_idx = split
    fold_dir = work / f"{pipeline}-fold{fold}"
    fold_dir.mkdir()
    data_file = fold_dir / "train.yml"
    write_training_file(dataset, train_idx, data_file)
    started = time.perf_counter()
    model = train(config_file, data_file, fold_dir, f"{pipeline}-fold{fold}")
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    agent = Agent.load(str(model))
    load_s = time.perf_counter() - started
    gold = [dataset.labels[i] for i in test_idx]
    clean_texts = [dataset.examples[i].get("text") for i in test_idx]
    parse_seconds = 0.0
    for variant, transformer in transformers.items():
        texts = [transformer(t) for t in clean_texts] if transformer else clean_texts
        started = time.perf_counter()
        parses = parse_texts(agent, texts)
        parse_seconds += time.perf_counter() - started
        state.predictions[pipeline][variant] += [
            to_prediction(parse, label, fold) for parse, label in zip(parses, gold, strict=True)
        ]
    parse_ms = 1000 * parse_seconds / (len(clean_texts) * len(transformers))
    state.timing[pipeline]["train_s"].append(round(train_s, 1))
    state.timing[pipeline]["load_s"].append(round(load_s, 1))
    state.timing[pipeline]["parse_ms"].append(round(parse_ms, 2))
    clean = compute_metrics(state.predictions[pipeline][CLEAN][-len(gold) :])
    log(
        f"fold {fold + 1} {pipeline}: train {train_s:.0f} s, load {load_s:.1f} s, "
        f"parse {parse_ms:.1f} ms/msg, clean accuracy {clean['intent_accuracy']:.3f}"
    )
    del agent
    _release_models()
    shutil.rmtree(fold_dir, ignore_errors=True)


def evaluate_unseen(
    pipeline: str, config_file: Path, dataset: Dataset, unseen: Dataset, work: Path
) -> list[Prediction]:
    """Train on all of the data and parse the independently written test set (clean text only)."""
    from rasa.core.agent import Agent

    run_dir = work / f"{pipeline}-all"
    run_dir.mkdir()
    data_file = run_dir / "train.yml"
    write_training_file(dataset, range(len(dataset.examples)), data_file)
    started = time.perf_counter()
    model = train(config_file, data_file, run_dir, f"{pipeline}-all")
    log(f"{pipeline} on all data: trained in {time.perf_counter() - started:.0f} s")
    agent = Agent.load(str(model))
    texts = [example.get("text") for example in unseen.examples]
    parses = parse_texts(agent, texts)
    predictions = [to_prediction(parse, label, 0) for parse, label in zip(parses, unseen.labels, strict=True)]
    del agent
    _release_models()
    shutil.rmtree(run_dir, ignore_errors=True)
    return predictions


def _release_models() -> None:
    """Drop TensorFlow graphs between folds so that memory stays flat over the run."""
    try:
        import tensorflow as tf

        tf.keras.backend.clear_session()
    except Exception:  # best effort only: a failure here must not lose the run's results
        pass
    gc.collect()


def read_yaml(path: Path) -> dict[str, Any]:
    from rasa.shared.utils.io import read_yaml_file

    content = read_yaml_file(path)
    if not isinstance(content, dict):
        raise ValueError(f"{path} is not a YAML mapping")
    return content


def run(args: argparse.Namespace) -> dict[str, Any]:
    folds = 1 if args.holdout else args.folds or (QUICK_FOLDS if args.quick else DEFAULT_FOLDS)
    pipelines = PIPELINES if args.pipelines == "both" else (args.pipelines,)
    epochs_cap = args.epochs if args.epochs is not None else (QUICK_MAX_EPOCHS if args.quick else None)
    config_path, baseline_path = args.config, args.baseline
    project_config = with_ensemble_parts(cap_epochs(read_yaml(config_path), epochs_cap))
    baseline_config, alignment = align_baseline(read_yaml(baseline_path), read_yaml(config_path))
    baseline_config = cap_epochs(baseline_config, epochs_cap)
    for note in alignment:
        log(f"baseline aligned with the project config: {note}")

    started_at = datetime.now(timezone.utc)
    machine = machine_note()
    dataset = load_dataset(config_path, args.data, args.domain)
    if args.holdout:
        texts = [example.get("text") for example in dataset.examples]
        splits = holdout_split(dataset.labels, texts, args.holdout, args.seed)
    else:
        splits = fold_indices(dataset.labels, folds, args.seed)
    intents = sorted({base_intent(label) for label in dataset.labels})
    topics = sorted({label for label in dataset.labels if "/" in label})
    unseen = load_dataset(config_path, args.unseen, None) if args.unseen else None
    if unseen is not None:
        unseen = check_unseen(dataset, unseen)
    log(f"{len(dataset.examples)} examples, {len(intents)} intents, {len(topics)} FAQ topics, {folds} folds")

    informal = InformalTransformer.from_files(args.lexicon, args.domain_terms, seed=args.seed)
    transformers: dict[str, InformalTransformer | None] = {
        CLEAN: None,
        INFORMAL: informal,
        SLANG_ONLY: informal.variant(slang=True, typos=False),
        TYPOS_ONLY: informal.variant(slang=False, typos=True),
    }
    state = RunState(pipelines)
    with tempfile.TemporaryDirectory(prefix="nlu-eval-") as tmp:
        work = Path(tmp)
        config_files = {PROJECT: work / "project_config.yml", BASELINE: work / "baseline_config.yml"}
        write_config(project_config, config_files[PROJECT])
        write_config(baseline_config, config_files[BASELINE])
        run_started = time.perf_counter()
        for fold, split in enumerate(splits):
            for pipeline in pipelines:
                log(f"fold {fold + 1}/{folds} {pipeline}: train on {len(split[0])}, test on {len(split[1])}")
                evaluate_fold(
                    fold, pipeline, config_files[pipeline], dataset, split, transformers, work, state
                )
            log(f"fold {fold + 1}/{folds} done, {time.perf_counter() - run_started:.0f} s so far")
        unseen_predictions: dict[str, list[Prediction]] = {}
        if unseen is not None:
            for pipeline in pipelines:
                unseen_predictions[pipeline] = evaluate_unseen(
                    pipeline, config_files[pipeline], dataset, unseen, work
                )

    metrics = {
        pipeline: {
            variant: compute_metrics(state.predictions[pipeline][variant], intents) for variant in VARIANTS
        }
        for pipeline in pipelines
    }
    unseen_metrics = {
        pipeline: compute_metrics(predictions, intents)
        for pipeline, predictions in unseen_predictions.items()
    }
    first = pipelines[0]
    shown = zip(state.predictions[first][CLEAN][:8], state.predictions[first][INFORMAL][:8], strict=True)
    examples = [{"clean": clean.text, "informal": informal_copy.text} for clean, informal_copy in shown]
    return {
        "run": {
            "date": started_at.isoformat(timespec="seconds"),
            "command": args.command,
            "machine": machine,
            "data": _display(args.data),
            "config": _display(config_path),
            "baseline": _display(baseline_path),
            "baseline_alignment": alignment,
            "pipelines": {
                PROJECT: pipeline_summary(project_config),
                BASELINE: pipeline_summary(baseline_config),
            },
            "folds": folds,
            "holdout": args.holdout,
            "pipelines_run": list(pipelines),
            "seed": args.seed,
            "epochs_cap": epochs_cap,
            "examples": len(dataset.examples),
            "intents": intents,
            "faq_topics": len(topics),
            "informal_settings": {
                "slang_rate": informal.slang_rate,
                "abbreviation_rate": informal.abbreviation_rate,
                "typo_rate": informal.typo_rate,
                "reverse_lexicon_entries": len(informal.reverse_lexicon),
            },
            "informal_examples": examples,
            "duration_s": round((datetime.now(timezone.utc) - started_at).total_seconds()),
        },
        "metrics": metrics,
        "unseen": {
            "file": _display(args.unseen) if args.unseen else None,
            "examples": len(unseen.examples) if unseen is not None else 0,
            "metrics": unseen_metrics,
            "errors": {
                pipeline: [
                    {"text": p.text, "gold": p.gold, "intent": p.intent, "selector_key": p.selector_key}
                    for p in predictions
                    if p.intent != p.gold_intent
                    or (p.gold_intent == RETRIEVAL_INTENT and p.selector_key != p.gold)
                ]
                for pipeline, predictions in unseen_predictions.items()
            },
        },
        "per_fold": {
            pipeline: fold_summary(state.predictions[pipeline][CLEAN], intents) for pipeline in pipelines
        },
        "blend_sweep": {
            variant: blend_sweep(state.predictions[first][variant], intents)
            for variant in (CLEAN, INFORMAL)
            if first == PROJECT
        },
        "timing": state.timing,
        # Every clean held-out prediction, so that two runs can be compared on the examples they share.
        "predictions": {
            pipeline: [
                {
                    "text": p.text,
                    "gold": p.gold,
                    "intent": p.intent,
                    "raw_intent": p.raw_intent,
                    "selector_key": p.selector_key,
                    "confidence": round(p.confidence, 4),
                }
                for p in state.predictions[pipeline][CLEAN]
            ]
            for pipeline in pipelines
        },
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--folds", type=int, default=None, help=f"default {DEFAULT_FOLDS}; --quick: 2")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="the project's Rasa config")
    parser.add_argument("--baseline", type=Path, default=DEFAULT_BASELINE, help="the baseline Rasa config")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="NLU data (file or directory)")
    parser.add_argument("--domain", type=Path, default=DEFAULT_DOMAIN, help="domain (for FAQ responses)")
    parser.add_argument("--lexicon", type=Path, default=DEFAULT_LEXICON, help="informal<TAB>formal lexicon")
    parser.add_argument("--domain-terms", type=Path, default=DEFAULT_DOMAIN_TERMS, help="never rewritten")
    parser.add_argument("--seed", type=int, default=SEED, help="folds and informal-copy seed")
    parser.add_argument("--epochs", type=int, default=None, help="cap every component's epochs")
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_FOLDS} folds, at most {QUICK_MAX_EPOCHS} epochs"
    )
    parser.add_argument(
        "--pipelines", choices=(*PIPELINES, "both"), default="both", help="which pipelines to train"
    )
    parser.add_argument(
        "--holdout", type=float, default=None, help="one fixed hashed split with this test fraction (0-1)"
    )
    parser.add_argument(
        "--unseen",
        default=str(DEFAULT_UNSEEN),
        help="independently written test set, scored by a model trained on all data ('' to skip)",
    )
    parser.add_argument("--out-json", type=Path, default=REPORT_JSON)
    parser.add_argument("--out-md", type=Path, default=REPORT_MD)
    args = parser.parse_args(argv)
    args.command = " ".join(
        ["python benchmarks/nlu_eval.py", *(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))]
    )
    if (args.folds or DEFAULT_FOLDS) < 2:
        parser.error("--folds must be at least 2")
    if args.holdout is not None and not 0 < args.holdout < 1:
        parser.error("--holdout must be between 0 and 1")
    for name in ("config", "baseline", "data", "domain", "lexicon", "domain_terms", "out_json", "out_md"):
        setattr(args, name, getattr(args, name).resolve())  # before main() changes to the repository root
    args.unseen = Path(args.unseen).resolve() if args.unseen else None
    if args.unseen is not None and not args.unseen.exists():
        parser.error(f"--unseen {args.unseen}: no such file")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    os.chdir(ROOT)  # the project config refers to files relative to the repository root
    quiet_rasa()
    report = run(args)
    markdown = render_markdown(report)
    args.out_json.parent.mkdir(parents=True, exist_ok=True)
    args.out_json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    args.out_md.write_text(markdown, encoding="utf-8")
    print(markdown)
    log(f"wrote {_display(args.out_json)} and {_display(args.out_md)}")


if __name__ == "__main__":
    main()
