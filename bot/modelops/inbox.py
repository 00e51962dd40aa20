"""The NLU inbox: citizen messages the bot was unsure of, grouped by similarity, for an admin to label.

A message enters the inbox when Rasa fell back (nlu_fallback), was not confident, hesitated between its
top two intents, guessed an FAQ topic weakly, or when an officer flagged it from a conversation. Text is
masked (NIK, phone, e-mail, names) before it is shown or exported. Labelling stores a training example
(bot/modelops/trainingdata.py) and takes the messages out of the inbox; so does dismissing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from bot.conversations.models import Direction, Message
from bot.db import utcnow
from bot.modelops import trainingdata
from bot.modelops.training_models import InboxReview, NluFlag, ReviewDecision, TrainingExample
from bot.privacy import mask_for_review

FALLBACK_INTENT = "nlu_fallback"
LOW_CONFIDENCE = 0.60
CLOSE_MARGIN = 0.15
LOW_FAQ_CONFIDENCE = 0.50
SIMILARITY = 0.55
DEFAULT_DAYS = 90
MAX_MESSAGES = 2000
MAX_NOTE = 500
_NUMBERS = re.compile(r"[+\d][\d*.\-]*")

REASON_LABELS = {
    "fallback": "Tidak dipahami",
    "low_confidence": "Keyakinan rendah",
    "close_top_two": "Dua intent berdekatan",
    "faq_confusion": "Topik FAQ ragu",
    "flagged": "Ditandai petugas",
}


class InboxError(ValueError):
    """A request the inbox cannot honour; the message is shown to the admin (Indonesian)."""


@dataclass(frozen=True)
class InboxMessage:
    id: int
    text: str  # masked
    created_at: datetime
    intent: str | None
    confidence: float | None
    faq_topic: str | None
    reasons: tuple[str, ...]
    second_intent: str | None = None


@dataclass
class InboxGroup:
    messages: list[InboxMessage] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.messages[0].text

    @property
    def count(self) -> int:
        return len(self.messages)

    @property
    def newest_at(self) -> datetime:
        return max(m.created_at for m in self.messages)

    @property
    def reasons(self) -> list[str]:
        return sorted({r for m in self.messages for r in m.reasons})

    @property
    def guess(self) -> str | None:
        """The model's most common guess in the group, as a label (faq/<topic> for FAQ turns)."""
        labels = [_label_of(m) for m in self.messages if _label_of(m)]
        return max(set(labels), key=labels.count) if labels else None

    @property
    def ids(self) -> list[int]:
        return [m.id for m in self.messages]


def _label_of(message: InboxMessage) -> str | None:
    if message.intent == "faq" and message.faq_topic:
        return f"faq/{message.faq_topic}"
    if message.intent == FALLBACK_INTENT:
        return message.second_intent
    return message.intent


def reasons_for(message: Message, flagged: bool) -> tuple[str, ...]:
    reasons: list[str] = []
    if message.intent == FALLBACK_INTENT:
        reasons.append("fallback")
    elif message.intent_confidence is not None and message.intent_confidence < LOW_CONFIDENCE:
        reasons.append("low_confidence")
    top_two = (message.payload or {}).get("nlu_top_two")
    margin = top_two.get("margin") if isinstance(top_two, dict) else None
    if isinstance(margin, int | float) and margin < CLOSE_MARGIN:
        reasons.append("close_top_two")
    if message.intent == "faq" and (message.faq_confidence or 0.0) < LOW_FAQ_CONFIDENCE:
        reasons.append("faq_confusion")
    if flagged:
        reasons.append("flagged")
    return tuple(reasons)


def _candidates(session: Session, since: datetime) -> list[tuple[Message, bool]]:
    flagged = exists().where(NluFlag.message_id == Message.id)
    reviewed = exists().where(InboxReview.message_id == Message.id)
    unsure = or_(
        Message.intent == FALLBACK_INTENT,
        Message.intent_confidence < LOW_CONFIDENCE,
        and_(
            Message.intent == "faq",
            or_(Message.faq_confidence.is_(None), Message.faq_confidence < LOW_FAQ_CONFIDENCE),
        ),
        Message.payload["nlu_top_two"]["margin"].as_float() < CLOSE_MARGIN,
        flagged,
    )
    query = (
        select(Message, flagged)
        .where(Message.direction == Direction.IN.value, Message.created_at >= since, ~reviewed, unsure)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(MAX_MESSAGES)
    )
    return [(row[0], bool(row[1])) for row in session.execute(query)]


def pending(session: Session, days: int = DEFAULT_DAYS) -> list[InboxMessage]:
    """Unreviewed unsure messages of the last `days` days, newest first, masked."""
    items: list[InboxMessage] = []
    for message, flagged in _candidates(session, utcnow() - timedelta(days=days)):
        text = message.text.strip()
        if not text or text.startswith("/"):  # a button press is not something the NLU misread
            continue
        reasons = reasons_for(message, flagged)
        if not reasons:
            continue
        top_two: Any = (message.payload or {}).get("nlu_top_two")
        items.append(
            InboxMessage(
                id=message.id,
                text=mask_for_review(text)[: trainingdata.MAX_TEXT],
                created_at=message.created_at,
                intent=message.intent,
                confidence=message.intent_confidence,
                faq_topic=message.faq_topic,
                reasons=reasons,
                second_intent=top_two.get("first") if isinstance(top_two, dict) else None,
            )
        )
    return items


