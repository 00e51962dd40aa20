"""Evaluates the complaint-triage classifier against a plain baseline.

    .venv/bin/python benchmarks/triage_eval.py [--data DIR] [--heldout FILE] [--no-ablations]

1. Stratified 5-fold cross-validation (seeded) on the training data (nlu_data/nlu/complaints/*.yml): the
   triage pipeline, a baseline (word 1-2 gram TF-IDF + logistic regression, no cleaning, no normaliser, no
   char n-grams) and, unless --no-ablations, the pipeline without each of its parts.
2. Held-out: every model trained on all the training data and scored on tests/triage/data/messy_complaints.yml
   (long, messy complaints never used for training).
Writes reports/triage_eval.json and reports/triage_eval.md, and prints the markdown.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from bot.triage.categories import CATEGORY_CODES, LOW_CONFIDENCE_THRESHOLD  # noqa: E402
from bot.triage.dataset import LabelledText, load_evaluation_set, load_training_data  # noqa: E402
from bot.triage.model import DEFAULT_DATA_DIR  # noqa: E402
from bot.triage.pipeline import SEED, build_baseline, build_pipeline  # noqa: E402

DEFAULT_HELDOUT = ROOT / "tests" / "triage" / "data" / "messy_complaints.yml"
REPORT_JSON = ROOT / "reports" / "triage_eval.json"
REPORT_MD = ROOT / "reports" / "triage_eval.md"
FOLDS = 5

MAIN = "triage pipeline"
BASELINE = "baseline"
MODELS: dict[str, Callable[[], Pipeline]] = {
    MAIN: build_pipeline,
    BASELINE: build_baseline,
}
ABLATIONS: dict[str, Callable[[], Pipeline]] = {
    "pipeline without cleaning": lambda: build_pipeline(clean=False),
    "pipeline without normaliser": lambda: build_pipeline(normalize=False),
    "pipeline without char n-grams": lambda: build_pipeline(char=False),
    "pipeline with C=1": lambda: build_pipeline(c=1.0),
}


def _scores(y_true: list[str], y_pred: list[str], labels: list[str]) -> dict[str, Any]:
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    return {
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "macro_f1": round(
            float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)), 4
        ),
        "per_category": {
            label: {
                "precision": round(float(p), 4),
                "recall": round(float(r), 4),
                "f1": round(float(f), 4),
                "support": int(s),
            }
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        },
    }


def cross_validate(factory: Callable[[], Pipeline], texts: list[str], labels: list[str]) -> dict[str, Any]:
    """Pooled out-of-fold predictions for per-category scores, plus the spread across folds."""
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    predicted = [""] * len(texts)
    fold_accuracy, fold_macro_f1 = [], []
    codes = [code for code in CATEGORY_CODES if code in set(labels)]
    for train_index, test_index in folds.split(texts, labels):
        model = clone(factory()).fit([texts[i] for i in train_index], [labels[i] for i in train_index])
        fold_predicted = model.predict([texts[i] for i in test_index])
        fold_true = [labels[i] for i in test_index]
        for i, value in zip(test_index, fold_predicted, strict=True):
            predicted[i] = str(value)
        fold_accuracy.append(accuracy_score(fold_true, fold_predicted))
        fold_macro_f1.append(
            f1_score(fold_true, fold_predicted, labels=codes, average="macro", zero_division=0)
        )
    result = _scores(labels, predicted, codes)
    result["fold_accuracy_mean"] = round(float(np.mean(fold_accuracy)), 4)
    result["fold_accuracy_std"] = round(float(np.std(fold_accuracy)), 4)
    result["fold_macro_f1_mean"] = round(float(np.mean(fold_macro_f1)), 4)
    result["fold_macro_f1_std"] = round(float(np.std(fold_macro_f1)), 4)
    return result


def heldout(
    factory: Callable[[], Pipeline], train: list[LabelledText], test: list[LabelledText]
) -> dict[str, Any]:
    model = factory().fit([e.text for e in train], [e.category for e in train])
    texts = [e.text for e in test]
    started = time.perf_counter()
    probabilities = model.predict_proba(texts)
    elapsed_ms = (time.perf_counter() - started) * 1000 / max(len(texts), 1)
    predicted = [str(model.classes_[i]) for i in probabilities.argmax(axis=1)]
    truth = [e.category for e in test]
    codes = [code for code in CATEGORY_CODES if code in set(truth)]
    result = _scores(truth, predicted, codes)
    confidence = probabilities.max(axis=1)
    result["mean_confidence"] = round(float(confidence.mean()), 4)
    result["low_confidence_share"] = round(float((confidence < LOW_CONFIDENCE_THRESHOLD).mean()), 4)
    result["ms_per_message"] = round(elapsed_ms, 2)
    result["errors"] = [
        {"expected": e.category, "predicted": p, "text": e.text[:120]}
        for e, p in zip(test, predicted, strict=True)
        if e.category != p
    ]
    return result


def _markdown(report: dict[str, Any]) -> str:
    data = report["data"]
    lines = [
        "# Complaint triage evaluation",
        "",
        f"Generated by `benchmarks/triage_eval.py` on {report['generated_at']} (scikit-learn "
        f"{report['environment']['sklearn']}, seed {SEED}).",
        f"Training data: {data['training_examples']} examples in {data['categories']} categories "
        f"({data['training_dir']}); held-out: {data['heldout_examples']} long, messy complaints "
        f"({data['heldout_file']}), never used for training.",
        "",
        "## Summary",
        "",
        f"| model | CV accuracy | CV macro-F1 | CV fold accuracy (mean ± sd) | held-out accuracy "
        f"| held-out macro-F1 | held-out share < {LOW_CONFIDENCE_THRESHOLD} confidence |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, result in report["models"].items():
        cv, ho = result["cross_validation"], result["heldout"]
        lines.append(
            f"| {name} | {cv['accuracy']:.3f} | {cv['macro_f1']:.3f} | {cv['fold_accuracy_mean']:.3f} ± "
            f"{cv['fold_accuracy_std']:.3f} | {ho['accuracy']:.3f} | {ho['macro_f1']:.3f} "
            f"| {ho['low_confidence_share']:.2f} |"
        )
    main, base = report["models"][MAIN], report["models"][BASELINE]
    lines += [
        "",
        "## Per category (triage pipeline vs baseline)",
        "",
        "Recall is the per-category accuracy. CV columns pool the out-of-fold predictions of the 5 folds.",
        "",
        "| category | CV n | CV recall | CV F1 | baseline CV recall | baseline CV F1 | held-out n "
        "| held-out recall | held-out F1 | baseline held-out recall | baseline held-out F1 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for code in CATEGORY_CODES:
        cv = main["cross_validation"]["per_category"].get(code)
        if cv is None:
            continue
        bcv = base["cross_validation"]["per_category"][code]
        ho = main["heldout"]["per_category"].get(code, {"recall": 0.0, "f1": 0.0, "support": 0})
        bho = base["heldout"]["per_category"].get(code, {"recall": 0.0, "f1": 0.0, "support": 0})
        lines.append(
            f"| {code} | {cv['support']} | {cv['recall']:.3f} | {cv['f1']:.3f} | {bcv['recall']:.3f} "
            f"| {bcv['f1']:.3f} | {ho['support']} | {ho['recall']:.3f} | {ho['f1']:.3f} "
            f"| {bho['recall']:.3f} | {bho['f1']:.3f} |"
        )
    lines += ["", "## Held-out errors of the triage pipeline", ""]
    errors = main["heldout"]["errors"]
    lines += [f"- expected `{e['expected']}`, got `{e['predicted']}`: {e['text']}…" for e in errors] or [
        "None."
    ]
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--heldout", type=Path, default=DEFAULT_HELDOUT)
    parser.add_argument("--no-ablations", action="store_true")
    parser.add_argument("--json", type=Path, default=REPORT_JSON)
    parser.add_argument("--markdown", type=Path, default=REPORT_MD)
    args = parser.parse_args(argv)

    train = load_training_data(args.data)
    test = load_evaluation_set(args.heldout)
    texts, labels = [e.text for e in train], [e.category for e in train]
    models = dict(MODELS) if args.no_ablations else {**MODELS, **ABLATIONS}
    report: dict[str, Any] = {
        "generated_at": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "environment": {"python": platform.python_version(), "sklearn": sklearn.__version__},
        "data": {
            "training_dir": str(args.data.relative_to(ROOT) if args.data.is_relative_to(ROOT) else args.data),
            "training_examples": len(train),
            "categories": len(set(labels)),
            "per_category": {code: labels.count(code) for code in CATEGORY_CODES if code in labels},
            "heldout_file": str(
                args.heldout.relative_to(ROOT) if args.heldout.is_relative_to(ROOT) else args.heldout
            ),
            "heldout_examples": len(test),
        },
        "cv": {"folds": FOLDS, "stratified": True, "shuffle": True, "seed": SEED},
        "models": {},
    }
    for name, factory in models.items():
        started = time.perf_counter()
        report["models"][name] = {
            "cross_validation": cross_validate(factory, texts, labels),
            "heldout": heldout(factory, train, test),
        }
        print(f"{name}: done in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    markdown = _markdown(report)
    args.markdown.write_text(markdown, encoding="utf-8")
    print(markdown)
    return report


if __name__ == "__main__":
    main()
