"""The training data and domain are valid for Rasa and complete for the contract (DESIGN.md)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from rasa.shared.importers.importer import TrainingDataImporter

from bot.rasa_environment import rasa_environment
from tests.contract import CATEGORIES, CORE_INTENTS, FAQ_TOPICS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def training_data():  # type: ignore[no-untyped-def]
    importer = TrainingDataImporter.load_from_dict(
        domain_path=str(ROOT / "domain.yml"), training_data_paths=[str(ROOT / "nlu_data")]
    )
    return importer.get_nlu_data()


def test_rasa_data_validate_passes() -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "rasa"),
            "data",
            "validate",
            "--data",
            "nlu_data",
            "--domain",
            "domain.yml",
        ],
        cwd=ROOT,
        env=rasa_environment(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_every_core_intent_has_forty_examples(training_data) -> None:  # type: ignore[no-untyped-def]
    counts = Counter(example.get("intent") for example in training_data.intent_examples)
    for intent in CORE_INTENTS:
        assert counts[intent] >= 40, f"{intent}: {counts[intent]} examples"


def test_every_faq_topic_has_fifteen_examples(training_data) -> None:  # type: ignore[no-untyped-def]
    counts = Counter(
        example.get("intent_response_key")
        for example in training_data.intent_examples
        if example.get("intent") == "faq"
    )
    for topic in FAQ_TOPICS:
        assert counts[f"faq/{topic}"] >= 15, f"faq/{topic}: {counts[f'faq/{topic}']} examples"


def test_complaint_narratives_cover_every_category() -> None:
    import yaml

    seen = Counter()
    for path in (ROOT / "nlu_data" / "nlu" / "complaints").glob("*.yml"):
        for block in yaml.safe_load(path.read_text())["nlu"]:
            category = (block.get("metadata") or {}).get("category")
            if category:
                seen[category] += len([line for line in block["examples"].splitlines() if line.strip()])
    for category in CATEGORIES:
        assert seen[category] >= 15, f"{category}: {seen[category]} narratives"


def test_no_example_is_labelled_twice(training_data) -> None:  # type: ignore[no-untyped-def]
    labels: dict[str, set[str]] = {}
    for example in training_data.intent_examples:
        label = example.get("intent_response_key") or example.get("intent")
        labels.setdefault(example.get("text").strip().lower(), set()).add(label)
    conflicts = {text: found for text, found in labels.items() if len(found) > 1}
    assert not conflicts, conflicts
