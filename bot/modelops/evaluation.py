"""The evaluation gate: a candidate model and the live one scored side by side before a deploy.

The test set is a fixed held-out split of nlu_data (seeded, stratified per label, stored in the database so
every evaluation uses the same one; training runs leave it out) plus every inbox message labelled since
the last deploy. Each model is loaded in a `.venv-rasa` subprocess (scripts/score_model.py) that parses
the texts. A model that saw the held-out split in training (e.g. one trained outside this loop) scores
itself on data it learned; the gate then compares on the inbox labels only and says so.
"""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import tempfile
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import Database
from bot.modelops import registry, trainingdata
from bot.modelops.models import RasaModel
from bot.modelops.training_models import Evaluation, HeldOutSplit, TrainingExample, TrainingRun
from bot.rasa_environment import rasa_environment
from bot.settings import PROJECT_ROOT

SEED = 2024
FRACTION = 0.15
MIN_PER_LABEL = 4  # labels with fewer examples stay whole in training
TOLERANCE = 0.005
SCORE_TIMEOUT_SECONDS = 900
EVAL_DIR = PROJECT_ROOT / "var" / "training"
LOCK_FILE = Path(os.environ.get("LAYANAN_CACHE", Path.home() / ".cache" / "layanan-aduan")) / "train.lock"
FALLBACK = "nlu_fallback"
logger = logging.getLogger(__name__)

Prediction = dict[str, Any]
Scorer = Callable[[str, Sequence[str]], list[Prediction]]


class EvaluationError(ValueError):
    """An evaluation or deploy the gate cannot honour; the message is shown to the admin (Indonesian)."""


# --------------------------------------------------------------------------------------------- test set


def heldout_split(session: Session) -> HeldOutSplit:
    """The stored split, made once (per label: a seeded shuffle, FRACTION of it held out)."""
    split = session.scalar(select(HeldOutSplit).order_by(HeldOutSplit.id.desc()).limit(1))
    if split is not None:
        return split
    by_label: dict[str, dict[str, str]] = defaultdict(dict)
    for example in trainingdata.project_examples():
        by_label[example.label].setdefault(trainingdata.normalise(example.text), example.text)
    rng = random.Random(SEED)
    held: list[dict[str, Any]] = []
    for label in sorted(by_label):
        texts = sorted(by_label[label].values())
        if len(texts) < MIN_PER_LABEL:
            continue
        rng.shuffle(texts)
        held += [{"text": text, "label": label} for text in texts[: max(1, round(len(texts) * FRACTION))]]
    split = HeldOutSplit(seed=SEED, fraction=str(FRACTION), examples=held)
    session.add(split)
    session.flush()
    return split


def heldout_pairs(session: Session) -> list[tuple[str, str]]:
    return [(item["text"], item["label"]) for item in heldout_split(session).examples]


def inbox_labels_since_deploy(session: Session) -> list[TrainingExample]:
    live = registry.live_model(session)
    query = select(TrainingExample).where(TrainingExample.source == "inbox")
    if live is not None and live.deployed_at is not None:
        query = query.where(TrainingExample.created_at > live.deployed_at)
    return list(session.scalars(query.order_by(TrainingExample.id)))


def test_set(session: Session) -> list[dict[str, str]]:
    items = [{"text": t, "label": label, "source": "heldout"} for t, label in heldout_pairs(session)]
    items += [
        {"text": e.text, "label": e.label, "source": "inbox"} for e in inbox_labels_since_deploy(session)
    ]
    return items


def trained_without_heldout(session: Session, model: RasaModel) -> bool:
    run = session.scalar(select(TrainingRun).where(TrainingRun.model_id == model.id))
    return bool(run is not None and run.holdout)


# --------------------------------------------------------------------------------------------- scoring


def predicted_label(prediction: Prediction) -> str:
    intent = prediction.get("intent") or FALLBACK
    if intent == "faq" and prediction.get("faq_topic"):
        return f"faq/{prediction['faq_topic']}"
    return str(intent)


