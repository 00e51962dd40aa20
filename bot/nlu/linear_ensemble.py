"""Rasa component that blends a linear classifier into DIET's intents and the ResponseSelector's FAQ topics.

Why: on this data (~3,000 short messages, 12 intents, 25 FAQ topics, many one-off wordings) a linear SVM over
the same n-gram features generalises better than DIET: cross-validated with the same folds it made the right
call (intent and FAQ topic) on 213 messages DIET got wrong and missed only 64 that DIET got right
(`scripts/nlu_data_check.py` is that model; reports/nlu_eval.md has the pipeline's figures). The two err
differently, so the pipeline keeps DIET and the ResponseSelector (their rankings, thresholds and tooling stay
Rasa's) and this component, placed after both, mixes its own probabilities into theirs.

How:
- Inputs are the sparse sentence features of the pipeline's featurizers (word, stem and character n-grams,
  character n-grams across words, regex flags), one block per featurizer; each block gets sublinear TF-IDF
  weights and unit length, so the many character n-grams do not drown the words. Unit length also erases how
  long the message is, which separates "gak jadi" (cancel) from "gak jadi ngekos, uang dp-nya bisa balik gak"
  (out of scope): a last block says which length bucket the message's token count falls in.
- One linear SVM over flat labels (`greet`, `file_complaint`, `faq/ktp_el`, ...), so intent and FAQ topic come
  from one decision; classes weighted by the square root of their inverse size, so small intents count
  without each FAQ topic outweighing the large intents (see `class_weight_power`).
- SVM scores become probabilities by a softmax whose temperature is fitted on cross-validated scores at
  training time (minimum log loss), so confidences mean what the FallbackClassifier thresholds expect.
- Blend: intent probability = w * linear + (1 - w) * DIET (the linear share of an intent is the sum over its
  labels, so `faq` collects every `faq/<topic>`); FAQ topic = w * linear topic + (1 - w) * ResponseSelector.
  The message's `intent`, `intent_ranking` and `response_selector.faq` are rewritten in Rasa's own format.
Persisted as plain arrays (`.npz`) and JSON, no pickles.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import (
    FEATURE_TYPE_SENTENCE,
    INTENT,
    INTENT_RANKING_KEY,
    INTENT_RESPONSE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

ARRAYS_FILE = "linear_ensemble.npz"
META_FILE = "linear_ensemble.json"
# Candidate softmax temperatures for SVM scores (roughly -1.5 .. 1.5); the fitted one is persisted.
TEMPERATURES = (0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0)
DEFAULT_TEMPERATURE = 0.1


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearEnsembleClassifier(GraphComponent, IntentClassifier):
    """Blends a linear SVM's intent and FAQ-topic probabilities into DIET's and the ResponseSelector's."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # Share of the linear model in the blended probabilities (0 = leave DIET/ResponseSelector as they
            # are, 1 = the linear model alone).
            "linear_weight": 0.5,
            # SVM regularisation; 1.0 was best of 0.5/1/2/5 in 5-fold cross-validation of the project data.
            "C": 1.0,
            # Class weights (n / (k * count)) ** power over the flat labels: 1 is sklearn's "balanced", 0 no
            # weighting. "balanced" gives each of the 25 FAQ topics (~80 examples) the weight of a small intent,
            # so one FAQ example outweighs ~13 complaint stories and the boundary moves into file_complaint and
            # out_of_scope. 5-fold CV of the linear model, 3 fold shuffles, 5,166 examples (nlu_data_check.py):
            # power 1 -> macro-F1 0.9485, FAQ-topic 0.909; 0.5 -> 0.9509 / 0.903; 0 -> 0.9506 / 0.898.
            "class_weight_power": 0.5,
            # The retrieval intent whose response keys (faq/<topic>) the ResponseSelector predicts.
            "retrieval_intent": "faq",
            # Upper bounds of the message-length buckets (tokens) and the weight of that one-hot block beside the
            # unit-length n-gram blocks (0 = no length feature). 5-fold CV of the linear model, 3 fold shuffles,
            # 5,104 examples: macro-F1 0.946 -> 0.950, FAQ-topic 0.902 -> 0.907 (nlu_data_check.py).
            "length_buckets": [1, 2, 3, 4, 6, 9, 14, 20],
            "length_weight": 0.5,
            # Folds for fitting the softmax temperature; classes with fewer examples use the default.
            "calibration_folds": 3,
            "ranking_length": 10,
            "random_seed": 2024,
            # Also output the unblended parts (`linear_ensemble_parts`: the linear model's labels, the earlier
            # intent ranking and FAQ-topic ranking), so that an evaluation can score every blend weight from
            # one cross-validation run (benchmarks/nlu_eval.py); off in the shipped config.
            "output_parts": False,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: _LinearModel | None = None,
        responses: dict[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._model = model
        # faq responses by template key ("utter_faq/ktp_el"), for a selector result whose topic changed.
        self._responses = dict(responses or {})
        self._weight = min(1.0, max(0.0, float(self._config["linear_weight"])))
        self._retrieval_intent = str(self._config["retrieval_intent"])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearEnsembleClassifier:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearEnsembleClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
                with np.load(directory / ARRAYS_FILE, allow_pickle=False) as arrays:
                    model = _LinearModel.from_saved(meta, dict(arrays))
        except (ValueError, FileNotFoundError, KeyError) as error:
            # Not trained (no examples) or a model from before this component: DIET's results stand.
            logger.warning(
                "No linear model for %s (%s); DIET's intents are used alone.", resource.name, error
            )
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, model=model, responses=meta.get("responses"))

    # Training -----------------------------------------------------------------------------------------

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(INTENT) and m.get(TEXT)]
        labels = [self._label_of(m) for m in examples]
        blocks = [_sentence_blocks(m) for m in examples]
        if len(set(labels)) < 2:
            logger.debug("Fewer than two labels: the linear model is not trained.")
            return self._resource
        self._model = _LinearModel.fit(
            blocks,
            labels,
            c=float(self._config["C"]),
            class_weight_power=float(self._config["class_weight_power"]),
            folds=int(self._config["calibration_folds"]),
            seed=int(self._config["random_seed"]),
            length=LengthBuckets(
                [int(edge) for edge in self._config["length_buckets"]], float(self._config["length_weight"])
            ),
            token_counts=[_token_count(m) for m in examples],
        )
        prefix = f"utter_{self._retrieval_intent}/"
        self._responses = {
            key: list(value) for key, value in training_data.responses.items() if key.startswith(prefix)
        }
        self._persist()
        return self._resource

    def _label_of(self, message: Message) -> str:
        key = message.get(INTENT_RESPONSE_KEY)
        if message.get(INTENT) == self._retrieval_intent and key:
            return str(key)
        return str(message.get(INTENT))

    def _persist(self) -> None:
        assert self._model is not None
        meta, arrays = self._model.to_saved()
        meta["responses"] = self._responses
        with self._model_storage.write_to(self._resource) as directory:
            np.savez_compressed(directory / ARRAYS_FILE, **arrays)
            (directory / META_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    # Inference ----------------------------------------------------------------------------------------

    def process(self, messages: list[Message]) -> list[Message]:
        if self._model is None or self._weight == 0.0:
            return messages
        for message in messages:
            if not message.get(TEXT):
                continue
            probabilities = self._model.predict_proba(_sentence_blocks(message), _token_count(message))
            if self._config["output_parts"]:
                self._output_parts(message, probabilities)
            self._blend_intent(message, probabilities)
            self._blend_topic(message, probabilities)
        return messages

    def _output_parts(self, message: Message, linear: dict[str, float]) -> None:
        selector = (message.get("response_selector") or {}).get(self._retrieval_intent) or {}
        parts = {
            "linear": linear,
            "intents": _confidences(message.get(INTENT_RANKING_KEY), "name"),
            "topics": _confidences(selector.get("ranking"), INTENT_RESPONSE_KEY),
        }
        message.set("linear_ensemble_parts", parts, add_to_output=True)

    def _blend_intent(self, message: Message, linear: dict[str, float]) -> None:
        previous = _confidences(message.get(INTENT_RANKING_KEY), "name")
        blended = _mix(_linear_intents(linear), previous, self._weight)
        ranking = _ranking(blended, "name", int(self._config["ranking_length"]))
        message.set(INTENT, dict(ranking[0]), add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)

    def _blend_topic(self, message: Message, linear: dict[str, float]) -> None:
        linear_topics = _linear_topics(linear, self._retrieval_intent)
        if not linear_topics:
            return
        selectors = dict(message.get("response_selector") or {})
        selector = dict(selectors.get(self._retrieval_intent) or {})
        previous = _confidences(selector.get("ranking"), INTENT_RESPONSE_KEY)
        blended = _mix(linear_topics, previous, self._weight)
        ranking = _ranking(blended, INTENT_RESPONSE_KEY, int(self._config["ranking_length"]))
        best = ranking[0]
        key = str(best[INTENT_RESPONSE_KEY])
        template = f"utter_{key}"
        old_response = dict(selector.get("response") or {})
        responses = self._responses.get(template)
        if responses is None and old_response.get(INTENT_RESPONSE_KEY) == key:
            responses = old_response.get("responses")
        selector["response"] = {
            **old_response,
            "responses": responses or [{TEXT: key}],
            "confidence": best["confidence"],
            INTENT_RESPONSE_KEY: key,
            "utter_action": template,
        }
        selector["ranking"] = ranking
        selectors[self._retrieval_intent] = selector
        retrieval_intents = list(selectors.get("all_retrieval_intents") or [])
        if self._retrieval_intent not in retrieval_intents:
            retrieval_intents.append(self._retrieval_intent)
        selectors["all_retrieval_intents"] = retrieval_intents
        message.set("response_selector", selectors, add_to_output=True)


class LengthBuckets:
    """A message's token count as a weighted one-hot block: bucket i holds counts up to edges[i]."""

    def __init__(self, edges: list[int], weight: float) -> None:
        self.edges = sorted(edges)
        self.weight = weight

    @property
    def width(self) -> int:
        return len(self.edges) + 1 if self.weight > 0.0 else 0

    def scores(self, coef: np.ndarray, token_count: int) -> np.ndarray | float:
        """What the block adds to the SVM scores of one message, given the block's columns of the weights."""
        if not self.width:
            return 0.0
        result: np.ndarray = self.weight * coef[:, self._buckets([token_count])[0]]
        return result

    def features(self, token_counts: list[int]) -> sp.csr_matrix:
        if not self.width:
            return sp.csr_matrix((len(token_counts), 0))
        rows = np.arange(len(token_counts))
        values = np.full(len(token_counts), self.weight)
        return sp.csr_matrix(
            (values, (rows, self._buckets(token_counts))), shape=(len(token_counts), self.width)
        )

    def _buckets(self, token_counts: list[int]) -> np.ndarray:
        return np.searchsorted(self.edges, np.asarray(token_counts, dtype=np.int64), side="left")


class _LinearModel:
    """TF-IDF per feature block + length buckets + a one-vs-rest linear SVM + a softmax temperature."""

    def __init__(
        self,
        origins: list[str],
        widths: list[int],
        idf: list[np.ndarray],
        coef: np.ndarray,
        intercept: np.ndarray,
        classes: list[str],
        temperature: float,
        length: LengthBuckets,
    ) -> None:
        self.origins = origins
        self.widths = widths
        self.idf = idf
        self.coef = coef
        self.intercept = intercept
        self.classes = classes
        self.temperature = temperature
        self.length = length

    @classmethod
    def fit(
        cls,
        blocks: list[dict[str, sp.csr_matrix]],
        labels: list[str],
        c: float,
        class_weight_power: float,
        folds: int,
        seed: int,
        length: LengthBuckets,
        token_counts: list[int],
    ) -> _LinearModel:
        origins = sorted({origin for example in blocks for origin in example})
        widths = [_block_width(blocks, origin) for origin in origins]
        raw = [_stack_block(blocks, origin, width) for origin, width in zip(origins, widths, strict=True)]
        idf = [_idf(matrix) for matrix in raw]
        features = sp.hstack([_weighted(raw, idf), length.features(token_counts)], format="csr")
        svm = linear_svm(c, seed, class_weights(labels, class_weight_power)).fit(features, labels)
        classes = [str(label) for label in svm.classes_]
        temperature = _fit_temperature(features, labels, c, class_weight_power, folds, seed)
        return cls(origins, widths, idf, svm.coef_, svm.intercept_, classes, temperature, length)

    def predict_proba(self, example: dict[str, sp.csr_matrix], token_count: int) -> dict[str, float]:
        raw = [
            _stack_block([example], origin, width)
            for origin, width in zip(self.origins, self.widths, strict=True)
        ]
        ngrams = _weighted(raw, self.idf)
        width = ngrams.shape[1]
        scores = np.asarray(ngrams @ self.coef[:, :width].T).ravel() + self.intercept
        # The length block is one weighted column: add it without building the combined row (~0.4 ms).
        scores = scores + self.length.scores(self.coef[:, width:], token_count)
        if len(self.classes) == 2:  # a binary SVM has one score for the second class
            scores = np.array([-scores[0], scores[0]])
        probabilities = _softmax(scores / self.temperature)
        return {label: float(p) for label, p in zip(self.classes, probabilities, strict=True)}

    def to_saved(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {
            "origins": self.origins,
            "widths": self.widths,
            "classes": self.classes,
            "temperature": self.temperature,
            "length_buckets": self.length.edges,
            "length_weight": self.length.weight,
        }
        arrays = {"coef": self.coef, "intercept": self.intercept}
        arrays.update({f"idf_{index}": values for index, values in enumerate(self.idf)})
        return meta, arrays

    @classmethod
    def from_saved(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> _LinearModel:
        origins = [str(origin) for origin in meta["origins"]]
        return cls(
            origins=origins,
            widths=[int(width) for width in meta["widths"]],
            idf=[arrays[f"idf_{index}"] for index in range(len(origins))],
            coef=arrays["coef"],
            intercept=arrays["intercept"],
            classes=[str(label) for label in meta["classes"]],
            temperature=float(meta["temperature"]),
            # Models saved before the length block have none (weight 0).
            length=LengthBuckets(
                [int(edge) for edge in meta.get("length_buckets", [])], float(meta.get("length_weight", 0.0))
            ),
        )


def _token_count(message: Message) -> int:
    return len(message.get(TOKENS_NAMES[TEXT]) or [])


def _sentence_blocks(message: Message) -> dict[str, sp.csr_matrix]:
    """The sparse TEXT sentence features of each featurizer, by origin (the featurizer's node name)."""
    blocks: dict[str, sp.csr_matrix] = {}
    for feature in message.features:
        if feature.attribute != TEXT or feature.type != FEATURE_TYPE_SENTENCE or not feature.is_sparse():
            continue
        origin = feature.origin if isinstance(feature.origin, str) else "+".join(feature.origin)
        blocks[origin] = sp.csr_matrix(feature.features, dtype=np.float64)
    return blocks


def _block_width(blocks: list[dict[str, sp.csr_matrix]], origin: str) -> int:
    return max(example[origin].shape[1] for example in blocks if origin in example)


def _stack_block(blocks: list[dict[str, sp.csr_matrix]], origin: str, width: int) -> sp.csr_matrix:
    """One row per example; a missing block is zeros, a block of another width is cut or padded to width."""
    return sp.vstack([_fit_width(example.get(origin), width) for example in blocks]).tocsr()


def _fit_width(matrix: sp.csr_matrix | None, width: int) -> sp.csr_matrix:
    if matrix is None:
        return sp.csr_matrix((1, width))
    if matrix.shape[1] > width:
        return sp.csr_matrix(matrix.tocsc()[:, :width])
    if matrix.shape[1] < width:
        return sp.hstack([matrix, sp.csr_matrix((1, width - matrix.shape[1]))]).tocsr()
    return matrix


def _idf(matrix: sp.csr_matrix) -> np.ndarray:
    documents = matrix.shape[0]
    frequency = np.bincount(matrix.indices, minlength=matrix.shape[1])
    return np.log((1.0 + documents) / (1.0 + frequency)) + 1.0


def _weighted(raw: list[sp.csr_matrix], idf: list[np.ndarray]) -> sp.csr_matrix:
    """Sublinear TF-IDF per block, each block scaled to unit length, blocks side by side.

    Works on the stored values only: scipy's general sparse * dense products cost ~7 ms per message here.
    """
    weighted = []
    for matrix, weights in zip(raw, idf, strict=True):
        block = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
        block.sum_duplicates()
        block.data = (1.0 + np.log(np.maximum(block.data, 1.0))) * weights[block.indices]
        rows = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
        norms = np.sqrt(np.bincount(rows, weights=block.data**2, minlength=block.shape[0]))
        norms[norms == 0.0] = 1.0
        block.data /= norms[rows]
        weighted.append(block)
    return sp.hstack(weighted, format="csr")


def linear_svm(c: float, seed: int, class_weight: dict[Any, float]) -> Any:
    """The linear SVM of this component (also used by scripts/nlu_data_check.py)."""
    from sklearn.svm import LinearSVC

    return LinearSVC(C=c, class_weight=class_weight, random_state=seed)


def class_weights(labels: Sequence[Any], power: float) -> dict[Any, float]:
    """(n / (k * count)) ** power per label: power 1 is sklearn's "balanced", 0 weighs every example alike."""
    counts = Counter(labels)
    total, kinds = len(labels), len(counts)
    return {label: (total / (kinds * count)) ** power for label, count in counts.items()}


def _fit_temperature(
    features: sp.csr_matrix, labels: list[str], c: float, class_weight_power: float, folds: int, seed: int
) -> float:
    """The softmax temperature with the lowest log loss on cross-validated SVM scores."""
    from sklearn.model_selection import StratifiedKFold

    if folds < 2 or min(Counter(labels).values()) < folds:
        return DEFAULT_TEMPERATURE
    classes = sorted(set(labels))
    index = {label: position for position, label in enumerate(classes)}
    target = np.array([index[label] for label in labels])
    scores = np.zeros((len(labels), len(classes)))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(features, target):
        weights = class_weights(list(target[train]), class_weight_power)
        svm = linear_svm(c, seed, weights).fit(features[train], target[train])
        decision = svm.decision_function(features[test])
        if decision.ndim == 1:
            decision = np.stack([-decision, decision], axis=1)
        scores[np.ix_(test, svm.classes_)] = decision
    losses = {}
    for temperature in TEMPERATURES:
        probabilities = _softmax(scores / temperature)
        chosen = probabilities[np.arange(len(target)), target]
        losses[temperature] = -float(np.mean(np.log(np.maximum(chosen, 1e-12))))
    best = min(losses, key=lambda t: losses[t])
    logger.debug("Softmax temperature %.3f (log loss %.3f).", best, losses[best])
    return best


def _softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis (one message's scores, or one row per message)."""
    shifted = np.exp(scores - np.max(scores, axis=-1, keepdims=True))
    result: np.ndarray = shifted / shifted.sum(axis=-1, keepdims=True)
    return result


def _confidences(ranking: list[dict[str, Any]] | None, key: str) -> dict[str, float]:
    """An earlier component's ranking ({key: name, "confidence": p} items) as name -> confidence."""
    return {str(item[key]): float(item["confidence"]) for item in ranking or [] if item.get(key)}


def blended_top(
    parts: dict[str, dict[str, float]], weight: float, retrieval_intent: str = "faq"
) -> tuple[str, str | None]:
    """The intent and FAQ topic that `linear_weight` = weight would choose, from `linear_ensemble_parts`."""
    intents = _mix(_linear_intents(parts["linear"]), parts["intents"], weight)
    topics = _mix(_linear_topics(parts["linear"], retrieval_intent), parts["topics"], weight)
    best_intent = min(intents, key=lambda name: (-intents[name], name))
    best_topic = min(topics, key=lambda name: (-topics[name], name)) if topics else None
    return best_intent, best_topic


def _linear_intents(linear: dict[str, float]) -> dict[str, float]:
    """Label probabilities summed by intent (`faq` collects every `faq/<topic>`)."""
    intents: dict[str, float] = defaultdict(float)
    for label, probability in linear.items():
        intents[label.split("/", 1)[0]] += probability
    return dict(intents)


def _linear_topics(linear: dict[str, float], retrieval_intent: str) -> dict[str, float]:
    """The linear model's FAQ-topic probabilities, renormalised over the topics (empty if it has none)."""
    prefix = f"{retrieval_intent}/"
    topics = {label: p for label, p in linear.items() if label.startswith(prefix)}
    total = sum(topics.values())
    return {label: p / total for label, p in topics.items()} if total > 0.0 else {}


def _mix(linear: dict[str, float], previous: dict[str, float], weight: float) -> dict[str, float]:
    """weight * linear + (1 - weight) * previous; with no earlier classifier the linear model speaks alone."""
    if not previous:
        weight = 1.0
    names = set(linear) | set(previous)
    return {name: weight * linear.get(name, 0.0) + (1.0 - weight) * previous.get(name, 0.0) for name in names}


def _ranking(probabilities: dict[str, float], key: str, length: int) -> list[dict[str, Any]]:
    ordered = sorted(probabilities.items(), key=lambda item: (-item[1], item[0]))
    if length > 0:
        ordered = ordered[:length]
    return [{key: name, "confidence": float(p)} for name, p in ordered]
