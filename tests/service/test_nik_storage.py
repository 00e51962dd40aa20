"""NIKs out of stored chat text and out of what Rasa gets (web chat through the gateway), and on a ticket
only masked in the description with the NIK itself encrypted (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from bot import nik_vault
from bot.conversations.models import Message
from bot.db import Database
from bot.encryption import DataCipher, DecryptionError, EncryptionKeyError, generate_key
from bot.gateway.gateway import Gateway
from bot.gateway.rasa_client import RasaClient
from bot.settings import Settings
from bot.tickets.models import Ticket
from bot.tickets.service import NewTicket, ReporterInfo, TicketConfig, create_ticket
from bot.tickets.vocab import Category
from tests.service.fake_rasa import FakeRasa

NIK = "3201010101900001"
MASKED = "3201********0001"
COMPLAINT = "KTP-el saya belum jadi sejak Maret, NIK 3201 0101 0190 0001, sudah 3x ke kantor."
MASKED_COMPLAINT = f"KTP-el saya belum jadi sejak Maret, NIK {MASKED}, sudah 3x ke kantor."


@pytest.fixture
def key() -> str:
    return generate_key()


def _ticket_config(tmp_path: Path, key: str = "") -> TicketConfig:
    settings = Settings(_env_file=None, data_encryption_key=key, attachments_dir=tmp_path / "a")  # type: ignore[call-arg]
    return TicketConfig.from_settings(settings)


def _file(database: Database, config: TicketConfig, description: str, sender_id: str = "warga-1") -> Ticket:
    new = NewTicket(
        category=Category.KEPENDUDUKAN,
        description=description,
        reporter=ReporterInfo(channel="web", sender_id=sender_id, name="Siti"),
    )
    with database.session() as session:
        ticket, created = create_ticket(session, new, f"key-{sender_id}-{len(description)}", config=config)
        assert created
        return ticket


async def test_web_chat_stores_and_sends_to_rasa_the_nik_masked_and_seals_it_on_the_row(
    database: Database, rasa_http: httpx.AsyncClient, fake_rasa: FakeRasa, key: str
) -> None:
    gateway = Gateway(
        database,
        RasaClient(fake_rasa.url, rasa_http, 5.0),
        duplicate_wait_seconds=5.0,
        cipher=DataCipher(key),
    )
    await gateway.handle_inbound("web", "warga-1", COMPLAINT, message_id="m-nik")

    (call,) = fake_rasa.webhook_calls
    assert call["message"] == MASKED_COMPLAINT  # Rasa (and so its tracker) never sees the NIK
    with database.session() as session:
        inbound = session.scalars(select(Message).where(Message.direction == "in")).one()
        assert inbound.text == MASKED_COMPLAINT
        sealed = (inbound.payload or {})[nik_vault.PAYLOAD_KEY]
    assert NIK not in sealed
    assert nik_vault.unseal(sealed, DataCipher(key)) == [NIK]


async def test_without_a_key_the_nik_is_masked_and_not_kept_anywhere(
    database: Database, rasa_http: httpx.AsyncClient, fake_rasa: FakeRasa
) -> None:
    gateway = Gateway(database, RasaClient(fake_rasa.url, rasa_http, 5.0), duplicate_wait_seconds=5.0)
    await gateway.handle_inbound("web", "warga-2", COMPLAINT)

    assert fake_rasa.webhook_calls[0]["message"] == MASKED_COMPLAINT
    with database.session() as session:
        inbound = session.scalars(select(Message).where(Message.direction == "in")).one()
    assert inbound.text == MASKED_COMPLAINT
    assert nik_vault.PAYLOAD_KEY not in (inbound.payload or {})


async def test_a_complaint_from_chat_gets_the_nik_behind_its_mask_encrypted_on_the_ticket(
    database: Database, rasa_http: httpx.AsyncClient, fake_rasa: FakeRasa, key: str, tmp_path: Path
) -> None:
    gateway = Gateway(
        database,
        RasaClient(fake_rasa.url, rasa_http, 5.0),
        duplicate_wait_seconds=5.0,
        cipher=DataCipher(key),
    )
    await gateway.handle_inbound("web", "warga-1", COMPLAINT)
    # Another citizen's NIK with the same mask is never attached to this ticket.
    await gateway.handle_inbound("web", "warga-9", "NIK saya 3201 0199 0190 0001")

    # The action server files the description it got from Rasa's slot: the masked text.
    ticket = _file(database, _ticket_config(tmp_path, key), MASKED_COMPLAINT)

    assert ticket.description == MASKED_COMPLAINT
    assert ticket.nik_sealed is not None and NIK not in ticket.nik_sealed
    assert nik_vault.unseal(ticket.nik_sealed, DataCipher(key)) == [NIK]


def test_a_description_typed_with_a_nik_is_stored_masked_with_the_nik_encrypted(
    database: Database, key: str, tmp_path: Path
) -> None:
    ticket = _file(database, _ticket_config(tmp_path, key), COMPLAINT, sender_id="loket-1")

    with database.session() as session:
        stored = session.get_one(Ticket, ticket.id)
        assert stored.description == MASKED_COMPLAINT
        assert nik_vault.unseal(stored.nik_sealed, DataCipher(key)) == [NIK]
        with pytest.raises(DecryptionError):  # another key cannot read it
            nik_vault.unseal(stored.nik_sealed, DataCipher(generate_key()))


def test_without_a_key_a_ticket_keeps_only_the_masked_description(database: Database, tmp_path: Path) -> None:
    ticket = _file(database, _ticket_config(tmp_path), COMPLAINT, sender_id="loket-2")

    assert ticket.description == MASKED_COMPLAINT
    assert ticket.nik_sealed is None


def test_rotated_keys_read_old_values_and_a_bad_key_is_refused(key: str) -> None:
    old = DataCipher(key)
    token = old.encrypt(NIK)
    rotated = DataCipher(f"{generate_key()},{key}")
    assert rotated.decrypt(token) == NIK
    with pytest.raises(DecryptionError):  # new values are encrypted with the first key
        old.decrypt(rotated.encrypt(NIK))
    with pytest.raises(EncryptionKeyError):
        DataCipher("bukan-kunci")
    with pytest.raises(EncryptionKeyError):
        DataCipher(" , ")
    assert Fernet(key.encode())  # generate_key gives a real Fernet key
