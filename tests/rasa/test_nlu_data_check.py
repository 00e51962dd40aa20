"""scripts/nlu_data_check.py: reads every example with its label and file, and cross-validates them."""

from __future__ import annotations

from pathlib import Path

import yaml

from scripts import nlu_data_check

ROOT = Path(__file__).resolve().parents[2]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_examples_are_read_from_nested_files_without_entity_annotations(tmp_path: Path) -> None:
    _write(
        tmp_path / "nlu" / "core.yml",
        'version: "3.1"\nnlu:\n- intent: check_status\n  examples: |\n    - cek [ADU-7K3M9Q2X](ticket_code)\n'
        "- regex: nik\n  examples: |\n    - \\d{16}\n",
    )
    _write(
        tmp_path / "nlu" / "faq" / "ktp_el.yml",
        'version: "3.1"\nnlu:\n- intent: faq/ktp_el\n  examples: |\n    - syarat ktp apa\n    - ktp hilang\n',
    )

    examples = nlu_data_check.load_examples(tmp_path)

    assert [(text, label) for text, label, _ in examples] == [
        ("cek ADU-7K3M9Q2X", "check_status"),
        ("syarat ktp apa", "faq/ktp_el"),
        ("ktp hilang", "faq/ktp_el"),
    ]
    assert examples[1][2] == tmp_path / "nlu" / "faq" / "ktp_el.yml"


def test_cross_validation_predicts_every_example_once_and_separates_clear_labels() -> None:
    greetings = ["halo min", "hai min", "halo kak", "hai kak", "halo pak", "hai pak"]
    potholes = ["jalan rusak parah", "jalan berlubang", "jalan rusak di desa", "jalan rusak lagi"]
    potholes += ["jalan berlubang besar", "jalan rusak dekat pasar"]

    rows = nlu_data_check.normalised_rows(greetings + potholes)

    predicted = nlu_data_check.cross_validated_predictions(
        rows, ["greet"] * 6 + ["file_complaint"] * 6, blocks=list(nlu_data_check.BLOCKS)
    )

    assert predicted == ["greet"] * 6 + ["file_complaint"] * 6


def test_rows_hold_the_normalised_text_and_its_stems() -> None:
    [row] = nlu_data_check.normalised_rows(["Gmn pelayanannya di kantor?"])

    assert row["surface"].split()[0] == "bagaimana"
    assert "layan" in row["stems"].split()
    assert "pelayanannya" in row["surface"].split()


def test_summary_scores_intents_on_base_labels_and_topics_exactly() -> None:
    labels = ["faq/ktp_el", "faq/sim", "greet", "file_complaint"]
    predicted = ["faq/ktp_el", "faq/ktp_el", "greet", "faq/sim"]

    accuracy, macro_f1, topic = nlu_data_check.summary(labels, predicted)

    assert accuracy == 0.75  # faq/sim -> faq/ktp_el is still the faq intent
    assert topic == 0.5
    assert 0.0 < macro_f1 < 1.0


def test_feature_blocks_mirror_the_featurizers_of_config_yml() -> None:
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    featurizers = {c["alias"]: c for c in config["pipeline"] if c["name"] == "CountVectorsFeaturizer"}

    assert set(featurizers) == set(nlu_data_check.BLOCKS)
    for alias, (text, analyzer, (low, high), min_df) in nlu_data_check.BLOCKS.items():
        featurizer = featurizers[alias]
        assert featurizer["use_lemma"] is (text == "stems")
        assert featurizer["analyzer"] == analyzer
        assert (featurizer.get("min_ngram", 1), featurizer.get("max_ngram", 1)) == (low, high)
        assert featurizer.get("min_df", 1) == min_df


def test_the_length_block_follows_the_ensembles_settings() -> None:
    settings = nlu_data_check.ensemble_settings(ROOT / "config.yml")
    union = nlu_data_check.feature_union([nlu_data_check.LENGTH])
    rows = nlu_data_check.normalised_rows(["halo", "syarat bikin ktp el apa aja ya min"])

    features = union.fit_transform(rows).toarray()

    assert features.shape == (2, len(settings["length_buckets"]) + 1)
    assert features[0, 0] == settings["length_weight"]  # one token: the first bucket
    assert features[1].sum() == settings["length_weight"] and features[1, 0] == 0.0
