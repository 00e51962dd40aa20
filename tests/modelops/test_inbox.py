"""The NLU inbox: which messages it lists and why, grouping, masking, labelling, dismissing, flagging."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.db import Database
from bot.gateway.rasa_client import parse_nlu
from bot.modelops import inbox
from bot.modelops.training_models import InboxReview, NluFlag, TrainingExample
from bot.modelops.trainingdata import TrainingDataError
from tests.modelops.nlu_helpers import citizen_says


def test_lists_unsure_messages_with_their_reasons_and_skips_confident_ones(database: Database) -> None:
    fallback = citizen_says(database, "wkwk apaan nih", "nlu_fallback", 0.3)
    low = citizen_says(database, "itu loh yang kemarin", "greet", 0.41)
    close = citizen_says(database, "halo mau lapor jalan", "file_complaint", 0.7, margin=0.05)
    faq = citizen_says(database, "ikd itu apa", "faq", 1.0, faq_topic="kia", faq_confidence=0.2)
    sure = citizen_says(database, "selamat pagi", "greet", 0.99)
    button = citizen_says(database, '/faq{"faq_topic":"sim"}', "faq", 0.2)
    with database.session() as session:
        reasons = {m.id: m.reasons for m in inbox.pending(session)}
    assert reasons == {
        fallback: ("fallback",),
        low: ("low_confidence",),
        close: ("close_top_two",),
        faq: ("faq_confusion",),
    }
    assert sure not in reasons and button not in reasons


def test_an_officer_flag_brings_a_confident_message_in_once(database: Database) -> None:
    message = citizen_says(database, "gmn caranya dapet ikd di hp", "faq", 1.0, "cara_mengadu", 0.65)
    with database.session() as session:
        assert inbox.pending(session) == []
        inbox.flag(session, message, "petugas.pu", "bot menjawab cara mengadu")
        inbox.flag(session, message, "petugas.lain")  # a second flag keeps the first
    with database.session() as session:
        assert [m.reasons for m in inbox.pending(session)] == [("flagged",)]
        assert session.scalar(select(func.count()).select_from(NluFlag)) == 1
        with pytest.raises(inbox.InboxError):
            inbox.flag(session, 999_999, "petugas.pu")


def test_similar_messages_are_grouped_and_groups_ordered_by_size(database: Database) -> None:
    for index, text in enumerate(["cara aktivasi ikd", "cara aktivasi ikd gmn", "aktivasi ikd caranya"]):
        citizen_says(database, text, "nlu_fallback", 0.2, sender=f"w{index}", minutes_ago=10 + index)
    citizen_says(database, "jalan depan rumah berlubang parah", "nlu_fallback", 0.2, minutes_ago=1)
    with database.session() as session:
        by_size = inbox.inbox(session)
        by_time = inbox.inbox(session, order="terbaru")
    assert [g.count for g in by_size] == [3, 1]
    assert by_time[0].text == "jalan depan rumah berlubang parah"


def test_personal_data_is_masked_in_the_inbox_and_in_the_example(database: Database) -> None:
    message = citizen_says(
        database, "nama saya Budi Santoso nik 3201010101900001 hp 081234567890 ikd gmn", "nlu_fallback", 0.2
    )
    with database.session() as session:
        shown = inbox.pending(session)[0].text
        rows = inbox.export_rows(inbox.inbox(session))
    for secret in ("Budi", "Santoso", "3201010101900001", "081234567890"):
        assert secret not in shown and secret not in rows[0]["text"]
    assert "3201********0001" in shown and "nama saya B*** S***" in shown
    with database.session() as session:
        [example] = inbox.label(session, [message], "faq/ktp_el", "admin")
        assert "Budi" not in example.text and "3201010101900001" not in example.text


def test_labelling_stores_one_example_per_text_and_empties_the_group(database: Database) -> None:
    first = citizen_says(database, "cara aktivasi ikd", "nlu_fallback", 0.2, sender="a")
    again = citizen_says(database, "cara aktivasi ikd", "nlu_fallback", 0.2, sender="b")
    with database.session() as session:
        examples = inbox.label(session, [first, again], "faq/ktp_el", "admin")
    assert [(e.text, e.label, e.source) for e in examples] == [("cara aktivasi ikd", "faq/ktp_el", "inbox")]
    with database.session() as session:
        assert inbox.pending(session) == []
        decisions = session.scalars(select(InboxReview.decision)).all()
        assert decisions == ["labelled", "labelled"]
        with pytest.raises(inbox.InboxError, match="sudah diberi label"):
            inbox.label(session, [first], "faq/ktp_el", "admin2")


def test_a_conflicting_or_unknown_label_is_refused_and_nothing_is_stored(database: Database) -> None:
    # "syarat bikin ktp pertama kali apa aja?" is a faq/ktp_el example of nlu_data.
    message = citizen_says(database, "syarat bikin ktp pertama kali apa aja?", "nlu_fallback", 0.3)
    other = citizen_says(database, "kartu prakerja gimana daftarnya", "nlu_fallback", 0.3)
    with database.session() as session:
        with pytest.raises(TrainingDataError, match="bertentangan"):
            inbox.label(session, [message], "check_status", "admin")
        with pytest.raises(TrainingDataError, match="belum dikenal"):
            inbox.label(session, [other], "faq/prakerja", "admin")
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(TrainingExample)) == 0
        assert session.scalar(select(func.count()).select_from(InboxReview)) == 0
        [example] = inbox.label(session, [other], "faq/prakerja", "admin", new_label=True)
        assert example.new_label


def test_dismissed_messages_leave_the_inbox(database: Database) -> None:
    message = citizen_says(database, "asdfgh", "nlu_fallback", 0.1)
    with database.session() as session:
        assert inbox.dismiss(session, [message], "admin") == 1
    with database.session() as session:
        assert inbox.pending(session) == []
        with pytest.raises(inbox.InboxError):
            inbox.dismiss(session, [], "admin")


def test_the_gateway_keeps_the_top_two_margin_of_a_turn() -> None:
    nlu = parse_nlu(
        {
            "text": "halo mau lapor",
            "intent": {"name": "nlu_fallback", "confidence": 0.45},
            "intent_ranking": [
                {"name": "nlu_fallback", "confidence": 0.45},
                {"name": "file_complaint", "confidence": 0.44},
                {"name": "greet", "confidence": 0.40},
                {"name": "faq", "confidence": 0.1},
            ],
        }
    )
    assert nlu.top_two() == {"first": "file_complaint", "second": "greet", "margin": 0.04}
    assert parse_nlu({"intent": {"name": "greet", "confidence": 1.0}}).top_two() is None


def test_the_gateway_stores_the_margin_and_the_inbox_lists_the_turn(database: Database) -> None:
    from bot.conversations.models import Message, OutboundStatus
    from bot.gateway.gateway import Gateway

    message_id = citizen_says(
        database, "mau lapor tapi nanya dulu", None, None, payload_extra={"source": "web"}
    )
    nlu = parse_nlu(
        {
            "text": "mau lapor tapi nanya dulu",
            "intent": {"name": "file_complaint", "confidence": 0.5},
            "intent_ranking": [
                {"name": "file_complaint", "confidence": 0.5},
                {"name": "faq", "confidence": 0.45},
            ],
        }
    )
    gateway = Gateway(database, rasa=None, duplicate_wait_seconds=0)  # type: ignore[arg-type]
    gateway._store_replies(message_id, [], nlu, OutboundStatus.QUEUED)
    with database.session() as session:
        stored = session.get_one(Message, message_id)
        assert stored.payload == {
            "source": "web",
            "nlu_top_two": {"first": "file_complaint", "second": "faq", "margin": 0.05},
        }
        [listed] = inbox.pending(session)
    assert listed.reasons == ("low_confidence", "close_top_two")
