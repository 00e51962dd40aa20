"""Rasa 3.6's SQL tracker store table (`rasa.core.tracker_store.SQLTrackerStore.SQLEvent`), for tests of
the retention job; tests/rasa/test_tracker_schema.py checks it against Rasa's own definition. Plain
SQLAlchemy Core, usable from both environments (SQLAlchemy 1.4 in .venv-rasa, 2 in .venv)."""

from __future__ import annotations

import json

import sqlalchemy as sa

EVENT_COLUMNS = {
    "id": "Integer",
    "sender_id": "String",
    "type_name": "String",
    "timestamp": "Float",
    "intent_name": "String",
    "action_name": "String",
    "data": "Text",
}

metadata = sa.MetaData()
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, sa.Sequence("events_seq", optional=True), primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)


def user_event(sender_id: str, timestamp: float, text: str) -> dict[str, object]:
    """A row as Rasa writes a user message (its text inside `data`)."""
    data = {"event": "user", "timestamp": timestamp, "text": text, "parse_data": {"intent": {"name": "faq"}}}
    return {
        "sender_id": sender_id,
        "type_name": "user",
        "timestamp": timestamp,
        "intent_name": "faq",
        "action_name": None,
        "data": json.dumps(data),
    }
