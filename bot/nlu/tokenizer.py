"""Rasa tokenizer for informal Indonesian: normalised token texts, original character offsets.

Each token's `text` is the normalised word (`bot.nlu.normalizer`: slang, repeated letters, domain variants),
while `start`/`end` point at the characters the citizen typed, so RegexFeaturizer and entity extractors,
which match on the raw message text, line up with the tokens. Decisions:
- A multi-word expansion ("gatau" -> "tidak tahu", "10rb" -> "10 ribu") gives one token per word, all with
  the span of the original word.
- A clitic is split off a domain term ("BPJS-nya", "KTPnya" -> "bpjs"/"ktp" + "nya", each with its own span).
- Tracking codes ("adu 7kq2-m9xp" -> "ADU-7KQ2M9XP"), NIKs, phone numbers ("+62 812 3456 7890" ->
  "+6281234567890"), URLs and e-mail addresses are one token each, in canonical form.
- Emoji, punctuation and HTML tags are dropped. A message with nothing else ("👍", "?") becomes one token
  holding the stripped text, as Rasa's WhitespaceTokenizer does, so featurizers never see an empty message.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.normalizer import TextNormalizer


@lru_cache(maxsize=1)
def shared_normalizer() -> TextNormalizer:
    # Built once per process: every pipeline run (training, each loaded model) reuses the lexicon in memory.
    return TextNormalizer()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class IndonesianTokenizer(Tokenizer):
    """Splits and normalises Indonesian chat messages (see the module docstring)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # The usual Tokenizer options, with WhitespaceTokenizer's defaults.
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    def __init__(self, config: dict[str, Any], normalizer: TextNormalizer | None = None) -> None:
        super().__init__(config)
        self._normalizer = normalizer or shared_normalizer()

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> IndonesianTokenizer:
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute) or ""
        tokens = [
            Token(normalized.text, normalized.start, normalized.end)
            for normalized in self._normalizer.analyze(text)
        ]
        if not tokens:
            stripped = text.strip()
            start = text.find(stripped) if stripped else 0
            tokens = [Token(stripped, start, start + len(stripped))]
        return self._apply_token_pattern(tokens)
