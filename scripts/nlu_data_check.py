"""Seconds-fast check of the training data: where do labels collide?

    .venv-rasa/bin/python scripts/nlu_data_check.py [--errors PREFIX ...] [--data nlu_data]
        [--seeds 42 7 123] [--without phrase_chars length]

5-fold stratified cross-validation of a linear SVM over the project's normalised text, with the feature blocks of
config.yml's featurizers (word 1-2 grams, Sastrawi stems, character 2-5 grams within words, character 3-6 grams
across words; sublinear TF-IDF, each block unit length; then the message-length buckets, C and class weights of
bot/nlu/linear_ensemble.py, the pipeline's linear half).
It is not the pipeline's figure (`make eval` is) but its confusions track the model's closely, so it shows in
seconds which examples collide with another label after an edit of `nlu_data/`.
`--errors faq/pungli file_complaint` lists every misclassified example whose gold or predicted label starts
with one of the prefixes, with its file: read them against the labelling guide in nlu_data/README.md.
`--seeds` repeats the cross-validation with other fold shuffles and prints the mean (a single shuffle moves by
about 0.003); `--without BLOCK` leaves a feature block out, to measure what it adds.
"""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from collections import Counter
from pathlib import Path
from typing import Any, cast

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


Block = tuple[str, str, tuple[int, int], int]  # (which text, analyzer, n-gram range, min_df)


def feature_blocks(config_path: Path) -> dict[str, Block]:
    """The CountVectorsFeaturizers of a Rasa config by alias, with Rasa's defaults for unset options."""
    import yaml

    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    return {
        component["alias"]: (
            "stems" if component.get("use_lemma", True) else "surface",
            component.get("analyzer", "word"),
            (component.get("min_ngram", 1), component.get("max_ngram", 1)),
            component.get("min_df", 1),
        )
        for component in config["pipeline"]
        if component["name"] == "CountVectorsFeaturizer"
    }


def ensemble_settings(config_path: Path) -> dict[str, Any]:
    """LinearEnsembleClassifier's settings in a Rasa config, over the component's defaults."""
    import yaml

    from bot.nlu.linear_ensemble import LinearEnsembleClassifier

    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    ours = [c for c in config["pipeline"] if c["name"].endswith("LinearEnsembleClassifier")]
    return {**LinearEnsembleClassifier.get_default_config(), **(ours[0] if ours else {})}


BLOCKS = feature_blocks(ROOT / "config.yml")
LENGTH = "length"  # the ensemble's message-length buckets, not a featurizer