def rasa_scorer(model_path: str, texts: Sequence[str]) -> list[Prediction]:
    """Parses `texts` with the model in a .venv-rasa subprocess (nice, under the training lock)."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "texts.json"
        source.write_text(json.dumps(list(texts)), encoding="utf-8")
        LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
        command = [
            "flock",
            str(LOCK_FILE),
            "nice",
            "-n",
            "10",
            str(PROJECT_ROOT / ".venv-rasa" / "bin" / "python"),
            str(PROJECT_ROOT / "scripts" / "score_model.py"),
            "parse",
            "--model",
            model_path,
            "--input",
            str(source),
        ]
        env = rasa_environment()
        result = subprocess.run(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=SCORE_TIMEOUT_SECONDS,
            check=False,
        )
    if result.returncode != 0:
        raise EvaluationError(f"Model {Path(model_path).name} tidak dapat dinilai: {result.stderr[-500:]}")
    predictions: list[Prediction] = json.loads(result.stdout.strip().splitlines()[-1])
    return predictions


def metrics(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Intent accuracy and macro-F1 (FAQ topics count as the intent faq), FAQ-topic accuracy, per-intent F1."""
    from sklearn.metrics import f1_score

    if not gold:
        return {"n": 0, "intent_accuracy": None, "macro_f1": None, "faq_accuracy": None, "per_intent": {}}
    coarse_gold = [g.split("/", 1)[0] for g in gold]
    coarse_pred = [p.split("/", 1)[0] for p in predicted]
    labels = sorted(set(coarse_gold))
    per_intent = f1_score(coarse_gold, coarse_pred, labels=labels, average=None, zero_division=0)
    faq = [(g, p) for g, p in zip(gold, predicted, strict=True) if g.startswith("faq/")]
    return {
        "n": len(gold),
        "intent_accuracy": sum(g == p for g, p in zip(coarse_gold, coarse_pred, strict=True)) / len(gold),
        "macro_f1": float(
            f1_score(coarse_gold, coarse_pred, labels=labels, average="macro", zero_division=0)
        ),
        "faq_accuracy": sum(g == p for g, p in faq) / len(faq) if faq else None,
        "per_intent": {label: round(float(v), 4) for label, v in zip(labels, per_intent, strict=True)},
    }


def not_worse(candidate: dict[str, Any], live: dict[str, Any] | None) -> bool:
    if live is None or not live.get("n"):
        return True
    for key in ("intent_accuracy", "macro_f1", "faq_accuracy"):
        mine, theirs = candidate.get(key), live.get(key)
        if mine is not None and theirs is not None and mine < theirs - TOLERANCE:
            return False
    return True


def confusion(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    labels = sorted(set(gold) | set(predicted))
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, predicted, strict=True):
        matrix[index[g]][index[p]] += 1
    return {"labels": labels, "matrix": matrix}


def draw_confusion(data: dict[str, Any], out: Path) -> Path | None:
    out.parent.mkdir(parents=True, exist_ok=True)
    source = out.with_suffix(".json")
    source.write_text(json.dumps(data), encoding="utf-8")
    command = [
        "nice",
        "-n",
        "10",
        str(PROJECT_ROOT / ".venv-rasa" / "bin" / "python"),
        str(PROJECT_ROOT / "scripts" / "score_model.py"),
        "confusion",
        "--input",
        str(source),
        "--out",
        str(out),
    ]
    result = subprocess.run(
        command, cwd=PROJECT_ROOT, env=rasa_environment(), capture_output=True, timeout=300, check=False
    )
    return out if result.returncode == 0 and out.is_file() else None


# --------------------------------------------------------------------------------------------- the gate


