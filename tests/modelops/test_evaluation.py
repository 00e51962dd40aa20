"""The evaluation gate: fixed held-out split, metrics, fairness, changed examples, deploy override."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import func, select

from bot.db import Database
from bot.modelops import evaluation, inbox, registry
from bot.modelops.training_models import HeldOutSplit, TrainingRun
from tests.modelops.conftest import write_model
from tests.modelops.nlu_helpers import citizen_says

PHRASE = "gmn caranya dapet ikd di hp"


def test_the_held_out_split_is_stratified_seeded_and_stored_once(database: Database) -> None:
    with database.session() as session:
        first = evaluation.heldout_pairs(session)
        assert evaluation.heldout_pairs(session) == first
        assert session.scalar(select(func.count()).select_from(HeldOutSplit)) == 1
    labels = {label for _, label in first}
    assert {"greet", "check_status", "faq/ktp_el", "faq/pungli"} <= labels
    from bot.modelops.trainingdata import project_examples

    total = len({(e.text, e.label) for e in project_examples()})
    assert 0.1 * total < len(first) < 0.2 * total


def test_metrics_count_faq_topics_as_one_intent_and_score_topics_separately() -> None:
    gold = ["greet", "faq/ktp_el", "faq/sim", "check_status"]
    predicted = ["greet", "faq/sim", "faq/sim", "nlu_fallback"]
    scores = evaluation.metrics(gold, predicted)
    assert scores["intent_accuracy"] == 0.75
    assert scores["faq_accuracy"] == 0.5
    assert scores["per_intent"] == {"check_status": 0.0, "faq": 1.0, "greet": 1.0}
    assert scores["macro_f1"] == pytest.approx(2 / 3)
    assert evaluation.not_worse(scores, {**scores, "intent_accuracy": 0.754})
    assert not evaluation.not_worse(scores, {**scores, "intent_accuracy": 0.8})


class FakeScorer:
    """Knows every held-out example; the live model misreads PHRASE, the candidate too when `bad`."""

    def __init__(self, live_path: str, bad: bool = False) -> None:
        self.live_path, self.bad, self.calls = live_path, bad, 0

    def __call__(self, model_path: str, texts: Sequence[str]) -> list[dict[str, Any]]:
        self.calls += 1
        truth = self.truth
        results = []
        for text in texts:
            label = truth.get(text, "greet")
            if text == PHRASE and model_path == self.live_path:
                label = "faq/cara_mengadu"
            if self.bad and model_path != self.live_path and label.startswith("faq/"):
                label = "nlu_fallback"
            intent, _, topic = label.partition("/")
            results.append({"text": text, "intent": intent, "confidence": 0.9, "faq_topic": topic or None})
        return results

    truth: ClassVar[dict[str, str]] = {}


@pytest.fixture
def models(database: Database, tmp_path: Path) -> dict[str, int]:
    with database.session() as session:
        live, _ = registry.register(session, registry.inspect_model_file(write_model(tmp_path, "ci-live")))
        registry.mark_live(session, live, "admin")
        candidate, _ = registry.register(session, registry.inspect_model_file(write_model(tmp_path, "nlu-2")))
        session.add(
            TrainingRun(requested_by="admin", config="config.ci.yml", holdout=True, model_id=candidate.id)
        )
        return {"live": live.id, "candidate": candidate.id}


def _label_phrase(database: Database) -> None:
    message = citizen_says(database, PHRASE, "faq", 1.0, "cara_mengadu", 0.65)
    with database.session() as session:
        inbox.flag(session, message, "petugas")
        inbox.label(session, [message], "faq/ktp_el", "admin")


def _no_draw(data: dict[str, Any], out: Path) -> Path | None:
    assert sum(map(sum, data["matrix"])) > 0
    return None


def test_a_candidate_that_learned_the_inbox_label_passes_the_gate(
    database: Database, models: dict[str, int]
) -> None:
    _label_phrase(database)
    with database.session() as session:
        FakeScorer.truth = {text: label for text, label in evaluation.heldout_pairs(session)} | {
            PHRASE: "faq/ktp_el"
        }
        live_path = registry.find_model(session, models["live"]).path  # type: ignore[union-attr]
        scorer = FakeScorer(live_path)
        row = evaluation.evaluate(session, models["candidate"], "admin", scorer=scorer, draw=_no_draw)
        report = row.report
    assert scorer.calls == 2
    assert report["inbox_size"] == 1 and report["heldout_size"] > 100
    # The live model (not from a held-out run) saw the split: the gate looks at the inbox labels only.
    assert report["live_saw_heldout"] is True and report["gate_on"] == "inbox"
    assert report["gate_live"]["intent_accuracy"] == 1.0 and report["gate_live"]["faq_accuracy"] == 0.0
    assert report["gate_candidate"]["faq_accuracy"] == 1.0
    assert report["changed"] == [
        {
            "text": PHRASE,
            "label": "faq/ktp_el",
            "source": "inbox",
            "live": "faq/cara_mengadu",
            "candidate": "faq/ktp_el",
        }
    ]
    assert row.not_worse
    assert evaluation.check_deploy(row, None) is None
    with database.session() as session:
        assert registry.find_model(session, models["candidate"]).metrics["evaluation_id"] == row.id  # type: ignore[union-attr]


def test_a_worse_candidate_is_blocked_unless_an_admin_gives_a_reason(
    database: Database, models: dict[str, int]
) -> None:
    _label_phrase(database)
    with database.session() as session:
        FakeScorer.truth = {text: label for text, label in evaluation.heldout_pairs(session)} | {
            PHRASE: "faq/ktp_el"
        }
        live_path = registry.find_model(session, models["live"]).path  # type: ignore[union-attr]
        row = evaluation.evaluate(
            session, models["candidate"], "admin", scorer=FakeScorer(live_path, bad=True), draw=_no_draw
        )
    assert not row.not_worse
    assert row.report["per_intent_delta"]["faq"]["delta"] < 0
    with pytest.raises(evaluation.EvaluationError, match="alasan"):
        evaluation.check_deploy(row, "  ")
    assert evaluation.check_deploy(row, "Perbaikan darurat topik KTP") == "Perbaikan darurat topik KTP"


def test_the_live_model_cannot_be_its_own_candidate(database: Database, models: dict[str, int]) -> None:
    with database.session() as session, pytest.raises(evaluation.EvaluationError, match="sudah aktif"):
        evaluation.evaluate(session, models["live"], "admin", scorer=FakeScorer(""), draw=_no_draw)
    with database.session() as session, pytest.raises(evaluation.EvaluationError, match="tidak terdaftar"):
        evaluation.evaluate(session, "tidak-ada", "admin", scorer=FakeScorer(""), draw=_no_draw)
