"""LinearEnsembleClassifier: trained on featurised data, blended into DIET's and the selector's results."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.linear_ensemble import LinearEnsembleClassifier
from bot.nlu.tokenizer import IndonesianTokenizer

NLU = """
version: "3.1"
nlu:
- intent: greet
  examples: |
    - halo
    - halo min
    - selamat pagi
    - selamat siang kak
    - hai
    - assalamualaikum
- intent: file_complaint
  examples: |
    - jalan di depan rumah saya rusak parah
    - lampu jalan mati sudah seminggu
    - sampah menumpuk di pinggir jalan tidak diangkut
    - petugas kelurahan minta uang buat ngurus surat
    - saya mau lapor jalan berlubang
    - air pdam mati tiga hari
- intent: faq/ktp_el
  examples: |
    - syarat bikin ktp apa saja
    - gimana cara buat e-ktp
    - ktp hilang ngurusnya gimana
    - berapa lama ktp jadi
    - bikin ktp bayar gak
    - ktp rusak bisa diganti
- intent: faq/sim
  examples: |
    - syarat bikin sim apa saja
    - cara perpanjang sim
    - sim hilang gimana
    - biaya bikin sim berapa
    - sim c berapa lama jadinya
    - perpanjang sim bisa online
"""
RESPONSES = {
    "utter_faq/ktp_el": [{"text": "Informasi KTP-el."}],
    "utter_faq/sim": [{"text": "Informasi SIM."}],
}


def featurizers(storage: LocalModelStorage, context: ExecutionContext) -> list[Any]:
    words = CountVectorsFeaturizer.create(
        {**CountVectorsFeaturizer.get_default_config(), "analyzer": "word", "max_ngram": 2},
        storage,
        Resource("words"),
        ExecutionContext(GraphSchema({}), "test-model", node_name="words"),
    )
    chars = CountVectorsFeaturizer.create(
        {
            **CountVectorsFeaturizer.get_default_config(),
            "analyzer": "char_wb",
            "min_ngram": 2,
            "max_ngram": 4,
        },
        storage,
        Resource("chars"),
        ExecutionContext(GraphSchema({}), "test-model", node_name="chars"),
    )
    return [words, chars]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    context = ExecutionContext(GraphSchema({}), "test-model")
    data = RasaYAMLReader().reads(NLU)
    data = data.merge(TrainingData(responses=RESPONSES))
    tokenizer = IndonesianTokenizer(IndonesianTokenizer.get_default_config())
    tokenizer.process_training_data(data)
    stages = featurizers(storage, context)
    for stage in stages:
        stage.train(data)
        stage.process_training_data(data)
    resource = Resource("linear")
    config = {**LinearEnsembleClassifier.get_default_config(), "linear_weight": 1.0}
    classifier = LinearEnsembleClassifier.create(config, storage, resource, context)
    classifier.train(data)
    return {
        "tokenizer": tokenizer,
        "stages": stages,
        "classifier": classifier,
        "storage": storage,
        "resource": resource,
        "context": context,
        "data": data,
    }


def featurised(pipeline: dict[str, Any], text: str, **data: Any) -> Message:
    message = Message(data={TEXT: text, **data})
    pipeline["tokenizer"].process([message])
    for stage in pipeline["stages"]:
        stage.process([message])
    return message


def load(pipeline: dict[str, Any], weight: float, **options: Any) -> LinearEnsembleClassifier:
    config = {**LinearEnsembleClassifier.get_default_config(), "linear_weight": weight, **options}
    return LinearEnsembleClassifier.load(
        config, pipeline["storage"], pipeline["resource"], pipeline["context"]
    )


def trained(
    pipeline: dict[str, Any], name: str, data: TrainingData, **options: Any
) -> LinearEnsembleClassifier:
    config = {**LinearEnsembleClassifier.get_default_config(), "linear_weight": 1.0, **options}
    classifier = LinearEnsembleClassifier.create(
        config, pipeline["storage"], Resource(name), pipeline["context"]
    )
    classifier.train(data)
    return classifier


@pytest.mark.parametrize(
    "text, intent, topic",
    [
        ("halo kak selamat pagi", "greet", None),
        ("jalan rusak di depan rumah belum diperbaiki", "file_complaint", None),
        ("syarat perpanjang sim apa", "faq", "faq/sim"),
        ("ktp saya hilang, gimana cara ngurusnya", "faq", "faq/ktp_el"),
    ],
)
def test_linear_model_alone_predicts_intent_and_topic(
    pipeline: dict[str, Any], text: str, intent: str, topic: str | None
) -> None:
    message = featurised(pipeline, text)
    pipeline["classifier"].process([message])
    assert message.get("intent")["name"] == intent
    ranking = message.get("intent_ranking")
    assert ranking[0]["name"] == intent
    assert sum(item["confidence"] for item in ranking) == pytest.approx(1.0)
    if topic is not None:
        response = message.get("response_selector")["faq"]["response"]
        assert response["intent_response_key"] == topic
        assert response["utter_action"] == f"utter_{topic}"
        assert response["responses"] == RESPONSES[f"utter_{topic}"]


def test_persisted_model_predicts_the_same(pipeline: dict[str, Any]) -> None:
    first = featurised(pipeline, "biaya bikin sim berapa ya")
    second = featurised(pipeline, "biaya bikin sim berapa ya")
    pipeline["classifier"].process([first])
    load(pipeline, 1.0).process([second])
    assert first.get("intent_ranking") == second.get("intent_ranking")
    assert first.get("response_selector") == second.get("response_selector")


def test_blend_mixes_the_earlier_classifiers_probabilities(pipeline: dict[str, Any]) -> None:
    diet = [{"name": "greet", "confidence": 0.9}, {"name": "faq", "confidence": 0.1}]
    selector = {
        "all_retrieval_intents": ["faq"],
        "faq": {
            "response": {"intent_response_key": "faq/ktp_el", "confidence": 0.8, "responses": []},
            "ranking": [
                {"intent_response_key": "faq/ktp_el", "confidence": 0.8},
                {"intent_response_key": "faq/sim", "confidence": 0.2},
            ],
        },
    }
    alone = featurised(pipeline, "perpanjang sim c gimana")
    load(pipeline, 1.0).process([alone])
    linear = {item["name"]: item["confidence"] for item in alone.get("intent_ranking")}
    linear_sim = next(
        item["confidence"]
        for item in alone.get("response_selector")["faq"]["ranking"]
        if item["intent_response_key"] == "faq/sim"
    )

    mixed = featurised(
        pipeline,
        "perpanjang sim c gimana",
        intent=diet[0],
        intent_ranking=diet,
        response_selector=selector,
    )
    load(pipeline, 0.5).process([mixed])
    blended = {item["name"]: item["confidence"] for item in mixed.get("intent_ranking")}
    assert blended["greet"] == pytest.approx(0.5 * linear.get("greet", 0.0) + 0.45)
    assert blended["faq"] == pytest.approx(0.5 * linear["faq"] + 0.05)
    topics = {
        item["intent_response_key"]: item["confidence"]
        for item in mixed.get("response_selector")["faq"]["ranking"]
    }
    assert topics["faq/sim"] == pytest.approx(0.5 * linear_sim + 0.1)


@pytest.mark.parametrize("weight", [0.3, 0.75, 1.0])
def test_output_parts_reproduce_the_blend_of_any_weight(pipeline: dict[str, Any], weight: float) -> None:
    from bot.nlu.linear_ensemble import blended_top

    # DIET and the selector disagree with the linear model, so the weight decides.
    diet = [{"name": "greet", "confidence": 0.7}, {"name": "faq", "confidence": 0.3}]
    selector = {
        "faq": {
            "response": {"intent_response_key": "faq/ktp_el", "confidence": 0.9, "responses": []},
            "ranking": [
                {"intent_response_key": "faq/ktp_el", "confidence": 0.9},
                {"intent_response_key": "faq/sim", "confidence": 0.1},
            ],
        }
    }
    message = featurised(
        pipeline, "perpanjang sim c gimana", intent=diet[0], intent_ranking=diet, response_selector=selector
    )
    load(pipeline, weight, output_parts=True).process([message])
    parts = message.get("linear_ensemble_parts")
    assert parts["intents"] == {"greet": 0.7, "faq": 0.3}
    assert parts["topics"] == {"faq/ktp_el": 0.9, "faq/sim": 0.1}
    assert sum(parts["linear"].values()) == pytest.approx(1.0)
    intent, topic = blended_top(parts, weight)
    assert intent == message.get("intent")["name"]
    assert topic == message.get("response_selector")["faq"]["response"]["intent_response_key"]
    assert "linear_ensemble_parts" in message.as_dict(only_output_properties=True)


def test_parts_are_not_output_by_default(pipeline: dict[str, Any]) -> None:
    message = featurised(pipeline, "perpanjang sim c gimana")
    load(pipeline, 0.75).process([message])
    assert message.get("linear_ensemble_parts") is None


def test_weight_zero_leaves_earlier_results_alone(pipeline: dict[str, Any]) -> None:
    diet = [{"name": "greet", "confidence": 0.9}, {"name": "faq", "confidence": 0.1}]
    message = featurised(pipeline, "perpanjang sim c gimana", intent=diet[0], intent_ranking=diet)
    load(pipeline, 0.0).process([message])
    assert message.get("intent") == diet[0]
    assert message.get("response_selector") is None


@pytest.mark.parametrize("text", ["", "🙏🙏🙏", "<b>x</b>", "zzzz qqqq " * 300])
def test_odd_messages_do_not_fail(pipeline: dict[str, Any], text: str) -> None:
    message = featurised(pipeline, text)
    pipeline["classifier"].process([message])
    if text:
        assert message.get("intent")["name"] in {"greet", "file_complaint", "faq"}


def test_untrained_component_changes_nothing(tmp_path_factory: pytest.TempPathFactory) -> None:
    storage = LocalModelStorage(tmp_path_factory.mktemp("empty"))
    context = ExecutionContext(GraphSchema({}), "test-model")
    config = LinearEnsembleClassifier.get_default_config()
    classifier = LinearEnsembleClassifier.load(config, storage, Resource("missing"), context)
    message = Message(data={TEXT: "halo", "intent": {"name": "greet", "confidence": 1.0}})
    classifier.process([message])
    assert message.get("intent") == {"name": "greet", "confidence": 1.0}


def test_length_buckets_are_one_hot_with_inclusive_upper_bounds() -> None:
    from bot.nlu.linear_ensemble import LengthBuckets

    buckets = LengthBuckets([1, 2, 4], weight=0.5)

    features = buckets.features([0, 1, 2, 3, 4, 5, 40]).toarray()

    assert features.shape == (7, 4)
    assert [int(row.argmax()) for row in features] == [0, 0, 1, 2, 2, 3, 3]
    assert features.sum(axis=1) == pytest.approx([0.5] * 7)
    assert LengthBuckets([1, 2, 4], weight=0.0).features([3]).shape == (1, 0)


def test_a_model_saved_without_length_buckets_still_loads_and_predicts(pipeline: dict[str, Any]) -> None:
    from bot.nlu.linear_ensemble import _LinearModel, _sentence_blocks

    model = load(pipeline, 1.0)._model
    assert model is not None and model.length.width > 0
    meta, arrays = model.to_saved()
    meta.pop("length_buckets")
    meta.pop("length_weight")
    old = _LinearModel.from_saved(meta, arrays)
    old.coef = old.coef[:, : old.coef.shape[1] - model.length.width]

    probabilities = old.predict_proba(_sentence_blocks(featurised(pipeline, "halo kak")), 2)
    assert sum(probabilities.values()) == pytest.approx(1.0)


def test_prediction_scores_the_length_bucket_like_the_training_features(pipeline: dict[str, Any]) -> None:
    import numpy as np
    import scipy.sparse as sp

    from bot.nlu.linear_ensemble import _sentence_blocks, _softmax, _stack_block, _weighted

    model = load(pipeline, 1.0)._model
    assert model is not None
    example = _sentence_blocks(featurised(pipeline, "jalan rusak di depan rumah belum diperbaiki"))
    raw = [_stack_block([example], o, w) for o, w in zip(model.origins, model.widths, strict=True)]
    row = sp.hstack([_weighted(raw, model.idf), model.length.features([6])], format="csr")
    expected = _softmax((np.asarray(row @ model.coef.T).ravel() + model.intercept) / model.temperature)

    predicted = model.predict_proba(example, 6)

    assert [predicted[label] for label in model.classes] == pytest.approx(list(expected))


def test_tfidf_blocks_have_unit_length_and_empty_rows_stay_empty() -> None:
    import numpy as np
    import scipy.sparse as sp

    from bot.nlu.linear_ensemble import _idf, _weighted

    words = sp.csr_matrix(np.array([[2.0, 0.0, 1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]))
    chars = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 3.0], [0.0, 0.0], [0.0, 0.0]]))
    features = _weighted([words, chars], [_idf(words), _idf(chars)]).toarray()
    lengths = [np.linalg.norm(features[:, :3], axis=1), np.linalg.norm(features[:, 3:], axis=1)]
    assert lengths[0] == pytest.approx([1.0, 0.0, 1.0, 0.0])
    assert lengths[1] == pytest.approx([1.0, 1.0, 0.0, 0.0])
    # Sublinear term frequency (1 + ln 2 for a word written twice) times smooth idf (ln((1 + 4) / (1 + df)) + 1).
    idf_two_rows, idf_one_row = np.log(5 / 3) + 1, np.log(5 / 2) + 1
    assert features[0, 0] / features[0, 2] == pytest.approx((1 + np.log(2)) * idf_two_rows / idf_one_row)


def test_class_weights_range_from_none_to_sklearns_balanced() -> None:
    import numpy as np
    from sklearn.utils.class_weight import compute_class_weight

    from bot.nlu.linear_ensemble import class_weights

    labels = ["faq/ktp_el"] * 2 + ["file_complaint"] * 8 + ["greet"] * 4
    balanced = compute_class_weight("balanced", classes=np.array(sorted(set(labels))), y=np.array(labels))

    assert list(class_weights(labels, 1.0).values()) == pytest.approx([balanced[0], balanced[1], balanced[2]])
    assert set(class_weights(labels, 0.0).values()) == {1.0}
    square_root = class_weights(labels, 0.5)
    assert square_root["faq/ktp_el"] == pytest.approx(balanced[0] ** 0.5)
    # A label eight times rarer weighs sqrt(8) times more, not 8 times more.
    assert square_root["faq/ktp_el"] / square_root["file_complaint"] == pytest.approx(2.0)


def test_class_weight_power_changes_the_trained_model(pipeline: dict[str, Any]) -> None:
    import numpy as np

    data = pipeline["data"]
    # Two greetings beside six examples of every other label: the weights differ only for unequal classes.
    greetings = [m for m in data.training_examples if m.get("intent") == "greet"]
    others = [m for m in data.training_examples if m.get("intent") != "greet"]
    unequal = TrainingData(training_examples=[*greetings[:2], *others], responses=data.responses)
    balanced = trained(pipeline, "balanced", unequal, class_weight_power=1.0)._model
    unweighted = trained(pipeline, "unweighted", unequal, class_weight_power=0.0)._model
    assert balanced is not None and unweighted is not None
    assert balanced.classes == unweighted.classes
    assert not np.allclose(balanced.coef, unweighted.coef)
