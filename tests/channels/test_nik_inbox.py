"""Telegram/WhatsApp: a NIK in a message is stored masked (text and the stored event), reaches Rasa masked,
and is kept sealed on the row (SQLite and PostgreSQL)."""

from __future__ import annotations

from bot import nik_vault
from bot.conversations.models import Direction
from bot.encryption import DataCipher, generate_key
from tests.channels.helpers import Pipeline, event

NIK = "3578021503120004"
TEXT = "mau lapor, nik saya 3578.0215.0312.0004 tapi data di KK salah"
MASKED_TEXT = "mau lapor, nik saya 3578********0004 tapi data di KK salah"


async def test_a_messaging_channel_message_is_stored_and_sent_to_rasa_with_the_nik_masked(
    pipeline: Pipeline,
) -> None:
    cipher = DataCipher(generate_key())
    pipeline.gateway.cipher = cipher

    assert await pipeline.inbox.accept(event(TEXT, message_id="5550001:77"))
    await pipeline.settle()

    (inbound,) = pipeline.rows(Direction.IN)
    assert inbound.text == MASKED_TEXT
    payload = inbound.payload or {}
    assert payload["event"]["text"] == MASKED_TEXT  # the stored platform event, too
    assert NIK not in str(payload) and "3578.0215" not in str(payload)
    assert nik_vault.unseal(payload[nik_vault.PAYLOAD_KEY], cipher) == [NIK]
    assert [call["message"] for call in pipeline.rasa.webhook_calls] == [MASKED_TEXT]
