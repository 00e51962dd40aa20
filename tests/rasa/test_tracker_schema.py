"""The retention job's tests (tests/service/test_tracker_retention.py) build Rasa's `events` table from
tests/service/rasa_events.py; this checks that copy against Rasa 3.6's own SQL tracker store model."""

from __future__ import annotations

from rasa.core.tracker_store import SQLTrackerStore

from tests.service import rasa_events


def test_the_events_table_of_the_retention_tests_is_rasa_s() -> None:
    table = SQLTrackerStore.SQLEvent.__table__
    assert table.name == rasa_events.events.name == "events"
    assert {c.name: type(c.type).__name__ for c in table.columns} == rasa_events.EVENT_COLUMNS
    assert {c.name: type(c.type).__name__ for c in rasa_events.events.columns} == rasa_events.EVENT_COLUMNS
    assert {c.name: c.nullable for c in table.columns} == {
        c.name: c.nullable for c in rasa_events.events.columns
    }
