"""A NIK in a complaint told to the real bot: Rasa's tracker and the stored chat only ever hold it masked;
the ticket filed by the action server keeps it encrypted beside the masked description."""

from __future__ import annotations

import json
import sqlite3
import uuid

from sqlalchemy import create_engine, text

from bot import nik_vault
from bot.encryption import DataCipher
from tests.e2e.conftest import DATA_ENCRYPTION_KEY, Stack
from tests.e2e.test_complaint_flow import CODE, file_complaint
from tests.e2e.test_conversation_basics import texts

NIK = "3201010101900001"
MASKED = "3201********0001"
NARRATION = (
    "lampu jalan di gang mawar mati semua sejak minggu lalu, gelap banget. nik saya 3201 0101 0190 0001"
)


def _without_spaces(value: str) -> str:
    return value.replace(" ", "").replace(".", "")


def test_a_nik_in_a_complaint_is_masked_for_rasa_and_the_chat_and_encrypted_on_the_ticket(
    stack: Stack,
) -> None:
    sender = f"warga-{uuid.uuid4().hex[:8]}"
    messages, _ = file_complaint(stack, sender, NARRATION)
    code = CODE.search(texts(messages)).group(0)  # type: ignore[union-attr]

    with sqlite3.connect(stack.workdir / "tracker.db") as tracker:
        events = [
            row[0]
            for row in tracker.execute("SELECT data FROM events WHERE sender_id = ?", (f"web:{sender}",))
        ]
    assert events and any(MASKED in (json.loads(data).get("text") or "") for data in events)
    assert not any(NIK in _without_spaces(data) for data in events)

    engine = create_engine(stack.database_url)
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT text FROM messages WHERE sender_id = :s"), {"s": sender}
        ).scalars()
        chat = list(stored)
        description, sealed = connection.execute(
            text("SELECT description, nik_sealed FROM tickets WHERE code = :c"), {"c": code}
        ).one()
    engine.dispose()
    assert any(MASKED in line for line in chat)
    assert not any(NIK in _without_spaces(line) for line in chat)
    assert MASKED in description and NIK not in _without_spaces(description)
    assert nik_vault.unseal(sealed, DataCipher(DATA_ENCRYPTION_KEY)) == [NIK]