def group(messages: Sequence[InboxMessage], threshold: float = SIMILARITY) -> list[InboxGroup]:
    """Greedy clusters on TF-IDF character n-grams: each message joins the most similar group whose first
    message is at least `threshold` cosine-similar, else starts a new group."""
    if not messages:
        return []
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    # Numbers (masked or not) say nothing about what was asked: "nik saya 3201****" and "nik saya 3174****"
    # are the same question.
    texts = [_NUMBERS.sub(" # ", trainingdata.normalise(m.text)) for m in messages]
    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), lowercase=True).fit_transform(texts)
    groups: list[InboxGroup] = []
    heads: list[int] = []
    for index, message in enumerate(messages):
        best, best_score = -1, threshold
        if heads:
            scores = cosine_similarity(vectors[index], vectors[heads])[0]
            for position, score in enumerate(scores):
                if score >= best_score:
                    best, best_score = position, float(score)
        if best < 0:
            groups.append(InboxGroup([message]))
            heads.append(index)
        else:
            groups[best].messages.append(message)
    return groups


def inbox(session: Session, order: str = "terbanyak", days: int = DEFAULT_DAYS) -> list[InboxGroup]:
    """Groups ordered by size then recency ("terbanyak") or by recency then size ("terbaru")."""
    groups = group(pending(session, days))
    if order == "terbaru":
        return sorted(groups, key=lambda g: (g.newest_at, g.count), reverse=True)
    return sorted(groups, key=lambda g: (g.count, g.newest_at), reverse=True)


def _open_messages(session: Session, message_ids: Sequence[int]) -> list[Message]:
    ids = sorted({int(i) for i in message_ids})
    if not ids:
        raise InboxError("Pilih minimal satu pesan.")
    rows = list(
        session.scalars(select(Message).where(Message.id.in_(ids), Message.direction == Direction.IN.value))
    )
    if len(rows) != len(ids):
        raise InboxError("Sebagian pesan tidak ditemukan.")
    done = set(session.scalars(select(InboxReview.message_id).where(InboxReview.message_id.in_(ids))))
    if done:
        raise InboxError("Sebagian pesan sudah diberi label atau diabaikan oleh admin lain.")
    return rows


def label(
    session: Session, message_ids: Sequence[int], label_name: str, by: str, new_label: bool = False
) -> list[TrainingExample]:
    """Each distinct (masked) text becomes a training example of `label_name`; the messages leave the
    inbox. Raises InboxError / TrainingDataError before storing anything."""
    messages = _open_messages(session, message_ids)
    clean = trainingdata.clean_label(label_name)
    by_text: dict[str, Message] = {}
    for message in messages:
        by_text.setdefault(trainingdata.clean_text(message.text), message)
    new = [trainingdata.Example(text, clean, "inbox") for text in by_text]
    report = trainingdata.check_new_examples(session, new, {clean} if new_label else set())
    if not report.ok:
        raise trainingdata.TrainingDataError(report.errors)
    examples: dict[str, TrainingExample] = {}
    for text, message in by_text.items():
        existing = session.scalar(
            select(TrainingExample).where(TrainingExample.text == text, TrainingExample.label == clean)
        )
        examples[text] = existing or TrainingExample(
            text=text,
            label=clean,
            new_label=new_label,
            source="inbox",
            message_id=message.id,
            created_by=by[:120],
        )
        session.add(examples[text])
    session.flush()
    for message in messages:
        example = examples[trainingdata.clean_text(message.text)]
        session.add(
            InboxReview(
                message_id=message.id,
                decision=ReviewDecision.LABELLED.value,
                example_id=example.id,
                decided_by=by[:120],
            )
        )
    session.flush()
    return list(examples.values())


def dismiss(session: Session, message_ids: Sequence[int], by: str) -> int:
    messages = _open_messages(session, message_ids)
    for message in messages:
        session.add(
            InboxReview(message_id=message.id, decision=ReviewDecision.DISMISSED.value, decided_by=by[:120])
        )
    session.flush()
    return len(messages)


def flag(session: Session, message_id: int, by: str, note: str | None = None) -> NluFlag:
    """An officer marks a citizen message from a conversation page; flagging twice keeps the first flag."""
    message = session.get(Message, message_id)
    if message is None or message.direction != Direction.IN.value:
        raise InboxError("Pesan warga tidak ditemukan.")
    existing = session.scalar(select(NluFlag).where(NluFlag.message_id == message_id))
    if existing is not None:
        return existing
    row = NluFlag(message_id=message_id, flagged_by=by[:120], note=(note or "").strip()[:MAX_NOTE] or None)
    session.add(row)
    session.flush()
    return row


def export_rows(groups: Sequence[InboxGroup]) -> list[dict[str, Any]]:
    """Masked rows for a CSV/JSON export of the inbox."""
    return [
        {
            "text": g.text,
            "count": g.count,
            "newest_at": g.newest_at.isoformat(),
            "reasons": ",".join(g.reasons),
            "model_guess": g.guess or "",
            "message_ids": " ".join(str(i) for i in g.ids),
        }
        for g in groups
    ]
