"""Helpers of the retraining-loop tests: citizen messages as the gateway stores them after a Rasa turn."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.conversations.models import Conversation, Message
from bot.conversations.repository import add_inbound
from bot.db import Database, utcnow


def citizen_says(
    database: Database,
    text: str,
    intent: str | None,
    confidence: float | None = 0.9,
    faq_topic: str | None = None,
    faq_confidence: float | None = None,
    margin: float | None = None,
    sender: str = "warga-1",
    minutes_ago: int = 0,
    payload_extra: dict[str, Any] | None = None,
) -> int:
    """Stores one inbound message with the NLU result the gateway keeps; returns its id."""
    with database.session() as session:
        conversation = session.query(Conversation).filter_by(channel="web", sender_id=sender).one_or_none()
        if conversation is None:
            conversation = Conversation(channel="web", sender_id=sender)
            session.add(conversation)
            session.flush()
        payload: dict[str, Any] | None = None if payload_extra is None else dict(payload_extra)
        if margin is not None:
            payload = {"nlu_top_two": {"first": intent, "second": "greet", "margin": margin}}
        when: datetime = utcnow() - timedelta(minutes=minutes_ago)
        message: Message = add_inbound(session, conversation, text, None, payload, now=when)
        message.intent, message.intent_confidence = intent, confidence
        message.faq_topic, message.faq_confidence = faq_topic, faq_confidence
        return message.id
