"""The trained classifier: quality on held-out messy complaints, predictions, and the on-disk cache."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot.triage import model as triage_model
from bot.triage.categories import CATEGORY_CODES
from bot.triage.dataset import load_evaluation_set
from bot.triage.model import TriageClassifier, cache_path, fingerprint, fit_count, load_classifier

# The held-out set is 60 long, messy complaints written apart from the training data. The floor is the
# project's bar for triage (an officer confirms every category anyway), kept well under the measured score
# so that adding training data does not make the test flaky; see reports/triage_eval.md for the numbers.
HELDOUT_ACCURACY_FLOOR = 0.70


def test_heldout_messy_complaints_reach_the_floor(classifier: TriageClassifier, heldout_file: Path) -> None:
    heldout = load_evaluation_set(heldout_file)
    correct = [classifier.predict(e.text).category == e.category for e in heldout]
    accuracy = sum(correct) / len(correct)
    assert accuracy >= HELDOUT_ACCURACY_FLOOR, f"held-out accuracy {accuracy:.3f}"


def test_learns_every_category(classifier: TriageClassifier) -> None:
    assert sorted(classifier.categories) == sorted(CATEGORY_CODES)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("jalan depan pasar berlubang besar, motor sering jatuh", "infrastruktur"),
        ("air pdam di rumah saya mati sudah 3 hari", "utilitas"),
        ("petugas kelurahan minta uang 50rb biar surat cepat jadi", "aparatur"),
        ("sampah di tps belum diangkut seminggu, bau sekali", "lingkungan"),
    ],
)
def test_plain_complaints(classifier: TriageClassifier, text: str, category: str) -> None:
    assert classifier.predict(text).category == category


def test_prediction_shape(classifier: TriageClassifier) -> None:
    prediction = classifier.predict("ktp el saya belum jadi 3 bulan… Selengkapnya #lapor https://t.co/x 😡")
    assert prediction.category == "kependudukan"
    assert len(prediction.alternatives) == 3
    assert prediction.alternatives[0] == (prediction.category, prediction.confidence)
    probabilities = [p for _, p in prediction.alternatives]
    assert probabilities == sorted(probabilities, reverse=True)
    assert 0.0 < prediction.confidence <= 1.0
    assert len({code for code, _ in prediction.alternatives}) == 3


def test_artefacts_do_not_change_the_category(classifier: TriageClassifier) -> None:
    plain = "lampu penerangan jalan di gang kami mati semua, gelap sekali kalau malam"
    noisy = f"@LAPOR1708 {plain}!!!! 😡😡 #lapor #PJU https://t.co/Ab12 ... Selengkapnya"
    assert classifier.predict(noisy).category == classifier.predict(plain).category == "infrastruktur"


def test_gibberish_gets_a_low_confidence(classifier: TriageClassifier) -> None:
    # The classifier still names its best category; the caller sees how unsure it is.
    prediction = classifier.predict("qwrtz plmkn")
    assert prediction.category in CATEGORY_CODES
    assert prediction.confidence < 0.5


def test_cache_is_reused_without_refitting(
    classifier: TriageClassifier, data_dir: Path, model_cache_dir: Path
) -> None:
    path = cache_path(model_cache_dir, classifier.fingerprint)
    mtime = path.stat().st_mtime_ns
    fits = fit_count()

    again = load_classifier(data_dir, model_cache_dir)

    assert fit_count() == fits
    assert path.stat().st_mtime_ns == mtime
    assert again.fingerprint == classifier.fingerprint == fingerprint(data_dir)
    assert again.predict("jalan rusak parah").category == classifier.predict("jalan rusak parah").category


def _small_copy(data_dir: Path, target: Path) -> Path:
    target.mkdir()
    for name in ("infrastruktur.yml", "utilitas.yml", "aparatur.yml"):
        shutil.copy(data_dir / name, target / name)
    return target


def test_cache_is_invalidated_when_the_training_data_changes(data_dir: Path, tmp_path: Path) -> None:
    data, cache = _small_copy(data_dir, tmp_path / "data"), tmp_path / "cache"
    fits = fit_count()
    first = load_classifier(data, cache)
    assert fit_count() == fits + 1
    assert load_classifier(data, cache).fingerprint == first.fingerprint
    assert fit_count() == fits + 1

    with (data / "utilitas.yml").open("a", encoding="utf-8") as handle:
        handle.write("    - meteran air di rumah saya rusak dan tagihannya membengkak\n")
    second = load_classifier(data, cache)

    assert fit_count() == fits + 2
    assert second.fingerprint != first.fingerprint
    assert second.n_examples == first.n_examples + 1
    # Only the current model stays on disk.
    assert sorted(p.name for p in cache.glob("*.joblib")) == [cache_path(cache, second.fingerprint).name]


def test_cache_is_invalidated_when_the_model_code_changes(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _small_copy(data_dir, tmp_path / "data")
    before = fingerprint(data)
    monkeypatch.setattr(triage_model, "MODEL_VERSION", "test-bump")
    assert fingerprint(data) != before


def test_an_unreadable_cache_is_rebuilt(data_dir: Path, tmp_path: Path) -> None:
    data, cache = _small_copy(data_dir, tmp_path / "data"), tmp_path / "cache"
    cache.mkdir()
    path = cache_path(cache, fingerprint(data))
    path.write_bytes(b"not a joblib file")
    old = os.stat(path).st_mtime_ns
    fits = fit_count()

    rebuilt = load_classifier(data, cache)

    assert fit_count() == fits + 1
    assert rebuilt.predict("air pdam mati").category == "utilitas"
    assert os.stat(path).st_mtime_ns != old
    load_classifier(data, cache)
    assert fit_count() == fits + 1
