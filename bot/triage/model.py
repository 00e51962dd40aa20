"""The trained triage classifier, and its on-disk cache keyed by the training data and the code."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import sklearn
from sklearn.pipeline import Pipeline

from bot.nlu.normalizer import NORMALIZER_FILES
from bot.settings import PROJECT_ROOT
from bot.triage.dataset import load_training_data, training_files
from bot.triage.pipeline import build_pipeline

logger = logging.getLogger(__name__)

DEFAULT_DATA_DIR = PROJECT_ROOT / "nlu_data" / "nlu" / "complaints"
DEFAULT_CACHE_DIR = PROJECT_ROOT / "var" / "triage"
# Bump when the model changes in a way the hash below cannot see (e.g. an upgrade of numpy or scipy).
MODEL_VERSION = "1"
_CACHE_PREFIX = "triage-"
# The code whose behaviour is baked into a fitted model; its source is part of the cache key, and so are the
# normaliser's code and lexicons (a changed slang entry changes the features).
_TRIAGE_CODE = tuple(
    Path(__file__).with_name(name) for name in ("cleaning.py", "dataset.py", "pipeline.py", "model.py")
)


def _code_files() -> list[Path]:
    return [*_TRIAGE_CODE, *NORMALIZER_FILES]


_fits = 0
_fit_lock = threading.Lock()


@dataclass(frozen=True)
class Prediction:
    category: str
    confidence: float
    # The best categories with their probabilities, best first (the first one is `category`).
    alternatives: list[tuple[str, float]] = field(default_factory=list)


class TriageClassifier:
    """A fitted pipeline plus what it was trained from."""

    def __init__(self, pipeline: Pipeline, fingerprint: str, n_examples: int) -> None:
        self.pipeline = pipeline
        self.fingerprint = fingerprint
        self.n_examples = n_examples

    @property
    def categories(self) -> list[str]:
        return [str(code) for code in self.pipeline.classes_]

    def predict(self, text: str, top: int = 3) -> Prediction:
        probabilities = self.pipeline.predict_proba([text])[0]
        order = np.argsort(probabilities)[::-1][:top]
        ranked = [(str(self.pipeline.classes_[i]), round(float(probabilities[i]), 4)) for i in order]
        return Prediction(category=ranked[0][0], confidence=ranked[0][1], alternatives=ranked)


def fit_count() -> int:
    """How many times this process has fitted a triage model (the tests use it to prove the cache works)."""
    return _fits


def fingerprint(data_dir: Path) -> str:
    """sha256 over the training files, the model code and the library version."""
    digest = hashlib.sha256()
    digest.update(f"model={MODEL_VERSION};sklearn={sklearn.__version__}\n".encode())
    for path in _code_files():
        digest.update(b"\0code:" + path.name.encode() + b"\0")
        digest.update(path.read_bytes())
    for path in training_files(data_dir):
        digest.update(b"\0data:" + path.name.encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def train(data_dir: Path, key: str | None = None) -> TriageClassifier:
    global _fits
    examples = load_training_data(data_dir)
    pipeline = build_pipeline()
    pipeline.fit([e.text for e in examples], [e.category for e in examples])
    _fits += 1
    return TriageClassifier(pipeline, key or fingerprint(data_dir), len(examples))


def cache_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"{_CACHE_PREFIX}{key[:24]}.joblib"


def _read_cache(path: Path, key: str) -> TriageClassifier | None:
    if not path.exists():
        return None
    try:
        cached = joblib.load(path)
    except Exception:  # a truncated or incompatible file is rebuilt, not fatal
        logger.warning("triage model cache %s is unreadable; retraining", path, exc_info=True)
        return None
    if not isinstance(cached, TriageClassifier) or cached.fingerprint != key:
        return None
    return cached


def _write_cache(cache_dir: Path, path: Path, classifier: TriageClassifier) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Write then rename, so that another worker starting at the same time never reads half a file.
    handle, temporary = tempfile.mkstemp(dir=cache_dir, prefix=".tmp-", suffix=".joblib")
    os.close(handle)
    try:
        joblib.dump(classifier, temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    for stale in cache_dir.glob(f"{_CACHE_PREFIX}*.joblib"):
        if stale != path:
            stale.unlink(missing_ok=True)


def load_classifier(
    data_dir: Path = DEFAULT_DATA_DIR, cache_dir: Path = DEFAULT_CACHE_DIR
) -> TriageClassifier:
    """The classifier for the current training data: from the cache when it matches, else trained and cached.

    The cache file is a joblib pickle: only load caches this service wrote itself (var/ is not shared).
    """
    key = fingerprint(data_dir)
    path = cache_path(cache_dir, key)
    with _fit_lock:
        cached = _read_cache(path, key)
        if cached is not None:
            return cached
        logger.info("training the triage model from %s", data_dir)
        classifier = train(data_dir, key)
        _write_cache(cache_dir, path, classifier)
        return classifier
