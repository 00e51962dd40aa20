"""Rasa component that sets each token's lemma to its Sastrawi stem, with bounded cost per message.

Runs after IndonesianTokenizer and before the featurizers; a CountVectorsFeaturizer with `use_lemma: True`
then sees stems ("pelayanannya" -> "layan", "diperpanjang" -> "panjang") while the surface featurizer keeps
the word itself. Sastrawi over-stems (perbaikan -> baik, pengaduan -> adu, kependudukan -> duduk), which is
acceptable only because the surface form stays a separate feature.

Cost guards (DESIGN.md: an unseen word that is not in Sastrawi's dictionary is the expensive case):
- The stems of the whole training vocabulary are computed at training time and persisted with the model
  (ModelStorage resource, `stems.json`); at inference they are a dictionary lookup.
- Words in Sastrawi's root dictionary are their own stem: no call.
- Tokens shorter than `min_length`, tokens with digits or other non-letters, domain terms (ktp, bpjs,
  kelurahan, …) and `protected_words` (over-stems that change the meaning here) keep lemma = text.
- Other words go through a bounded LRU cache; at most `max_uncached_per_message` of them are stemmed per
  message, the rest keep lemma = text, so a storm of unseen words cannot blow the latency.
Only the TEXT attribute is stemmed (responses and intent names are labels, not user language).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.tokenizer import shared_normalizer

logger = logging.getLogger(__name__)

STEMS_FILE = "stems.json"
DEFAULT_PROTECTED_WORDS = (
    "meninggal",
    "meninggalnya",
    "keterangan",
    "pemerintah",
    "pemerintahan",
    "bekasi",
)
# Letters with inner hyphens ("anak-anak"); anything else (digits, codes, URLs, other scripts) is not stemmed.
_STEMMABLE = re.compile(r"[a-z]+(?:-[a-z]+)*")


class _Sastrawi:
    """The Sastrawi stemmer without its unbounded result cache, plus its root-word dictionary."""

    def __init__(self) -> None:
        from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

        factory = StemmerFactory()
        # create_stemmer() wraps the stemmer in a cache that grows with every distinct word ever seen;
        # the bounded cache of SastrawiStemmer replaces it.
        self._stemmer = factory.create_stemmer().delegatedStemmer
        self._dictionary = self._stemmer.get_dictionary()

    def is_root(self, word: str) -> bool:
        return bool(self._dictionary.contains(word))

    def stem(self, word: str) -> str:
        return str(self._stemmer.stem_word(word))


@lru_cache(maxsize=1)
def shared_sastrawi() -> _Sastrawi:
    return _Sastrawi()


class _LRUCache:
    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, str] = OrderedDict()
        # Rasa may run graph nodes from worker threads; OrderedDict moves are not atomic.
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: str) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class SastrawiStemmer(GraphComponent):
    """Sets `token.lemma` to the Sastrawi stem of each TEXT token (see the module docstring)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # Shorter tokens are abbreviations or function words: stemming them only does harm.
            "min_length": 4,
            # Stemmer calls allowed per message for words neither in the model's table nor in the cache.
            "max_uncached_per_message": 3,
            # Stems kept in memory for words seen at inference that were not in the training vocabulary.
            "cache_size": 10_000,
            # Over-stems that would merge words this domain must tell apart: meninggal -> tinggal (death vs.
            # residence), keterangan -> terang = penerangan (certificates vs. street lights), pemerintah ->
            # perintah, bekasi -> bekas (a city). These keep lemma = text.
            "protected_words": list(DEFAULT_PROTECTED_WORDS),
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        stems: dict[str, str] | None = None,
        stem_word: Callable[[str], str] | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._min_length = int(self._config["min_length"])
        self._budget = int(self._config["max_uncached_per_message"])
        self._stems: dict[str, str] = dict(stems or {})
        self._cache = _LRUCache(int(self._config["cache_size"]))
        self._sastrawi = shared_sastrawi()
        # Injectable so that tests can count the calls that reach the real stemmer.
        self._stem_word = stem_word or self._sastrawi.stem
        self._skipped = shared_normalizer().domain_terms | frozenset(self._config["protected_words"])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SastrawiStemmer:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SastrawiStemmer:
        try:
            with model_storage.read_from(resource) as directory:
                stems = json.loads((directory / STEMS_FILE).read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError) as error:
            # No persisted table (e.g. a model trained before this component): stem lazily within budget.
            logger.warning("No stem table for %s (%s); stems are computed on demand.", resource.name, error)
            stems = {}
        return cls(config, model_storage, resource, stems=stems)

    # Training -----------------------------------------------------------------------------------------

    def train(self, training_data: TrainingData) -> Resource:
        """Stems the whole training vocabulary once and persists the table with the model."""
        vocabulary = sorted(
            {token.text for message in training_data.training_examples for token in _text_tokens(message)}
        )
        self._stems = {}
        for word in vocabulary:
            if self._is_stemmable(word):
                self._stems[word] = self._stem_word(word)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / STEMS_FILE).write_text(
                json.dumps(self._stems, ensure_ascii=False, sort_keys=True), encoding="utf-8"
            )
        logger.debug("Persisted %d stems.", len(self._stems))
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        # No budget here: training examples are covered by the table, and end-to-end story texts that are
        # not should get real stems too (training time is not latency-bound).
        for message in training_data.training_examples:
            self._set_lemmas(_text_tokens(message), budget=None)
        return training_data

    # Inference ----------------------------------------------------------------------------------------

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._set_lemmas(_text_tokens(message), budget=self._budget)
        return messages

    def stem(self, word: str, budget: list[int] | None = None) -> str:
        """The lemma for one token text; `budget` is a one-item counter of stemmer calls still allowed."""
        if not self._is_stemmable(word):
            return word
        known = self._stems.get(word)
        if known is None:
            known = self._cache.get(word)
        if known is not None:
            return known
        if "-" not in word and self._sastrawi.is_root(word):
            return word  # a root word is its own stem; no need to run the affix rules
        if budget is not None:
            if budget[0] <= 0:
                return word
            budget[0] -= 1
        stem = self._stem_word(word)
        self._cache.put(word, stem)
        return stem

    def _set_lemmas(self, tokens: Iterable[Token], budget: int | None) -> None:
        remaining = None if budget is None else [budget]
        for token in tokens:
            token.lemma = self.stem(token.text, remaining)

    def _is_stemmable(self, word: str) -> bool:
        return (
            len(word) >= self._min_length
            and word not in self._skipped
            and _STEMMABLE.fullmatch(word) is not None
        )


def _text_tokens(message: Message) -> list[Token]:
    tokens: list[Token] = message.get(TOKENS_NAMES[TEXT]) or []
    return tokens
