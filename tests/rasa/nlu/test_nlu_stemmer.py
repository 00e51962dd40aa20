"""SastrawiStemmer: lemmas, skips, the per-message budget and the stem table persisted with the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.stemmer import STEMS_FILE, SastrawiStemmer, shared_sastrawi
from bot.nlu.tokenizer import IndonesianTokenizer

RESOURCE = Resource("train_SastrawiStemmer1")
# Derived words that are not in Sastrawi's root dictionary, so each one costs a real stemmer run.
DERIVED = [
    "pelayanannya",
    "diperpanjang",
    "kependudukan",
    "perbaikan",
    "pengaduan",
    "kebersihannya",
    "dikarenakan",
    "memperpanjang",
    "penyalahgunaan",
    "kesehatan",
]


class CountingStemmer:
    """The real Sastrawi stemmer, counting the words that reach it."""

    def __init__(self) -> None:
        self.words: list[str] = []

    def __call__(self, word: str) -> str:
        self.words.append(word)
        return shared_sastrawi().stem(word)


@pytest.fixture(scope="module")
def tokenizer() -> IndonesianTokenizer:
    return IndonesianTokenizer(IndonesianTokenizer.get_default_config())


@pytest.fixture()
def storage(tmp_path: Path) -> LocalModelStorage:
    return LocalModelStorage(tmp_path)


@pytest.fixture()
def context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), "test-model")


@pytest.fixture()
def counter() -> CountingStemmer:
    return CountingStemmer()


@pytest.fixture()
def stemmer(storage: LocalModelStorage, counter: CountingStemmer) -> SastrawiStemmer:
    return SastrawiStemmer(SastrawiStemmer.get_default_config(), storage, RESOURCE, stem_word=counter)


def message(tokenizer: IndonesianTokenizer, text: str) -> Message:
    result = Message(data={TEXT: text})
    tokenizer.process([result])
    return result


def lemmas(msg: Message) -> list[tuple[str, str]]:
    return [(token.text, token.lemma) for token in msg.get(TOKENS_NAMES[TEXT])]


def test_lemmas_are_sastrawi_stems_and_texts_stay(
    tokenizer: IndonesianTokenizer, stemmer: SastrawiStemmer
) -> None:
    msg = message(tokenizer, "pelayanannya diperpanjang, kebersihannya")
    stemmer.process([msg])
    assert lemmas(msg) == [
        ("pelayanannya", "layan"),
        ("diperpanjang", "panjang"),
        ("kebersihannya", "bersih"),
    ]


def test_digits_short_tokens_domain_terms_and_codes_are_skipped(
    tokenizer: IndonesianTokenizer, stemmer: SastrawiStemmer, counter: CountingStemmer
) -> None:
    msg = message(tokenizer, "kelurahan ktp2 ADU-7KQ2M9XP 3201010101010001 Rp50.000 bpjs-nya dia")
    stemmer.process([msg])
    assert all(text == lemma for text, lemma in lemmas(msg))
    assert counter.words == []


def test_over_stems_that_change_the_meaning_are_protected(
    tokenizer: IndonesianTokenizer, stemmer: SastrawiStemmer, counter: CountingStemmer
) -> None:
    assert shared_sastrawi().stem("meninggal") == "tinggal"  # what the protection is for
    msg = message(tokenizer, "surat keterangan orang tua meninggal, penerangan jalan")
    stemmer.process([msg])
    assert dict(lemmas(msg))["meninggal"] == "meninggal"
    assert dict(lemmas(msg))["keterangan"] == "keterangan"
    assert dict(lemmas(msg))["penerangan"] == "terang"
    assert counter.words == ["penerangan"]


def test_root_words_cost_no_stemmer_call(
    tokenizer: IndonesianTokenizer, stemmer: SastrawiStemmer, counter: CountingStemmer
) -> None:
    msg = message(tokenizer, "jalan rusak sampah banjir tolong")
    stemmer.process([msg])
    assert all(text == lemma for text, lemma in lemmas(msg))
    assert counter.words == []


def test_uncached_stems_per_message_are_bounded(
    tokenizer: IndonesianTokenizer, stemmer: SastrawiStemmer, counter: CountingStemmer
) -> None:
    msg = message(tokenizer, " ".join(DERIVED))
    stemmer.process([msg])
    assert len(counter.words) == 3
    result = lemmas(msg)
    assert [lemma for _, lemma in result[:3]] == ["layan", "panjang", "duduk"]
    assert all(text == lemma for text, lemma in result[3:])

    # The next message reuses the cache for the first three and spends its budget on the next three.
    again = message(tokenizer, " ".join(DERIVED))
    stemmer.process([again])
    assert len(counter.words) == 6
    assert [lemma for _, lemma in lemmas(again)[:6]] == ["layan", "panjang", "duduk", "baik", "adu", "bersih"]


def test_worst_case_message_of_sixty_unseen_long_words(
    tokenizer: IndonesianTokenizer, stemmer: SastrawiStemmer, counter: CountingStemmer
) -> None:
    words = [f"dipermempersengketakan{chr(97 + i % 26)}{chr(97 + i // 26)}nyalah" for i in range(60)]
    msg = message(tokenizer, " ".join(words))
    assert len(msg.get(TOKENS_NAMES[TEXT])) == 60
    stemmer.process([msg])
    assert len(counter.words) <= 3


def test_cache_is_bounded(tokenizer: IndonesianTokenizer, storage: LocalModelStorage) -> None:
    counter = CountingStemmer()
    config = {**SastrawiStemmer.get_default_config(), "cache_size": 2, "max_uncached_per_message": 10}
    small = SastrawiStemmer(config, storage, RESOURCE, stem_word=counter)
    small.process([message(tokenizer, "pelayanannya diperpanjang kebersihannya")])
    small.process([message(tokenizer, "pelayanannya")])  # evicted by the two later words
    assert counter.words == ["pelayanannya", "diperpanjang", "kebersihannya", "pelayanannya"]


def training_data(tokenizer: IndonesianTokenizer) -> TrainingData:
    data = TrainingData(
        [
            Message(data={TEXT: "pelayanannya lambat sekali", INTENT: "file_complaint"}),
            Message(data={TEXT: "KTP saya perlu diperpanjang?", INTENT: "faq"}),
            Message(data={TEXT: "urusan kependudukan dan perbaikan jalan", INTENT: "file_complaint"}),
        ]
    )
    return tokenizer.process_training_data(data)


def test_stem_table_is_persisted_and_reloaded_through_model_storage(
    tokenizer: IndonesianTokenizer, tmp_path: Path, context: ExecutionContext
) -> None:
    trainer_counter = CountingStemmer()
    storage = LocalModelStorage(tmp_path)
    trainer = SastrawiStemmer(
        SastrawiStemmer.get_default_config(), storage, RESOURCE, stem_word=trainer_counter
    )
    data = training_data(tokenizer)
    assert trainer.train(data) == RESOURCE
    # Training stems the whole vocabulary at once, however many words there are.
    assert {"pelayanannya", "diperpanjang", "kependudukan", "perbaikan"} <= set(trainer_counter.words)
    trainer.process_training_data(data)
    assert [token.lemma for token in data.training_examples[0].get(TOKENS_NAMES[TEXT])] == [
        "layan",
        "lambat",
        "sekali",
    ]

    with storage.read_from(RESOURCE) as directory:
        table = json.loads((directory / STEMS_FILE).read_text(encoding="utf-8"))
    assert table["pelayanannya"] == "layan"
    assert table["kependudukan"] == "duduk"

    # A fresh storage object over the same directory, as when the model is loaded for inference.
    loaded = SastrawiStemmer.load(
        SastrawiStemmer.get_default_config(), LocalModelStorage(tmp_path), RESOURCE, context
    )
    inference_counter = CountingStemmer()
    loaded._stem_word = inference_counter  # count what still reaches Sastrawi after loading
    msg = message(tokenizer, "pelayanannya diperpanjang kependudukan perbaikan pelayanannya")
    loaded.process([msg])
    assert inference_counter.words == []  # all four words came from the persisted table, none from the budget
    assert [lemma for _, lemma in lemmas(msg)] == ["layan", "panjang", "duduk", "baik", "layan"]


def test_loading_without_a_persisted_table_still_works(
    tokenizer: IndonesianTokenizer, storage: LocalModelStorage, context: ExecutionContext
) -> None:
    loaded = SastrawiStemmer.load(SastrawiStemmer.get_default_config(), storage, Resource("missing"), context)
    msg = message(tokenizer, "pelayanannya")
    loaded.process([msg])
    assert lemmas(msg) == [("pelayanannya", "layan")]