def evaluate(
    session: Session,
    candidate_ref: str | int,
    by: str,
    scorer: Scorer = rasa_scorer,
    draw: Callable[[dict[str, Any], Path], Path | None] = draw_confusion,
) -> Evaluation:
    candidate = registry.find_model(session, candidate_ref)
    if candidate is None:
        raise EvaluationError(f"Model {str(candidate_ref)[:80]} tidak terdaftar.")
    live = registry.live_model(session)
    if live is not None and live.id == candidate.id:
        raise EvaluationError("Model ini sudah aktif; pilih model kandidat.")
    items = test_set(session)
    if not items:
        raise EvaluationError("Belum ada data uji.")
    texts = [item["text"] for item in items]
    gold = [item["label"] for item in items]
    cand_pred = [predicted_label(p) for p in scorer(candidate.path, texts)]
    live_pred = [predicted_label(p) for p in scorer(live.path, texts)] if live is not None else None
    fair = live is None or trained_without_heldout(session, live)
    gate_rows = [i for i, item in enumerate(items) if fair or item["source"] == "inbox"] or list(
        range(len(items))
    )

    def subset(values: Sequence[str]) -> list[str]:
        return [values[i] for i in gate_rows]

    report: dict[str, Any] = {
        "test_size": len(items),
        "heldout_size": sum(item["source"] == "heldout" for item in items),
        "inbox_size": sum(item["source"] == "inbox" for item in items),
        "gate_on": "semua" if len(gate_rows) == len(items) else "inbox",
        "live_saw_heldout": not fair,
        "candidate": metrics(gold, cand_pred),
        "live": metrics(gold, live_pred) if live_pred is not None else None,
        "gate_candidate": metrics(subset(gold), subset(cand_pred)),
        "gate_live": metrics(subset(gold), subset(live_pred)) if live_pred is not None else None,
        "changed": [
            {
                "text": items[i]["text"],
                "label": gold[i],
                "source": items[i]["source"],
                "live": live_pred[i],
                "candidate": cand_pred[i],
            }
            for i in range(len(items))
            if live_pred is not None and live_pred[i] != cand_pred[i]
        ][:500],
    }
    report["per_intent_delta"] = _deltas(report["candidate"], report["live"])
    row = Evaluation(
        candidate_model_id=candidate.id,
        live_model_id=live.id if live is not None else None,
        created_by=by[:120],
        not_worse=not_worse(report["gate_candidate"], report["gate_live"]),
        report=report,
    )
    session.add(row)
    session.flush()
    png = draw(
        confusion(gold, cand_pred), EVAL_DIR / f"eval-{row.id}-{uuid.uuid4().hex[:8]}" / "confusion.png"
    )
    row.confusion_png = str(png) if png is not None else None
    candidate.metrics = {
        "intent_accuracy": report["candidate"]["intent_accuracy"],
        "macro_f1": report["candidate"]["macro_f1"],
        "faq_accuracy": report["candidate"]["faq_accuracy"],
        "evaluation_id": row.id,
    }
    return row


def _deltas(candidate: dict[str, Any], live: dict[str, Any] | None) -> dict[str, dict[str, float | None]]:
    live_scores = (live or {}).get("per_intent") or {}
    out: dict[str, dict[str, float | None]] = {}
    for label, score in candidate.get("per_intent", {}).items():
        before = live_scores.get(label)
        out[label] = {
            "live": before,
            "candidate": score,
            "delta": round(score - before, 4) if before is not None else None,
        }
    return out


def latest_for(session: Session, model_id: int) -> Evaluation | None:
    return session.scalar(
        select(Evaluation).where(Evaluation.candidate_model_id == model_id).order_by(Evaluation.id.desc())
    )


def recent(session: Session, limit: int = 10) -> list[Evaluation]:
    return list(session.scalars(select(Evaluation).order_by(Evaluation.id.desc()).limit(limit)))


def check_deploy(evaluation: Evaluation, override_reason: str | None) -> str | None:
    """None when the gate lets the candidate through; the override reason (cleaned) when an admin
    overrode a failed gate. Raises EvaluationError when the gate failed and no reason was given."""
    if evaluation.not_worse:
        return None
    reason = (override_reason or "").strip()
    if len(reason) < 10:
        raise EvaluationError(
            "Model kandidat lebih buruk dari model aktif. Untuk tetap menerapkan, tulis alasan "
            "(minimal 10 karakter); alasan dicatat dalam log audit."
        )
    return reason[:500]


class BackgroundEvaluation:
    """One evaluation at a time in a thread of the service (two model loads take minutes); the page
    polls `state`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.state: dict[str, Any] = {}

    @property
    def running(self) -> bool:
        return self.state.get("status") == "running"

    def start(self, database: Database, model_id: int, by: str, scorer: Scorer = rasa_scorer) -> None:
        with self._lock:
            if self.running:
                raise EvaluationError("Evaluasi lain sedang berjalan; tunggu sampai selesai.")
            self.state = {"status": "running", "model_id": model_id, "by": by}
        threading.Thread(target=self._work, args=(database, model_id, by, scorer), daemon=True).start()

    def _work(self, database: Database, model_id: int, by: str, scorer: Scorer) -> None:
        try:
            with database.session() as session:
                evaluation_id = evaluate(session, model_id, by, scorer=scorer).id
            self.state = {"status": "done", "model_id": model_id, "evaluation_id": evaluation_id}
        except EvaluationError as refused:
            self.state = {"status": "failed", "model_id": model_id, "message": str(refused)}
        except Exception as error:  # shown on the page instead of a thread dying silently
            logger.exception("evaluation of model %s failed", model_id)
            self.state = {
                "status": "failed",
                "model_id": model_id,
                "message": f"Kesalahan: {type(error).__name__}",
            }


background = BackgroundEvaluation()
