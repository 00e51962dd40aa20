"""Reads labelled complaint texts: the Rasa NLU training files and the held-out evaluation set."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.triage.categories import CATEGORY_CODES

COMPLAINT_INTENT = "file_complaint"

# Rasa entity annotations: [text](entity), [text](entity:value), [text]{"entity": ...}.
_ANNOTATION = re.compile(r"\[([^\]\n]+)\](?:\([^)\n]*\)|\{[^}\n]*\})")


@dataclass(frozen=True)
class LabelledText:
    text: str
    category: str
    source: str


def strip_annotations(text: str) -> str:
    """Turns Rasa's `[Jl. Merdeka](location)` markup into the plain text a citizen would have typed."""
    return _ANNOTATION.sub(r"\1", text).strip()


def training_files(data_dir: Path) -> list[Path]:
    """Every YAML file of the complaints folder, in a stable order (it feeds the cache fingerprint too)."""
    return sorted(p for p in data_dir.iterdir() if p.is_file() and p.suffix in {".yml", ".yaml"})


def _example_lines(examples: Any) -> list[str]:
    # Rasa accepts both the `examples: |` block of "- text" lines and a list of {text, metadata} mappings.
    if isinstance(examples, str):
        lines = (line.strip() for line in examples.splitlines())
        return [line[1:].strip() for line in lines if line.startswith("-") and line[1:].strip()]
    if isinstance(examples, list):
        return [str(item["text"]) for item in examples if isinstance(item, dict) and item.get("text")]
    return []


def _blocks_of(path: Path) -> Iterable[dict[str, Any]]:
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for block in document.get("nlu") or []:
        if isinstance(block, dict):
            yield block


def read_training_file(path: Path) -> list[LabelledText]:
    """The category examples of one file; blocks without a category (e.g. `_generic.yml`) give none."""
    found: list[LabelledText] = []
    for block in _blocks_of(path):
        metadata = block.get("metadata") or {}
        category = metadata.get("category") if isinstance(metadata, dict) else None
        if block.get("intent") != COMPLAINT_INTENT or category is None:
            continue
        if category not in CATEGORY_CODES:
            raise ValueError(f"{path}: unknown complaint category {category!r}")
        for line in _example_lines(block.get("examples")):
            text = strip_annotations(line)
            if text:
                found.append(LabelledText(text=text, category=category, source=path.name))
    return found


def load_training_data(data_dir: Path) -> list[LabelledText]:
    examples = [example for path in training_files(data_dir) for example in read_training_file(path)]
    categories = {example.category for example in examples}
    if len(categories) < 2:
        raise ValueError(f"{data_dir}: complaint examples for at least two categories are needed")
    return examples


def load_evaluation_set(path: Path) -> list[LabelledText]:
    """The held-out file: `complaints: [{category, text}, ...]`, never used for training."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items: Sequence[dict[str, Any]] = document.get("complaints") or []
    result = []
    for item in items:
        category = str(item["category"])
        if category not in CATEGORY_CODES:
            raise ValueError(f"{path}: unknown complaint category {category!r}")
        result.append(LabelledText(text=str(item["text"]).strip(), category=category, source=path.name))
    return result
