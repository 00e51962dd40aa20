"""NIKs a citizen gave, kept encrypted at rest: sealed on the stored chat message, then on the ticket.

Chat text is stored and sent to Rasa with its NIKs masked (bot/nik.py), so Rasa's tracker, the action
server and `messages.text` never hold one. The NIKs of an inbound message are sealed (encrypted with
DATA_ENCRYPTION_KEY) into that message's payload. When a complaint is filed its description carries the
masked form; `protect_description` finds the NIKs behind those masks in the reporter's recent messages and
seals them onto the ticket, so the officer handling it can read what the citizen chose to give. Without a key
nothing is sealed: the NIK survives only in its masked form.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import nik
from bot.conversations import repository
from bot.conversations.models import Direction, Message
from bot.encryption import DataCipher, DecryptionError

# Key of the sealed NIKs in a stored inbound message's payload.
PAYLOAD_KEY = "nik_sealed"
# How far back a complaint's masked NIKs are looked up in the reporter's messages.
LOOKBACK = timedelta(days=7)
LOOKBACK_MESSAGES = 200


@dataclass(frozen=True)
class Protected:
    """Text with its NIKs masked and the NIKs sealed (None: there were none, or no key to seal them)."""

    text: str
    sealed: str | None


def seal(niks: Sequence[str], cipher: DataCipher | None) -> str | None:
    if not niks or cipher is None:
        return None
    return cipher.encrypt(json.dumps(list(niks)))


def unseal(token: str | None, cipher: DataCipher | None) -> list[str]:
    """The sealed NIKs; DecryptionError when they cannot be read (no key, or another key)."""
    if not token:
        return []
    if cipher is None:
        raise DecryptionError("DATA_ENCRYPTION_KEY is not set")
    value = json.loads(cipher.decrypt(token))
    return [str(item) for item in value] if isinstance(value, list) else []


def protect(text: str, cipher: DataCipher | None) -> Protected:
    redacted = nik.redact(text)
    return Protected(redacted.text, seal(redacted.niks, cipher))


def protect_inbound(
    text: str, payload: dict[str, Any] | None, cipher: DataCipher | None
) -> tuple[str, dict[str, Any] | None]:
    """An inbound chat message as it is stored and sent to Rasa: masked text, payload with the sealed NIKs."""
    protected = protect(text, cipher)
    if protected.sealed is None:
        return protected.text, payload
    return protected.text, {**(payload or {}), PAYLOAD_KEY: protected.sealed}


def _recent_sealed(session: Session, channel: str, sender_id: str, since: datetime) -> list[str]:
    conversation = repository.find_conversation(session, channel, sender_id)
    if conversation is None:
        return []
    query = (
        select(Message.payload)
        .where(
            Message.conversation_id == conversation.id,
            Message.created_at >= since,
            Message.direction == Direction.IN,
        )
        .order_by(Message.id.desc())
        .limit(LOOKBACK_MESSAGES)
    )
    return [
        payload[PAYLOAD_KEY]
        for payload in session.scalars(query)
        if isinstance(payload, dict) and isinstance(payload.get(PAYLOAD_KEY), str)
    ]


def niks_behind_masks(
    session: Session,
    channel: str,
    sender_id: str,
    masks: Sequence[str],
    cipher: DataCipher,
    now: datetime,
) -> list[str]:
    """The NIKs of the sender's recent messages whose masked form is one of `masks`."""
    wanted = set(masks)
    found: list[str] = []
    for token in _recent_sealed(session, channel, sender_id, now - LOOKBACK):
        try:
            niks = unseal(token, cipher)
        except DecryptionError:
            continue  # sealed under a key that is no longer configured
        for digits in niks:
            if nik.mask(digits) in wanted and digits not in found:
                found.append(digits)
    return found


def protect_description(
    session: Session,
    description: str,
    channel: str,
    sender_id: str,
    cipher: DataCipher | None,
    now: datetime,
) -> Protected:
    """A complaint description as a ticket stores it: NIKs masked, and sealed when a key is set, both those
    typed into it (dashboard, API) and those behind masks that came from the reporter's chat."""
    redacted = nik.redact(description)
    niks = list(redacted.niks)
    missing = [m for m in nik.masked_forms(redacted.text) if m not in {nik.mask(d) for d in niks}]
    if missing and cipher is not None:
        for digits in niks_behind_masks(session, channel, sender_id, missing, cipher, now):
            if digits not in niks:
                niks.append(digits)
    return Protected(redacted.text, seal(niks, cipher))
