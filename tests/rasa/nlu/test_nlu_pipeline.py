"""The NLU components together: entities from nlu_data/nlu/entities.yml, and a real Rasa NLU train + parse."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.extractors.regex_entity_extractor import RegexEntityExtractor
from rasa.nlu.featurizers.sparse_featurizer.regex_featurizer import RegexFeaturizer
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.stemmer import SastrawiStemmer
from bot.nlu.tokenizer import IndonesianTokenizer

ROOT = Path(__file__).resolve().parents[3]
ENTITIES_FILE = ROOT / "nlu_data" / "nlu" / "entities.yml"
CI_CONFIG = ROOT / "config.ci.yml"

TINY_NLU = """
version: "3.1"
nlu:
- intent: check_status
  examples: |
    - cek status [ADU-7KQ2M9XP](ticket_code)
    - status laporan [adu-3fz8h2na](ticket_code) gmn
    - laporan [ADU-X4T9B7RC](ticket_code) udh sampai mana
    - kode aduan sy [ADU-5HJW8P0Q](ticket_code)
    - tolong cek laporan saya
    - laporan saya sudah diproses belum
- intent: file_complaint
  examples: |
    - NIK [3201010101010001](nik) tidak terdaftar padahal e-KTP sudah jadi
    - jalan rusak parah, hubungi saya di [081234567890](phone_number)
    - lampu jalan mati sudah seminggu, wa [0812-3456-7890](phone_number)
    - saya mau lapor sampah menumpuk di pinggir jalan
    - pelayanannya lambat banget, sy udh 3x dtg
    - petugas kelurahan minta uang Rp50.000 buat ngurus KK
- intent: greet
  examples: |
    - halo
    - selamat pagi min
    - assalamualaikum
    - hai kak
    - permisi
    - halooo
- intent: faq/ktp_el
  examples: |
    - gmn cara bikin e-KTP
    - syarat buat ktp apa aja
    - ektp hilang gimana ngurusnya
    - berapa lama KTP-el jadi
- intent: faq/sim
  examples: |
    - cara perpanjang SIM
    - syarat bikin sim c
    - sim saya hilang, gmn
    - biaya buat sim berapa
"""

TINY_DOMAIN = """
version: "3.1"
intents: [check_status, file_complaint, greet, faq]
entities: [ticket_code, nik, phone_number]
responses:
  utter_faq/ktp_el:
    - text: "Informasi KTP-el."
  utter_faq/sim:
    - text: "Informasi SIM."
"""


def entity_values(message: Message) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for entity in message.get(ENTITIES) or []:
        found.setdefault(entity["entity"], []).append(entity["value"])
    return found


@pytest.fixture(scope="module")
def trained_components(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Tokenizer -> stemmer -> RegexFeaturizer -> RegexEntityExtractor, trained on data built in code."""
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    context = ExecutionContext(GraphSchema({}), "test-model")
    data = (
        RasaYAMLReader()
        .reads(ENTITIES_FILE.read_text(encoding="utf-8"))
        .merge(
            TrainingData(
                [
                    Message.build(
                        "cek status ADU-7KQ2M9XP",
                        "check_status",
                        [_entity("ADU-7KQ2M9XP", 11, "ticket_code")],
                    ),
                    Message.build(
                        "NIK 3201010101010001 ditolak",
                        "file_complaint",
                        [_entity("3201010101010001", 4, "nik")],
                    ),
                    Message.build(
                        "hubungi 081234567890", "file_complaint", [_entity("081234567890", 8, "phone_number")]
                    ),
                ]
            )
        )
    )
    tokenizer = IndonesianTokenizer(IndonesianTokenizer.get_default_config())
    stemmer = SastrawiStemmer.create(
        SastrawiStemmer.get_default_config(), storage, Resource("stemmer"), context
    )
    featurizer_config = {**RegexFeaturizer.get_default_config(), "case_sensitive": False}
    featurizer = RegexFeaturizer.create(featurizer_config, storage, Resource("regex_featurizer"), context)
    extractor = RegexEntityExtractor.create(
        RegexEntityExtractor.get_default_config(), storage, Resource("regex_extractor"), context
    )
    tokenizer.process_training_data(data)
    stemmer.train(data)
    stemmer.process_training_data(data)
    featurizer.train(data)
    featurizer.process_training_data(data)
    extractor.train(data)
    return {"tokenizer": tokenizer, "stemmer": stemmer, "featurizer": featurizer, "extractor": extractor}


def _entity(value: str, start: int, name: str) -> dict[str, Any]:
    return {"start": start, "end": start + len(value), "value": value, "entity": name}


def run(components: dict[str, Any], text: str) -> Message:
    message = Message(data={TEXT: text})
    for name in ("tokenizer", "stemmer", "featurizer", "extractor"):
        components[name].process([message])
    return message


