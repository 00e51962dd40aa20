#!/usr/bin/env python3
"""Parse texts with one trained Rasa model, or draw a confusion matrix; runs in .venv-rasa.

    score_model.py parse --model models/x.tar.gz --input texts.json   -> JSON list on stdout
    score_model.py confusion --input matrix.json --out confusion.png

`parse` prints, per input text, {"text", "intent", "confidence", "faq_topic", "faq_confidence"}, so the
bot service (which has no Rasa) can score a model (bot/modelops/evaluation.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any


def _parse(model: str, texts: list[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)

    async def run() -> list[dict[str, Any]]:
        results = []
        for text in texts:
            parsed = await agent.parse_message(text)
            intent = parsed.get("intent") or {}
            response = ((parsed.get("response_selector") or {}).get("faq") or {}).get("response") or {}
            key = response.get("intent_response_key") or ""
            results.append(
                {
                    "text": text,
                    "intent": intent.get("name"),
                    "confidence": intent.get("confidence"),
                    "faq_topic": key.split("/", 1)[1] if "/" in key else None,
                    "faq_confidence": response.get("confidence"),
                }
            )
        return results

    return asyncio.run(run())


def _confusion(data: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels: list[str] = data["labels"]
    matrix: list[list[int]] = data["matrix"]
    size = max(5.0, 0.45 * len(labels) + 2)
    figure, axes = plt.subplots(figsize=(size, size))
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels=labels, rotation=90, fontsize=7)
    axes.set_yticks(range(len(labels)), labels=labels, fontsize=7)
    axes.set_xlabel("Prediksi")
    axes.set_ylabel("Label benar")
    axes.set_title(data.get("title") or "Matriks kebingungan")
    peak = max((max(values) for values in matrix), default=0)
    for row, values in enumerate(matrix):
        for column, value in enumerate(values):
            if value:
                colour = "white" if value > peak / 2 else "black"  # readable on dark and light cells
                axes.text(column, row, str(value), ha="center", va="center", fontsize=6, color=colour)
    figure.tight_layout()
    figure.savefig(out, dpi=100)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    parse = sub.add_parser("parse")
    parse.add_argument("--model", required=True)
    parse.add_argument("--input", required=True, help="JSON list of texts")
    confusion = sub.add_parser("confusion")
    confusion.add_argument("--input", required=True, help='JSON {"labels": [...], "matrix": [[...]]}')
    confusion.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.command == "parse":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        logging.disable(logging.WARNING)
        texts = json.loads(Path(args.input).read_text(encoding="utf-8"))
        results = _parse(args.model, [str(t) for t in texts])
        sys.stdout.write("\n" + json.dumps(results) + "\n")
        return 0
    _confusion(json.loads(Path(args.input).read_text(encoding="utf-8")), Path(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
