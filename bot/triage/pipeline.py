"""The scikit-learn pipelines: the triage classifier and the plain baseline it is measured against."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any, Protocol

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from bot.triage.cleaning import clean_text

SEED = 20240611


class Normalizer(Protocol):
    def normalize(self, text: str) -> str: ...


@lru_cache(maxsize=1)
def shared_normalizer() -> Normalizer:
    # Imported late so that loading a pickled pipeline does not depend on import order, and built once
    # because the normaliser reads its lexicon at construction.
    from bot.nlu.normalizer import TextNormalizer

    normalizer: Normalizer = TextNormalizer()
    return normalizer


class TextPreprocessor(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Cleaning of artefacts, then the shared Indonesian normaliser (lower-case, letter squeeze, slang).

    The normaliser is not stored in the fitted model: it is looked up at transform time, so a pickled model
    stays small and picks up the normaliser of the running code (whose source is part of the cache key).
    """

    def __init__(self, clean: bool = True, normalize: bool = True) -> None:
        self.clean = clean
        self.normalize = normalize

    def fit(self, texts: Iterable[str], y: Any = None) -> TextPreprocessor:
        return self

    def transform(self, texts: Iterable[str]) -> list[str]:
        return [self._one(text) for text in texts]

    def _one(self, text: str) -> str:
        if self.clean:
            text = clean_text(text)
        if self.normalize:
            text = shared_normalizer().normalize(text)
        return text


def build_pipeline(
    c: float = 10.0, clean: bool = True, normalize: bool = True, char: bool = True
) -> Pipeline:
    """Word 1-2 grams carry the topic; char 2-5 grams within words survive typos, affixes and word joins.

    The switches exist for the ablations of `benchmarks/triage_eval.py`; the service uses the defaults.
    """
    branches: list[tuple[str, Any]] = [
        ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")),
    ]
    if char:
        branches.append(
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2))
        )
    # Multinomial logistic regression gives usable class probabilities directly (confidence = top one);
    # balanced weights keep small categories from being swallowed by large ones.
    classifier = LogisticRegression(C=c, class_weight="balanced", max_iter=5000, random_state=SEED)
    return Pipeline(
        [
            ("prep", TextPreprocessor(clean=clean, normalize=normalize)),
            ("features", FeatureUnion(branches)),
            ("clf", classifier),
        ]
    )


def build_baseline() -> Pipeline:
    """The reference point: word TF-IDF and logistic regression, no cleaning, normaliser or char n-grams."""
    return Pipeline(
        [
            ("features", TfidfVectorizer(ngram_range=(1, 2))),
            ("clf", LogisticRegression(max_iter=5000, random_state=SEED)),
        ]
    )