def test_regex_entity_extractor_finds_the_three_entity_types(trained_components: dict[str, Any]) -> None:
    text = "status adu 7kq2-m9xp ya, NIK 3201 0101 0101 0001, hp +62 812 3456 7890"
    assert entity_values(run(trained_components, text)) == {
        "ticket_code": ["adu 7kq2-m9xp"],
        "nik": ["3201 0101 0101 0001"],
        "phone_number": ["+62 812 3456 7890"],
    }


@pytest.mark.parametrize(
    "text",
    [
        "saya mau adu kejadian ini",  # "adu" the word, no code
        "adu 2019 lalu",  # U is in no tracking code
        "nomor rumah 12, RT 03 RW 05, tahun 2023",
        "biaya Rp 1.250.000 dibayar 08.00",
    ],
)
def test_no_entities_in_ordinary_text(trained_components: dict[str, Any], text: str) -> None:
    assert entity_values(run(trained_components, text)) == {}


def test_phone_number_does_not_swallow_a_following_count(trained_components: dict[str, Any]) -> None:
    assert entity_values(run(trained_components, "wa 08123456789 100 kali")) == {
        "phone_number": ["08123456789"]
    }


def test_regex_features_mark_the_whole_value_token(trained_components: dict[str, Any]) -> None:
    message = run(trained_components, "hp +62 812 3456 7890 ya")
    sequence, _ = message.get_sparse_features(TEXT)
    assert sequence is not None
    matrix = sequence.features.toarray()
    # Tokens: handphone, +6281234567890 (one token for the whole number), ya.
    assert matrix.shape[0] == 3
    assert matrix[1].sum() == 1 and matrix[0].sum() == 0 and matrix[2].sum() == 0


@pytest.fixture(scope="module")
def nlu_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real Rasa NLU training run through the graph recipe, with config.ci.yml's pipeline.

    DIETClassifier and ResponseSelector are swapped for the sklearn LogisticRegressionClassifier: what is under
    test is that Rasa builds, trains, persists and loads the graph with the custom components, not accuracy,
    and TensorFlow training would add minutes on two cores (the end-to-end suite trains the real CI model).
    """
    from rasa.model_training import train_nlu

    workdir = tmp_path_factory.mktemp("nlu_train")
    data_dir = workdir / "data"
    data_dir.mkdir()
    (data_dir / "nlu.yml").write_text(TINY_NLU, encoding="utf-8")
    shutil.copy(ENTITIES_FILE, data_dir / "entities.yml")
    (workdir / "domain.yml").write_text(TINY_DOMAIN, encoding="utf-8")
    config = yaml.safe_load(CI_CONFIG.read_text(encoding="utf-8"))
    pipeline = []
    for component in config["pipeline"]:
        if component["name"] == "DIETClassifier":
            pipeline.append({"name": "LogisticRegressionClassifier", "random_state": 7})
        elif component["name"] != "ResponseSelector":
            pipeline.append(component)
    config["pipeline"] = pipeline
    config_path = workdir / "config.yml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RASA_CACHE_DIRECTORY", str(workdir / "cache"))
        model = train_nlu(
            str(config_path), str(data_dir), str(workdir / "models"), domain=str(workdir / "domain.yml")
        )
    assert model is not None
    return Path(model)


async def test_rasa_trains_and_parses_with_the_custom_components(nlu_model: Path) -> None:
    from rasa.core.agent import Agent

    agent = Agent.load(str(nlu_model))
    result = await agent.parse_message("status adu-7kq2m9xp gmn, NIK 3201010101010001, wa 0812-3456-7890 😊")
    entities = {entity["entity"]: entity["value"] for entity in result["entities"]}
    # Rasa's EntitySynonymMapper restores the case of a value seen in training ("ADU-7KQ2M9XP").
    assert {name: value.upper() for name, value in entities.items()} == {
        "ticket_code": "ADU-7KQ2M9XP",
        "nik": "3201010101010001",
        "phone_number": "0812-3456-7890",
    }
    assert all(entity["extractor"] == "RegexEntityExtractor" for entity in result["entities"])
    assert result["intent"]["name"] in {"check_status", "file_complaint", "greet", "faq", "nlu_fallback"}
    # Messages without words go through the whole pipeline too. (An empty text does not: Rasa's own
    # RegexFeaturizer adds no features for it and the classifier then sees the wrong width; the gateway
    # never sends one.)
    for text in ("👍", "???", "  ok  "):
        parsed = await agent.parse_message(text)
        assert "intent" in parsed
    # The stem table was persisted in the model archive.
    assert any(
        "SastrawiStemmer" in name and name.endswith("stems.json") for name in _archive_names(nlu_model)
    )


def _archive_names(model: Path) -> list[str]:
    with tarfile.open(model) as archive:
        return archive.getnames()
