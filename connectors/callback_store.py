"""Short ids for button payloads, so Telegram's `callback_data` (at most 64 bytes) can carry any payload.

A Rasa payload such as `/inform{"category":"infrastruktur","detail":"..."}` may be longer than 64 bytes, and
what a button carries is visible to (and forgeable by) the client. So a button carries only a short id; the
payload stays in the `callback_payloads` table.

The id is derived from the payload (a truncated SHA-256), so the same payload always gets the same id: the
table grows with the number of distinct payloads, not with the number of messages, every replica computes
the same id, a concurrent insert of the same row is harmless, and a mapping never changes (safe to cache).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, Database, utcnow

logger = logging.getLogger(__name__)

# Marks callback data that is a short id (anything else is taken as a literal payload; see `resolve`).
ID_PREFIX = "p:"
ID_DIGEST_BYTES = 12  # 96 bits: collisions are out of reach for any realistic number of payloads
ID_LENGTH = len(ID_PREFIX) + len(base64.urlsafe_b64encode(bytes(ID_DIGEST_BYTES)))
CACHE_SIZE = 4096


class CallbackPayload(Base):
    __tablename__ = "callback_payloads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def short_id(payload: str) -> str:
    """The id of a payload: `p:` + 16 URL-safe base64 characters (18 bytes, well under 64)."""
    digest = hashlib.sha256(payload.encode()).digest()[:ID_DIGEST_BYTES]
    return ID_PREFIX + base64.urlsafe_b64encode(digest).decode()


def is_short_id(data: str) -> bool:
    return data.startswith(ID_PREFIX) and len(data) == ID_LENGTH


class CallbackStore:
    """Maps payloads to short ids and back. Synchronous (database I/O): call it from a worker thread."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._cache: OrderedDict[str, str] = OrderedDict()  # id -> payload, known to be stored
        self._lock = threading.Lock()

    def register(self, payloads: Iterable[str]) -> list[str]:
        """The short id of each payload, in order, storing the mappings not stored yet."""
        payloads = list(payloads)
        ids = [short_id(payload) for payload in payloads]
        missing = {i: p for i, p in zip(ids, payloads, strict=True) if self._cached(i) is None}
        if missing:
            self._store(missing)
        return ids

    def resolve(self, data: str) -> str | None:
        """The payload behind a button's callback data.

        A short id gives its stored payload, or None when it is unknown (made up by the client, or from a
        wiped database). Other data is returned as it is: buttons sent before short ids existed carried the
        payload itself, and such data is no more than what the citizen could type.
        """
        if not is_short_id(data):
            return data
        cached = self._cached(data)
        if cached is not None:
            return cached
        with self.database.session() as session:
            payload = session.scalar(select(CallbackPayload.payload).where(CallbackPayload.id == data))
        if payload is not None:
            self._remember(data, payload)
        return payload

    def _store(self, mappings: dict[str, str]) -> None:
        with self.database.session() as session:
            stored = set(
                session.scalars(select(CallbackPayload.id).where(CallbackPayload.id.in_(list(mappings))))
            )
        new = {i: p for i, p in mappings.items() if i not in stored}
        for id_, payload in new.items():
            try:
                with self.database.session() as session:
                    session.add(CallbackPayload(id=id_, payload=payload))
            except IntegrityError:
                pass  # stored concurrently by another request or replica: same id, same payload
        for id_, payload in mappings.items():
            self._remember(id_, payload)

    def _cached(self, id_: str) -> str | None:
        with self._lock:
            payload = self._cache.get(id_)
            if payload is not None:
                self._cache.move_to_end(id_)
            return payload

    def _remember(self, id_: str, payload: str) -> None:
        with self._lock:
            self._cache[id_] = payload
            self._cache.move_to_end(id_)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
