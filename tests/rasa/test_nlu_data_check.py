"""scripts/nlu_data_check.py: reads every example with its label and file, and cross-validates them."""

from __future__ import annotations

from pathlib import Path

from scripts import nlu_data_check


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

    predicted = nlu_data_check.cross_validated_predictions(
        greetings + potholes, ["greet"] * 6 + ["file_complaint"] * 6
    )

    assert predicted == ["greet"] * 6 + ["file_complaint"] * 6
