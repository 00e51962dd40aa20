"""Reading the Rasa complaint files and the held-out set."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from bot.triage.categories import CATEGORY_CODES
from bot.triage.dataset import load_evaluation_set, load_training_data, read_training_file, strip_annotations

CATEGORY_FILE = """\
version: "3.1"
nlu:
- intent: file_complaint
  metadata:
    category: infrastruktur
  examples: |
    - jalan di [Jl. Merdeka](location) rusak parah
    - lampu jalan di [RT 03]{"entity": "location", "value": "rt 03"} mati
    - hubungi saya di [0812 3456 7890](phone_number:telepon)
"""
GENERIC_FILE = """\
version: "3.1"
nlu:
- intent: file_complaint
  examples: |
    - saya mau mengadu
"""
LIST_FORMAT_FILE = """\
version: "3.1"
nlu:
- intent: file_complaint
  metadata: {category: utilitas}
  examples:
  - text: air pdam mati
  - text: listrik padam terus
- intent: greet
  examples: |
    - halo
"""


def _write(directory: Path, name: str, content: str) -> Path:
    path = directory / name
    path.write_text(content, encoding="utf-8")
    return path


def test_strip_annotations_keeps_the_surface_text() -> None:
    assert strip_annotations("di [Jl. Merdeka](location) rusak") == "di Jl. Merdeka rusak"
    assert strip_annotations('[rt 3]{"entity": "location"} gelap') == "rt 3 gelap"
    assert strip_annotations("[kk](doc:kartu keluarga) hilang") == "kk hilang"
    assert strip_annotations("tanda [kurung] biasa") == "tanda [kurung] biasa"


def test_reads_category_examples_and_skips_generic_and_other_intents(tmp_path: Path) -> None:
    _write(tmp_path, "infrastruktur.yml", CATEGORY_FILE)
    _write(tmp_path, "_generic.yml", GENERIC_FILE)
    _write(tmp_path, "utilitas.yml", LIST_FORMAT_FILE)

    examples = load_training_data(tmp_path)

    assert [(e.text, e.category) for e in examples] == [
        ("jalan di Jl. Merdeka rusak parah", "infrastruktur"),
        ("lampu jalan di RT 03 mati", "infrastruktur"),
        ("hubungi saya di 0812 3456 7890", "infrastruktur"),
        ("air pdam mati", "utilitas"),
        ("listrik padam terus", "utilitas"),
    ]
    assert read_training_file(tmp_path / "_generic.yml") == []


def test_unknown_category_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.yml", CATEGORY_FILE.replace("infrastruktur", "jalanan"))
    with pytest.raises(ValueError, match="jalanan"):
        read_training_file(path)


def test_a_single_category_cannot_be_trained(tmp_path: Path) -> None:
    _write(tmp_path, "infrastruktur.yml", CATEGORY_FILE)
    with pytest.raises(ValueError, match="at least two categories"):
        load_training_data(tmp_path)


def test_real_training_data_covers_every_category(data_dir: Path) -> None:
    counts = Counter(e.category for e in load_training_data(data_dir))
    assert set(counts) == set(CATEGORY_CODES)
    assert min(counts.values()) >= 10, counts
    # Annotation markup never leaks into the training texts.
    assert not any(re.search(r"\]\(|\]\{", e.text) for e in load_training_data(data_dir))


def _key(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def test_heldout_set_is_balanced_and_not_in_the_training_data(data_dir: Path, heldout_file: Path) -> None:
    heldout = load_evaluation_set(heldout_file)
    assert Counter(e.category for e in heldout) == dict.fromkeys(CATEGORY_CODES, 5)
    # Long, multi-sentence complaints: that is what the set is for.
    assert min(len(e.text) for e in heldout) >= 150
    training = {_key(e.text) for e in load_training_data(data_dir)}
    assert not [e.text for e in heldout if _key(e.text) in training]
