"""config.yml / config.ci.yml build valid Rasa graphs with our components; entities.yml matches the code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import rasa.engine.validation
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.importers.importer import TrainingDataImporter
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.utils.io import read_yaml_file

from bot.nlu.linear_ensemble import LinearEnsembleClassifier
from bot.nlu.patterns import ENTITY_PATTERNS
from bot.nlu.stemmer import SastrawiStemmer
from bot.nlu.tokenizer import IndonesianTokenizer

ROOT = Path(__file__).resolve().parents[3]
CONFIGS = [ROOT / "config.yml", ROOT / "config.ci.yml"]
SEEDED = {"DIETClassifier", "ResponseSelector", "TEDPolicy"}


def load(path: Path) -> dict[str, Any]:
    config: dict[str, Any] = read_yaml_file(path)
    return config


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in items}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda path: path.name)
def test_config_builds_a_valid_graph(path: Path) -> None:
    config = load(path)
    assert config["language"] == "id"
    assert config["assistant_id"] == "layanan-aduan"
    graph = DefaultV1Recipe().graph_config_for_recipe(config, {})
    # Checks the custom components' interfaces and type annotations, as `rasa train` does before training.
    rasa.engine.validation.validate(graph)
    used = {node.uses for node in graph.train_schema.nodes.values()}
    assert {IndonesianTokenizer, SastrawiStemmer, LinearEnsembleClassifier} <= used


@pytest.mark.parametrize("path", CONFIGS, ids=lambda path: path.name)
def test_pipeline_order_and_settings(path: Path) -> None:
    config = load(path)
    names = [component["name"] for component in config["pipeline"]]
    assert names == [
        "bot.nlu.tokenizer.IndonesianTokenizer",
        "bot.nlu.stemmer.SastrawiStemmer",
        "RegexFeaturizer",
        "CountVectorsFeaturizer",
        "CountVectorsFeaturizer",
        "CountVectorsFeaturizer",
        "CountVectorsFeaturizer",
        "DIETClassifier",
        "RegexEntityExtractor",
        "EntitySynonymMapper",
        "ResponseSelector",
        "bot.nlu.linear_ensemble.LinearEnsembleClassifier",
        "FallbackClassifier",
    ]
    surface, stems, chars, phrases = (c for c in config["pipeline"] if c["name"] == "CountVectorsFeaturizer")
    assert surface["use_lemma"] is False and (surface["min_ngram"], surface["max_ngram"]) == (1, 2)
    assert stems["use_lemma"] is True
    assert chars["analyzer"] == "char_wb" and chars["use_lemma"] is False
    assert phrases["analyzer"] == "char" and phrases["use_lemma"] is False
    pipeline = by_name(config["pipeline"])
    assert pipeline["DIETClassifier"]["entity_recognition"] is False
    assert pipeline["ResponseSelector"]["retrieval_intent"] == "faq"
    # The cross-word character n-grams feed the linear model only: DIET and the selector name their inputs.
    featurizer_aliases = {c["alias"] for c in config["pipeline"] if "Featurizer" in c["name"]}
    network_inputs = {"regex", "words", "stems", "chars"}
    assert featurizer_aliases == network_inputs | {phrases["alias"]}
    assert set(pipeline["DIETClassifier"]["featurizers"]) == network_inputs
    assert set(pipeline["ResponseSelector"]["featurizers"]) == network_inputs
    # After DIET and the selector (it blends into their results), before the fallback (which reads the blend).
    ensemble = pipeline["bot.nlu.linear_ensemble.LinearEnsembleClassifier"]
    assert 0.0 < ensemble["linear_weight"] < 1.0
    assert ensemble["length_weight"] > 0.0 and ensemble["length_buckets"] == sorted(
        ensemble["length_buckets"]
    )
    assert 0.4 <= pipeline["FallbackClassifier"]["threshold"] <= 0.5
    policies = by_name(config["policies"])
    assert policies["RulePolicy"]["core_fallback_threshold"] == 0.3
    assert policies["RulePolicy"]["enable_fallback_prediction"] is True
    assert policies["TEDPolicy"]["max_history"] == 5
    for name in SEEDED:
        component = pipeline.get(name) or policies[name]
        assert isinstance(component["random_seed"], int)
        assert component["epochs"] > 1  # TEDPolicy's default is 1


def test_ci_config_is_the_full_config_with_fewer_epochs() -> None:
    full, ci = load(CONFIGS[0]), load(CONFIGS[1])

    def without_epochs(config: dict[str, Any]) -> dict[str, Any]:
        return {
            key: [{k: v for k, v in item.items() if k != "epochs"} for item in value]
            if key in ("pipeline", "policies")
            else value
            for key, value in config.items()
        }

    assert without_epochs(full) == without_epochs(ci)
    full_epochs = {
        item["name"]: item["epochs"] for item in full["pipeline"] + full["policies"] if "epochs" in item
    }
    ci_epochs = {item["name"]: item["epochs"] for item in ci["pipeline"] + ci["policies"] if "epochs" in item}
    assert full_epochs.keys() == ci_epochs.keys() == SEEDED
    assert all(ci_epochs[name] < full_epochs[name] for name in SEEDED)


def test_entities_yml_holds_the_patterns_the_tokenizer_uses() -> None:
    data = RasaYAMLReader().reads((ROOT / "nlu_data" / "nlu" / "entities.yml").read_text(encoding="utf-8"))
    assert {regex["name"]: regex["pattern"] for regex in data.regex_features} == ENTITY_PATTERNS


def test_training_data_annotates_every_regex_entity() -> None:
    # RegexEntityExtractor ignores a regex whose name is not an entity annotated in some training example.
    importer = TrainingDataImporter.load_from_dict(
        domain_path=str(ROOT / "domain.yml"), training_data_paths=[str(ROOT / "nlu_data")]
    )
    data = importer.get_nlu_data()
    assert set(ENTITY_PATTERNS) <= data.entities
    assert {regex["name"] for regex in data.regex_features} >= set(ENTITY_PATTERNS)