def feature_union(blocks: list[str]) -> Any:
    """Sublinear TF-IDF per block (unit length each), side by side; input rows are {"surface": .., "stems": ..}.

    With LENGTH among the blocks, the ensemble's length buckets of the surface token count come last.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.preprocessing import FunctionTransformer

    from bot.nlu.linear_ensemble import LengthBuckets

    def column(name: str) -> FunctionTransformer:
        return FunctionTransformer(lambda rows: [row[name] for row in rows])

    settings = ensemble_settings(ROOT / "config.yml")
    length = LengthBuckets(settings["length_buckets"], float(settings["length_weight"]))
    length_block = FunctionTransformer(
        lambda rows: length.features([len(row["surface"].split()) for row in rows])
    )
    return make_union(
        *(
            make_pipeline(
                column(BLOCKS[block][0]),
                TfidfVectorizer(
                    analyzer=BLOCKS[block][1],
                    ngram_range=BLOCKS[block][2],
                    min_df=BLOCKS[block][3],
                    sublinear_tf=True,
                ),
            )
            for block in blocks
            if block != LENGTH
        ),
        *([length_block] if LENGTH in blocks and length.width else []),
    )


def cross_validated_predictions(
    rows: list[dict[str, str]], labels: list[str], blocks: list[str], seed: int = 42
) -> list[str]:
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline

    from bot.nlu.linear_ensemble import class_weights, linear_svm

    settings = ensemble_settings(ROOT / "config.yml")
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    # Weights from all labels, not each training fold's: stratified folds keep the label proportions.
    weights = class_weights(labels, float(settings["class_weight_power"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        svm = linear_svm(float(settings["C"]), 42, weights)
        model = make_pipeline(feature_union(blocks), svm)
        predicted = cross_val_predict(model, rows, labels, cv=folds)
    return [str(label) for label in predicted]


def summary(labels: list[str], predicted: list[str]) -> tuple[float, float, float]:
    """(intent accuracy, intent macro-F1, FAQ-topic accuracy) of flat labels such as faq/ktp_el."""
    from sklearn.metrics import f1_score

    gold = [label.split("/")[0] for label in labels]
    base = [label.split("/")[0] for label in predicted]
    faq = [i for i, label in enumerate(labels) if label.startswith("faq/")]
    accuracy = sum(g == p for g, p in zip(gold, base, strict=True)) / len(gold)
    topic = sum(predicted[i] == labels[i] for i in faq) / len(faq) if faq else 0.0
    return accuracy, float(f1_score(gold, base, average="macro")), topic


def report(examples: list[tuple[str, str, Path]], predicted: list[str], prefixes: list[str]) -> None:
    from sklearn.metrics import f1_score

    labels = [label for _, label, _ in examples]
    gold = [label.split("/")[0] for label in labels]
    base = [label.split("/")[0] for label in predicted]
    faq = [i for i, label in enumerate(labels) if label.startswith("faq/")]
    duplicates = [text for text, count in Counter(text for text, _, _ in examples).items() if count > 1]
    accuracy, macro_f1, topic = summary(labels, predicted)
    print(f"examples {len(examples)}, duplicates {len(duplicates)} {duplicates[:5]}")
    print(f"intent accuracy {accuracy:.3f}  macro-F1 {macro_f1:.3f}  FAQ-topic accuracy {topic:.3f}")
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
    parser.add_argument("--seeds", nargs="*", type=int, default=[], help="more fold shuffles, mean printed")
    parser.add_argument(
        "--without",
        nargs="*",
        default=[],
        choices=sorted([*BLOCKS, LENGTH]),
        help="feature blocks to leave out",
    )
    args = parser.parse_args(argv)

    examples = load_examples(args.data.resolve())
    rows = normalised_rows([text for text, _, _ in examples])
    labels = [label for _, label, _ in examples]
    blocks = [block for block in [*BLOCKS, LENGTH] if block not in args.without]
    predicted = cross_validated_predictions(rows, labels, blocks)
    report(examples, predicted, args.errors)
    if args.seeds:
        runs = [
            summary(labels, cross_validated_predictions(rows, labels, blocks, seed)) for seed in args.seeds
        ]
        means = [sum(values) / len(values) for values in zip(*runs, strict=True)]
        print(
            f"mean over fold seeds {args.seeds}: intent accuracy {means[0]:.4f}  macro-F1 {means[1]:.4f}  "
            f"FAQ-topic accuracy {means[2]:.4f}  (blocks: {', '.join(blocks)})"
        )


def normalised_rows(texts: list[str]) -> list[dict[str, str]]:
    """Each text as the pipeline sees it: normalised tokens ("surface") and their Sastrawi stems ("stems")."""
    from bot.nlu.stemmer import SastrawiStemmer
    from bot.nlu.tokenizer import shared_normalizer

    normalizer = shared_normalizer()
    # Storage and resource are only used for persisting; the training-time behaviour (no per-message budget).
    stem = SastrawiStemmer({}, model_storage=cast(Any, None), resource=cast(Any, None)).stem
    rows = []
    for text in texts:
        surface = normalizer.normalize(text)
        rows.append({"surface": surface, "stems": " ".join(stem(word) for word in surface.split())})
    return rows


if __name__ == "__main__":
    main()
