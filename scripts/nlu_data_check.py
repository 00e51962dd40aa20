"""Seconds-fast check of the training data: where do labels collide?

    .venv-rasa/bin/python scripts/nlu_data_check.py [--errors PREFIX ...] [--data nlu_data]

5-fold stratified cross-validation of a linear SVM over the project's normalised text (word 1-2 grams and
character 2-5 grams, TF-IDF; C and class weights as in bot/nlu/linear_ensemble.py, the pipeline's linear half).
It is not the pipeline's figure (`make eval` is) but its confusions track the model's closely, so it shows in
seconds which examples collide with another label after an edit of `nlu_data/`.
`--errors faq/pungli file_complaint` lists every misclassified example whose gold or predicted label starts
with one of the prefixes, with its file: read them against the labelling guide in nlu_data/README.md.
"""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]+\)|\{[^}]+\})")


def load_examples(data_dir: Path) -> list[tuple[str, str, Path]]:
    """(text, full label, file) for every intent example under data_dir/nlu, entity annotations removed."""
    import yaml

    examples = []
    for path in sorted((data_dir / "nlu").rglob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in content.get("nlu") or []:
            if "intent" not in block:
                continue
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples.append((_ANNOTATION.sub(r"\1", line[2:]), block["intent"], path))
    return examples


def cross_validated_predictions(texts: list[str], labels: list[str]) -> list[str]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline, make_union

    from bot.nlu.linear_ensemble import LinearEnsembleClassifier, linear_svm

    features = make_union(
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
    )
    folds = StratifiedKFold(5, shuffle=True, random_state=42)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        svm = linear_svm(LinearEnsembleClassifier.get_default_config()["C"], seed=42)
        model = make_pipeline(features, svm)
        predicted = cross_val_predict(model, texts, labels, cv=folds)
    return [str(label) for label in predicted]


def report(examples: list[tuple[str, str, Path]], predicted: list[str], prefixes: list[str]) -> None:
    from sklearn.metrics import f1_score

    labels = [label for _, label, _ in examples]
    gold = [label.split("/")[0] for label in labels]
    base = [label.split("/")[0] for label in predicted]
    faq = [i for i, label in enumerate(labels) if label.startswith("faq/")]
    duplicates = [text for text, count in Counter(text for text, _, _ in examples).items() if count > 1]
    accuracy = sum(g == p for g, p in zip(gold, base, strict=True)) / len(gold)
    topic = sum(predicted[i] == labels[i] for i in faq) / len(faq) if faq else 0.0
    print(f"examples {len(examples)}, duplicates {len(duplicates)} {duplicates[:5]}")
    print(
        f"intent accuracy {accuracy:.3f}  macro-F1 {f1_score(gold, base, average='macro'):.3f}  "
        f"FAQ-topic accuracy {topic:.3f}"
    )
    names = sorted(set(gold))
    scores = f1_score(gold, base, average=None, labels=names)
    print(
        "per-intent F1:",
        ", ".join(f"{n} {s:.2f} ({gold.count(n)})" for n, s in zip(names, scores, strict=True)),
    )
    print("confusions:", Counter((g, p) for g, p in zip(gold, base, strict=True) if g != p).most_common(10))
    totals = Counter(labels[i] for i in faq)
    right = Counter(labels[i] for i in faq if predicted[i] == labels[i])
    print("FAQ topics (accuracy, examples, most frequent wrong predictions):")
    for name in sorted(totals, key=lambda t: right[t] / totals[t]):
        wrong = Counter(predicted[i] for i in faq if labels[i] == name and predicted[i] != name)
        print(f"  {name:34s} {right[name] / totals[name]:.2f} {totals[name]:4d} {wrong.most_common(3)}")
    for (text, label, path), guess in zip(examples, predicted, strict=True):
        if guess != label and any(label.startswith(p) or guess.startswith(p) for p in prefixes):
            print(f"{label:30s} -> {guess:30s} | {text}   [{path.relative_to(ROOT)}]")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--errors", nargs="*", default=[], metavar="PREFIX", help="list these labels' errors")
    parser.add_argument("--data", type=Path, default=ROOT / "nlu_data", help="training data directory")
    args = parser.parse_args(argv)

    from bot.nlu.tokenizer import shared_normalizer

    examples = load_examples(args.data.resolve())
    normalizer = shared_normalizer()
    texts = [normalizer.normalize(text) for text, _, _ in examples]
    predicted = cross_validated_predictions(texts, [label for _, label, _ in examples])
    report(examples, predicted, args.errors)


if __name__ == "__main__":
    main()
