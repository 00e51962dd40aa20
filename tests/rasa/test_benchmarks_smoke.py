"""The pure helpers of the NLU benchmarks: metrics, the informal-copy transformer, statistics, tables.

No training here: the scripts themselves are run by `make eval` and `make bench`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks import nlu_eval, nlu_latency
from benchmarks.nlu_eval import (
    INFORMAL,
    PIPELINES,
    VARIANTS,
    InformalTransformer,
    Prediction,
    align_baseline,
    cap_epochs,
    compute_metrics,
    fold_indices,
    load_reverse_lexicon,
)
from benchmarks.nlu_latency import NovelWords, classify, fill, latency_stats, percentile

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------------------------- metrics


def _predictions() -> list[Prediction]:
    return [
        Prediction("halo", "greet", "greet", 0.9),
        Prediction("hai", "greet", "greet", 0.8),
        Prediction("dadah", "goodbye", "greet", 0.6),
        Prediction("bye", "goodbye", "goodbye", 0.7),
        Prediction("syarat ktp", "faq/ktp_el", "faq", 0.9, selector_key="faq/ktp_el"),
        Prediction("syarat kk", "faq/kartu_keluarga", "faq", 0.9, selector_key="faq/ktp_el"),
        Prediction(
            "akta lahir", "faq/akta_kelahiran", "nlu_fallback", 0.2, selector_key="faq/akta_kelahiran"
        ),
        Prediction("jalan rusak", "file_complaint", "file_complaint", 0.95),
    ]


def test_compute_metrics_on_a_hand_made_list() -> None:
    metrics = compute_metrics(_predictions())

    assert metrics["examples"] == 8
    assert metrics["intent_accuracy"] == pytest.approx(6 / 8, abs=1e-4)  # "syarat kk" is faq: right intent
    # greet: P 2/3 R 1 -> 0.8; goodbye: P 1 R 1/2 -> 2/3; faq: P 1 R 2/3 -> 0.8; file_complaint: 1.
    per_intent = metrics["per_intent"]
    assert per_intent["greet"]["f1"] == pytest.approx(0.8, abs=1e-4)
    assert per_intent["goodbye"]["f1"] == pytest.approx(2 / 3, abs=1e-4)
    assert per_intent["faq"]["f1"] == pytest.approx(0.8, abs=1e-4)
    assert per_intent["faq"]["support"] == 3
    assert "nlu_fallback" not in per_intent
    assert metrics["intent_macro_f1"] == pytest.approx((0.8 + 2 / 3 + 0.8 + 1) / 4, abs=1e-4)
    # Only "syarat ktp" is faq with the right topic; the selector alone also gets "akta lahir" right.
    assert metrics["faq_examples"] == 3
    assert metrics["faq_topic_accuracy"] == pytest.approx(1 / 3, abs=1e-4)
    assert metrics["selector_topic_accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert metrics["fallback_rate"] == pytest.approx(1 / 8, abs=1e-4)
    assert {"gold": "goodbye", "predicted": "greet", "count": 1} in metrics["top_confusions"]


def test_macro_f1_counts_an_intent_never_predicted_as_zero() -> None:
    predictions = [Prediction("a", "greet", "greet", 1.0), Prediction("b", "deny", "greet", 1.0)]

    metrics = compute_metrics(predictions, labels=["greet", "deny", "affirm"])

    assert metrics["per_intent"]["deny"]["f1"] == 0.0
    assert metrics["per_intent"]["affirm"]["support"] == 0
    assert metrics["intent_macro_f1"] == pytest.approx((2 / 3 + 0 + 0) / 3, abs=1e-4)


def test_folds_are_stratified_on_the_full_label_and_seeded() -> None:
    labels = ["greet"] * 10 + ["faq/ktp_el"] * 5 + ["faq/sim"] * 5

    splits = fold_indices(labels, 5, seed=7)

    assert splits == fold_indices(labels, 5, seed=7)
    assert sorted(i for _, test in splits for i in test) == list(range(20))
    for _, test in splits:
        assert sorted(labels[i] for i in test) == ["faq/ktp_el", "faq/sim", "greet", "greet"]


def test_holdout_keeps_its_examples_held_out_when_data_is_added() -> None:
    labels = ["greet"] * 50 + ["faq/ktp_el"] * 50
    texts = [f"contoh {i}" for i in range(100)]

    held = nlu_eval.holdout_indices(labels, texts, 0.2, seed=42)
    grown = nlu_eval.holdout_indices(
        labels + ["greet"] * 50, texts + [f"baru {i}" for i in range(50)], 0.2, 42
    )

    assert 10 <= len(held) <= 30  # about a fifth
    assert [i for i in grown if i < 100] == held  # the old held-out examples stay held out, and only they
    assert held != nlu_eval.holdout_indices(labels, texts, 0.2, seed=7)
    [(train, test)] = nlu_eval.holdout_split(labels, texts, 0.2, seed=42)
    assert test == held and sorted(train + test) == list(range(100))


# ---------------------------------------------------------------------------------------------------- configs


def test_baseline_takes_the_projects_epochs_seed_and_threshold() -> None:
    project = {
        "language": "id",
        "pipeline": [
            {"name": "bot.nlu.tokenizer.IndonesianTokenizer"},
            {"name": "DIETClassifier", "epochs": 120, "random_seed": 7},
            {"name": "ResponseSelector", "retrieval_intent": "faq", "epochs": 90, "random_seed": 7},
            {"name": "FallbackClassifier", "threshold": 0.45},
        ],
    }
    baseline = nlu_eval.read_yaml(ROOT / "benchmarks" / "baseline_config.yml")

    aligned, notes = align_baseline(baseline, project)

    by_name = {c["name"]: c for c in aligned["pipeline"]}
    assert (by_name["DIETClassifier"]["epochs"], by_name["DIETClassifier"]["random_seed"]) == (120, 7)
    assert (by_name["ResponseSelector"]["epochs"], by_name["ResponseSelector"]["random_seed"]) == (90, 7)
    assert by_name["FallbackClassifier"]["threshold"] == 0.45
    assert "WhitespaceTokenizer" in by_name and "IndonesianTokenizer" not in str(aligned)
    assert any("DIETClassifier.epochs" in note for note in notes)
    assert baseline == nlu_eval.read_yaml(ROOT / "benchmarks" / "baseline_config.yml")  # input untouched
    assert cap_epochs(aligned, 5)["pipeline"][3]["epochs"] == 5
    assert aligned["pipeline"][3]["epochs"] == 120


# ------------------------------------------------------------------------------------- informal transformer


@pytest.fixture()
def tiny_lexicon(tmp_path: Path) -> Path:
    path = tmp_path / "lexicon.tsv"
    path.write_text(
        "informal\tformal\n"
        "gmn\tbagaimana\n"
        "gimana\tbagaimana\n"
        "udh\tsudah\n"
        "kk\tkakak\n"  # would turn "kakak" into Kartu Keluarga: must be dropped
        "wants\tmau\n"  # an English gloss, not Indonesian slang: must be dropped
        "gosah\ttidak usah\n"
        "200rb\t200 ribu\n",
        encoding="utf-8",
    )
    return path


def test_reverse_lexicon_drops_domain_terms_english_glosses_and_digits(tiny_lexicon: Path) -> None:
    reverse = load_reverse_lexicon(tiny_lexicon, protected=["kk", "ktp"])

    assert reverse == {"bagaimana": ("gimana", "gmn"), "sudah": ("udh",), "tidak usah": ("gosah",)}


def test_transformer_is_deterministic_and_leaves_codes_and_domain_terms(tiny_lexicon: Path) -> None:
    transformer = InformalTransformer(
        load_reverse_lexicon(tiny_lexicon, ["ktp"]), frozenset({"ktp"}), slang_rate=1.0, typo_rate=0.0
    )
    text = "bagaimana cek ADU-7KQ2M9XP, ktp sudah diambil? tidak usah 081234567890"

    informal = transformer(text)

    assert informal == transformer(text)
    assert informal.split()[0] in {"gmn", "gimana"}
    assert "udh" in informal.split() and "gosah" in informal.split()
    assert "ADU-7KQ2M9XP," in informal and "ktp" in informal.split() and "081234567890" in informal


def test_transformer_typos_keep_the_letters(tiny_lexicon: Path) -> None:
    transformer = InformalTransformer({}, frozenset({"ktp"}), typo_rate=1.0)
    words = "jalannya rusak parah sekali ktp".split()

    changed = transformer(" ".join(words)).split()

    assert changed[-1] == "ktp"
    for before, after in zip(words[:-1], changed[:-1], strict=True):
        assert after != before
        assert set(after) == set(before) and len(before) <= len(after) <= len(before) + 2


def test_variants_split_slang_and_typos(tiny_lexicon: Path) -> None:
    base = InformalTransformer(load_reverse_lexicon(tiny_lexicon), slang_rate=1.0, typo_rate=1.0)
    text = "bagaimana jalannya sekarang"

    slang_only = base.variant(slang=True, typos=False)(text).split()
    typos_only = base.variant(slang=False, typos=True)(text).split()

    assert slang_only[0] in {"gmn", "gimana"} and slang_only[1:] == ["jalannya", "sekarang"]
    assert typos_only[0] != "bagaimana" and typos_only[0] not in {"gmn", "gimana"}


def test_transformer_with_the_project_lexicon_makes_messages_informal() -> None:
    transformer = InformalTransformer.from_files(nlu_eval.DEFAULT_LEXICON, nlu_eval.DEFAULT_DOMAIN_TERMS)
    assert transformer.reverse_lexicon["bagaimana"]  # bgmn, gimana, ...
    assert "kk" not in {form for forms in transformer.reverse_lexicon.values() for form in forms}
    texts = [
        "bagaimana cara membuat ktp, saya sudah datang tetapi belum jadi",
        "jalan di depan rumah saya rusak dan tidak diperbaiki",
        "kapan kantor kelurahan buka, saya mau bertanya",
    ]

    informal = [transformer(text) for text in texts]

    changed = sum(
        a != b
        for t, i in zip(texts, informal, strict=True)
        for a, b in zip(t.split(), i.split(), strict=False)
    )
    assert changed >= 4
    assert all("ktp" in i for t, i in zip(texts, informal, strict=True) if "ktp" in t)


# ---------------------------------------------------------------------------------------------------- tables


def _fake_eval_report() -> dict:  # type: ignore[type-arg]
    metrics = {
        pipeline: {
            variant: compute_metrics(_predictions(), ["greet", "goodbye", "faq", "file_complaint"])
            for variant in VARIANTS
        }
        for pipeline in PIPELINES
    }
    metrics["baseline"][INFORMAL]["intent_accuracy"] = 0.4321
    return {
        "run": {
            "date": "2025-01-01T00:00:00+00:00",
            "command": "python benchmarks/nlu_eval.py --quick",
            "machine": "test",
            "data": "nlu_data",
            "examples": 8,
            "intents": ["faq", "file_complaint", "goodbye", "greet"],
            "faq_topics": 3,
            "folds": 2,
            "seed": 42,
            "config": "config.ci.yml",
            "baseline": "benchmarks/baseline_config.yml",
            "baseline_alignment": ["DIETClassifier.epochs 100 -> 40"],
            "epochs_cap": 20,
        },
        "metrics": metrics,
        "per_fold": {p: nlu_eval.fold_summary(_predictions(), ["greet"]) for p in PIPELINES},
        "timing": {
            p: {"train_s": [10.0, 12.0], "load_s": [3.0, 3.5], "parse_ms": [20.0, 22.0]} for p in PIPELINES
        },
    }


def test_eval_markdown_has_the_comparison_and_per_intent_tables() -> None:
    markdown = nlu_eval.render_markdown(_fake_eval_report())

    assert "| metric | project clean | baseline clean | project informal | baseline informal |" in markdown
    assert re.search(r"\| intent accuracy \| 0\.750 \| 0\.750 \| 0\.750 \| 0\.432 \|", markdown)
    assert "| goodbye | 2 | 0.667 |" in markdown
    assert "python benchmarks/nlu_eval.py --quick" in markdown and "Epochs capped at 20" in markdown
    table_rows = [line for line in markdown.splitlines() if line.startswith("| intent accuracy |")]
    assert len(table_rows) == 1


def test_eval_markdown_shows_the_unseen_test_set_when_it_was_scored() -> None:
    report = _fake_eval_report()
    assert "## Unseen test set" not in nlu_eval.render_markdown(report)

    report["unseen"] = {
        "file": "benchmarks/data/nlu_unseen.yml",
        "examples": 8,
        "metrics": {p: compute_metrics(_predictions(), ["greet", "goodbye", "faq"]) for p in PIPELINES},
    }
    markdown = nlu_eval.render_markdown(report)

    assert "## Unseen test set" in markdown and "8 messages" in markdown
    assert "| metric | project | baseline |" in markdown
    assert "- project confusions: goodbye → greet (1)" in markdown


def _parts(linear: dict[str, float], intents: dict[str, float], topics: dict[str, float]) -> dict:
    return {"linear": linear, "intents": intents, "topics": topics}


def test_blend_sweep_rescores_each_weight_from_the_unblended_parts() -> None:
    # DIET says greet, the linear model says faq/sim; the selector says faq/ktp_el.
    disputed = _parts(
        {"greet": 0.05, "faq/sim": 0.85, "faq/ktp_el": 0.1},
        {"greet": 0.9, "faq": 0.1},
        {"faq/ktp_el": 0.9, "faq/sim": 0.1},
    )
    agreed = _parts({"greet": 1.0}, {"greet": 1.0}, {})
    predictions = [
        Prediction("perpanjang sim", "faq/sim", "nlu_fallback", 0.4, raw_intent="faq", parts=disputed),
        Prediction("halo", "greet", "greet", 1.0, raw_intent="greet", parts=agreed),
        # Rasa answers "/start" without the NLU graph: no parts, its own prediction stands.
        Prediction("/start", "greet", "greet", 1.0, raw_intent="greet"),
    ]

    rows = {row["linear_weight"]: row for row in nlu_eval.blend_sweep(predictions, ["greet", "faq"])}

    assert set(rows) == set(nlu_eval.BLEND_WEIGHTS)
    assert rows[0.0]["intent_accuracy"] == pytest.approx(2 / 3, abs=1e-4)  # DIET alone: greet
    assert rows[0.0]["faq_topic_accuracy"] == 0.0
    # 0.5: faq 0.5 * 0.95 + 0.05 = 0.525 > greet 0.475; topics sim 0.5 * 0.85 / 0.95 + 0.05 = 0.497 < ktp_el 0.503.
    assert rows[0.5]["intent_accuracy"] == 1.0 and rows[0.5]["faq_topic_accuracy"] == 0.0
    assert rows[1.0]["intent_accuracy"] == 1.0 and rows[1.0]["faq_topic_accuracy"] == 1.0
    assert nlu_eval.blend_sweep([Prediction("halo", "greet", "greet", 1.0)], ["greet"]) == []


def test_only_the_project_ensemble_is_asked_for_its_parts() -> None:
    config = {"pipeline": [{"name": "DIETClassifier"}, {"name": nlu_eval.ENSEMBLE, "linear_weight": 0.75}]}

    changed = nlu_eval.with_ensemble_parts(config)

    assert changed["pipeline"][1] == {"name": nlu_eval.ENSEMBLE, "linear_weight": 0.75, "output_parts": True}
    assert "output_parts" not in config["pipeline"][1] and "output_parts" not in changed["pipeline"][0]


def test_eval_markdown_shows_the_blend_sweep_when_there_is_one() -> None:
    report = _fake_eval_report()
    row = {"linear_weight": 0.75, "intent_accuracy": 0.9, "intent_macro_f1": 0.91, "faq_topic_accuracy": 0.8}
    report["blend_sweep"] = {"clean": [row], "informal": [{**row, "intent_macro_f1": 0.88}]}

    markdown = nlu_eval.render_markdown(report)

    assert "## Blend weight (project pipeline)" in markdown
    assert "| 0.750 | 0.910 | 0.800 | 0.880 | 0.800 |" in markdown


def _dataset(pairs: list[tuple[str, str]]) -> nlu_eval.Dataset:
    from rasa.shared.nlu.training_data.message import Message

    examples = [Message(data={"text": text}) for text, _ in pairs]
    return nlu_eval.Dataset(examples, [label for _, label in pairs], None)


def test_unseen_messages_that_are_training_examples_are_left_out() -> None:
    training = _dataset([("halo min", "greet"), ("syarat ktp", "faq/ktp_el")])
    unseen = _dataset([("Halo  MIN", "greet"), ("ktp syaratnya apa", "faq/ktp_el")])

    kept = nlu_eval.check_unseen(training, unseen)

    assert [m.get("text") for m in kept.examples] == ["ktp syaratnya apa"]
    assert kept.labels == ["faq/ktp_el"]


def test_unseen_labels_must_exist_in_the_training_data() -> None:
    training = _dataset([("halo min", "greet")])

    with pytest.raises(ValueError, match="faq/ktp_el"):
        nlu_eval.check_unseen(training, _dataset([("syarat ktp", "faq/ktp_el")]))


def test_markdown_table_renders_none_and_floats() -> None:
    table = nlu_eval.markdown_table(["a", "b"], [[None, 0.5], ["x", 3]])

    assert table.splitlines() == ["| a | b |", "|---|---|", "| – | 0.500 |", "| x | 3 |"]


# ---------------------------------------------------------------------------------------------------- latency


def test_percentile_matches_linear_interpolation() -> None:
    values = [5.0, 1.0, 3.0, 2.0, 4.0]

    assert percentile(values, 50) == 3.0
    assert percentile(values, 0) == 1.0 and percentile(values, 100) == 5.0
    assert percentile(values, 95) == pytest.approx(4.8)
    assert percentile([7.0], 99) == 7.0
    stats = latency_stats(values)
    assert stats == {"n": 5, "mean": 3.0, "p50": 3.0, "p95": 4.8, "p99": 4.96, "max": 5.0}
    assert latency_stats([]) == {"n": 0}


def test_messages_are_classified_seen_unseen_and_fresh() -> None:
    vocabulary = {"jalan", "rusak", "di", "desa"}

    assert classify("Jalan rusak!", vocabulary) == nlu_latency.SEEN
    assert classify("jalan di Sumbertawangrejo rusak 😡", vocabulary) == nlu_latency.UNSEEN
    assert classify("jalan di desa {Novel} rusak", vocabulary) == nlu_latency.FRESH


def test_fresh_words_are_new_every_time_and_never_known() -> None:
    novel = NovelWords(seed=1, avoid={"jalan"})

    filled = [fill("jalan di {Novel} {novel}", novel) for _ in range(200)]

    fresh = [word for text in filled for word in text.split()[2:]]
    assert len({w.lower() for w in fresh}) == len(fresh) == 400
    assert all(text.split()[2][0].isupper() for text in filled)
    assert fill("jalan", novel) == "jalan"
    assert [fill("{novel}", NovelWords(seed=3)) for _ in range(2)] == [
        fill("{novel}", NovelWords(seed=3))
    ] * 2


def test_the_message_file_has_every_group_and_long_messages() -> None:
    messages = nlu_latency.load_messages(nlu_latency.DEFAULT_MESSAGES)

    assert 180 <= len(messages) <= 250
    assert sum(bool(nlu_latency.PLACEHOLDER.search(m)) for m in messages) >= 20
    assert sum(len(m) > 300 for m in messages) >= 8
    assert any(not m.isascii() for m in messages)  # emoji
    assert not any(m.startswith("#") for m in messages)


def test_latency_markdown_reports_groups_and_ratios() -> None:
    result = {
        "path": "models/a.tar.gz",
        "size_mb": 20.0,
        "load_s": 10.0,
        "rss_mb": 900.0,
        "latency_ms": {g: latency_stats([10.0, 20.0, 30.0]) for g in nlu_latency.GROUPS},
        "by_length_ms": {name: latency_stats([5.0]) for name, _, _ in nlu_latency.LENGTH_BANDS},
        "cold_ms": {g: latency_stats([50.0]) for g in nlu_latency.GROUPS},
        "slowest": [{"median_ms": 30.0, "group": "fresh", "text": "jalan di {Novel}"}],
    }
    slower = dict(result, latency_ms={g: latency_stats([20.0, 40.0, 60.0]) for g in nlu_latency.GROUPS})
    report = {
        "run": {
            "date": "2025-01-01",
            "command": "python benchmarks/nlu_latency.py --model a",
            "machine": "test",
            "messages": 3,
            "messages_file": "benchmarks/data/latency_messages.txt",
            "groups": "1 seen, 1 unseen, 1 fresh",
            "passes": 3,
        },
        "models": {"model": result, "compare": slower},
        "ratios": {
            "candidate": "compare",
            "reference": "model",
            "load": 1.0,
            "latency": {
                g: nlu_latency.ratios(slower["latency_ms"][g], result["latency_ms"][g])
                for g in nlu_latency.GROUPS
            },
        },
    }

    markdown = nlu_latency.render_markdown(report)

    assert "| model | fresh | 3 | 20.00 | 20.00 | 29.00 | 29.80 | 30.00 |" in markdown
    assert "| fresh | 2.00 | 2.00 | 2.00 | 2.00 | 2.00 |" in markdown
    assert "30.0 ms [fresh] jalan di {Novel}" in markdown
