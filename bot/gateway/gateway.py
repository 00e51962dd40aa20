"""The gateway: one path for every channel from a citizen's message to the bot's replies.

`handle_inbound` (1) stores the inbound message and commits before anything else, so nothing is lost and a
redelivered message (same channel and platform message id) is recognised (NIKs masked in what is stored and
sent to Rasa, sealed on the row: bot/nik_vault.py); (2) serialises the turns of one
sender; (3) sends the text to Rasa's REST channel; (4) reads the NLU result of that turn from Rasa's tracker
(not a second parse) onto the inbound row; (5) stores each reply and marks the inbound processed; (6) when
Rasa cannot answer, marks the inbound `failed` (kept for a retry) and answers with one polite message.

Messaging channels (Telegram, WhatsApp) store the inbound row earlier, in the inbox (bot/gateway/inbox.py),
and pass its id as `inbound_id`: step (1) is then skipped and the replies are stored `queued` for the
delivery worker (bot/gateway/delivery.py) instead of `sent` with the HTTP answer as on the web chat.

A duplicate gets the replies stored for the original, without a second Rasa turn. If the original is still
being answered, the duplicate waits for it (polling the database, so this also works across replicas) up to
`duplicate_wait_seconds`, then gets `MessageInProgressError` (HTTP 409 on the web-chat API). A duplicate of a
turn that failed because Rasa was down is that turn's retry (`retry_failed_turn`): answered if Rasa is back and
the conversation has not moved on, else it gets the stored apology again.

Framework-free on purpose: connectors and the web-chat route call it the same way. The database is
synchronous SQLAlchemy, so every database step runs in a worker thread and never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError

from bot import nik_vault
from bot.conversations import repository
from bot.conversations.models import Channel, Conversation, InboundStatus, Message, OutboundStatus
from bot.db import Database, utcnow
from bot.encryption import DataCipher
from bot.gateway.rasa_client import BotReply, Button, NluResult, RasaClient, RasaUnavailable, parse_buttons
from bot.log_masking import sender_label
from bot.privacy import mask_personal_data

logger = logging.getLogger(__name__)

SERVICE_UNAVAILABLE_REPLY = (
    "Mohon maaf, layanan kami sedang mengalami gangguan. "
    "Pesan Anda sudah kami simpan dan akan kami tindak lanjuti."
)
LANGUAGE = "id"
# status_reason of an inbound turn that failed because Rasa could not answer (the inbox retries those), and the
# `system` mark of the apology sent for it.
RASA_UNAVAILABLE = "rasa_unavailable"
DUPLICATE_POLL_SECONDS = 0.1
# Characters Rasa's HTTP API takes verbatim in a URL path (it does not percent-decode conversation ids).
_URL_SAFE_SENDER = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")


@dataclass(frozen=True)
class OutboundMessage:
    """A stored reply, as a channel should deliver it."""

    id: int
    text: str
    buttons: tuple[Button, ...] = ()
    image: str | None = None
    custom: Any = None


class GatewayError(Exception):
    """A message the gateway refuses to handle; `code` and the Indonesian `detail` are safe to show."""

    code = "gateway_error"
    detail = "Pesan tidak dapat diproses."


class MessageInProgressError(GatewayError):
    code = "message_in_progress"
    detail = "Pesan dengan ID yang sama masih sedang diproses. Silakan coba lagi sebentar lagi."


class MessageIdConflictError(GatewayError):
    code = "message_id_conflict"
    detail = "ID pesan ini sudah dipakai oleh pengirim lain. Gunakan ID pesan yang berbeda."


@dataclass(frozen=True)
class InboundTurn:
    """One citizen message about to be answered, as a turn interceptor sees it."""

    inbound_id: int
    channel: str
    sender_id: str
    text: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class Interception:
    """A turn answered without Rasa: the replies to store (none while an officer answers in person) and
    why, kept on the inbound row (`status_reason`)."""

    replies: list[BotReply]
    reason: str


class TurnInterceptor(Protocol):
    """Takes a turn away from Rasa (handoff to an officer, the SKM survey); None lets Rasa answer.

    Called in order, inside the sender's lock, after the inbound message is stored."""

    async def intercept(self, turn: InboundTurn) -> Interception | None: ...


@dataclass(frozen=True)
class _Duplicate:
    inbound_id: int
    sender_id: str


def conversation_key(channel: str, sender_id: str) -> str:
    """Rasa's conversation id for a channel identity: `<channel>:<sender_id>`, stable across restarts.

    Rasa uses the id verbatim in `/conversations/<id>/tracker`, so a sender id with other characters than
    letters, digits, `_ . -` (possible on the web chat) is replaced by a hash of it.
    """
    if _URL_SAFE_SENDER.match(sender_id):
        return f"{channel}:{sender_id}"
    return f"{channel}:h-{hashlib.sha256(sender_id.encode()).hexdigest()[:32]}"


@dataclass(frozen=True)
class _FailedTurn:
    channel: str
    sender_id: str
    text: str
    message_id: str | None
    metadata: dict[str, Any] | None


class Gateway:
    def __init__(
        self,
        database: Database,
        rasa: RasaClient,
        duplicate_wait_seconds: float,
        *,
        retry_failed_max_age_seconds: float = 3600.0,
        retry_failed_max_attempts: int = 5,
        cipher: DataCipher | None = None,
    ) -> None:
        self.database = database
        # Seals the NIKs of inbound messages (bot/nik_vault.py); None = NIKs are kept masked only.
        self.cipher = cipher
        self.rasa = rasa
        self.duplicate_wait_seconds = duplicate_wait_seconds
        # Which turns that failed because Rasa was down may still be answered (settings INBOX_RETRY_FAILED_*).
        self.retry_failed_max_age_seconds = retry_failed_max_age_seconds
        self.retry_failed_max_attempts = retry_failed_max_attempts
        self.interceptors: list[TurnInterceptor] = []
        # Called when Rasa answers a turn after a turn found it down (the inbox then retries failed turns).
        self.rasa_back_listeners: list[Callable[[], None]] = []
        self._rasa_down_seen = False
        # One lock per sender, alive only while some turn of that sender holds a reference to it.
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def handle_inbound(
        self,
        channel: str,
        sender_id: str,
        text: str,
        message_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        *,
        inbound_id: int | None = None,
        claim_owner: str | None = None,
    ) -> list[OutboundMessage]:
        """One citizen turn; the bot's replies, stored. `inbound_id`: the row the inbox already stored
        (and claimed, as `claim_owner`) for this message; its replies are then queued for the delivery
        worker, and stored only while the claim is still that owner's."""
        reply_status = OutboundStatus.SENT
        # NIKs reach neither the stored text nor Rasa (its tracker): masked, and sealed on the stored row.
        protected = nik_vault.protect(text, self.cipher)
        text = protected.text
        if inbound_id is None:
            stored = await asyncio.to_thread(
                self._store_inbound, channel, sender_id, text, message_id, metadata, protected.sealed
            )
            if isinstance(stored, _Duplicate):
                if stored.sender_id != sender_id:
                    # Never hand one citizen's replies to another who reuses a message id.
                    raise MessageIdConflictError()
                retried = await self.retry_failed_turn(stored.inbound_id)
                if retried:
                    return retried
                logger.info("duplicate inbound %s/%s: returning the stored replies", channel, message_id)
                return await self._replies_of_duplicate(stored)
            inbound_id = stored
        else:
            reply_status = OutboundStatus.QUEUED
        logger.info("inbound #%d from %s", inbound_id, sender_label(channel, sender_id))
        logger.debug("inbound #%d text: %s", inbound_id, mask_personal_data(text))
        async with self._lock_for(channel, sender_id):
            return await self._answer(
                inbound_id, channel, sender_id, text, message_id, metadata, reply_status, claim_owner
            )

    async def retry_failed_turn(
        self, inbound_id: int, reply_status: OutboundStatus = OutboundStatus.SENT
    ) -> list[OutboundMessage]:
        """Answer again a web-chat turn that failed because Rasa was down; its new replies, or [] when it may
        not be tried again (answered, superseded by a later answered message, too old, out of tries, claimed
        by another worker) or Rasa is still down (no second apology is stored)."""
        turn = await asyncio.to_thread(self._failed_turn, inbound_id)
        if turn is None:
            return []
        try:
            await self.rasa.status()
        except RasaUnavailable:
            return []  # still down: a client retrying every few seconds must not use up the tries
        async with self._lock_for(turn.channel, turn.sender_id):
            if not await asyncio.to_thread(self._claim_failed_turn, inbound_id):
                return []
            logger.info("inbound #%d: answering again after Rasa was unavailable", inbound_id)
            return await self._answer(
                inbound_id,
                turn.channel,
                turn.sender_id,
                turn.text,
                turn.message_id,
                turn.metadata,
                reply_status,
            )

    async def notify(
        self,
        channel: str,
        sender_id: str,
        text: str,
        key: str,
        buttons: list[dict[str, str]] | None = None,
        payload: dict[str, Any] | None = None,
    ) -> tuple[OutboundMessage, bool]:
        """Store a message to the citizen that no inbound message asked for; (message, created).

        Idempotent on `key`: a retried notification returns the first one. The web chat picks queued
        messages up with `updates_for`; the messaging connectors deliver them to their platform.
        `payload`: extra fields kept on the stored row (e.g. who wrote it: an officer during a handoff).
        """
        return await asyncio.to_thread(
            self._store_notification, channel, sender_id, text, key, buttons, payload
        )

    async def updates_for(
        self, channel: str, sender_id: str, after_id: int, limit: int = 50
    ) -> list[OutboundMessage]:
        return await asyncio.to_thread(self._outbound_after, channel, sender_id, after_id, limit)

    def _lock_for(self, channel: str, sender_id: str) -> asyncio.Lock:
        lock = self._locks.get((channel, sender_id))
        if lock is None:
            lock = asyncio.Lock()
            self._locks[(channel, sender_id)] = lock
        return lock

    async def _answer(
        self,
        inbound_id: int,
        channel: str,
        sender_id: str,
        text: str,
        message_id: str | None,
        metadata: dict[str, Any] | None,
        reply_status: OutboundStatus,
        claim_owner: str | None = None,
    ) -> list[OutboundMessage]:
        key = conversation_key(channel, sender_id)
        rasa_metadata: dict[str, Any] = {
            **(metadata or {}),
            "channel": channel,
            "sender_id": sender_id,
            "platform_message_id": message_id,
            "language": LANGUAGE,
            # Lets us check that the tracker's latest message is this turn, not a later one.
            "turn_id": str(inbound_id),
        }
        turn = InboundTurn(inbound_id, channel, sender_id, text, rasa_metadata)
        for interceptor in self.interceptors:
            interception = await interceptor.intercept(turn)
            if interception is not None:
                return await asyncio.to_thread(
                    self._store_replies,
                    inbound_id,
                    interception.replies,
                    None,
                    reply_status,
                    interception.reason,
                    claim_owner,
                )
        async with self.rasa.turn():  # webhook and tracker on one server, even across a blue/green switch
            try:
                replies = await self.rasa.send_message(key, text, rasa_metadata, input_channel=channel)
            except RasaUnavailable as error:
                logger.warning("inbound #%d: Rasa unavailable (%s); marked failed", inbound_id, error)
                self._rasa_down_seen = True
                return await asyncio.to_thread(self._store_failure, inbound_id, reply_status, claim_owner)
            self._rasa_answered()
            nlu = await self._turn_nlu(key, inbound_id, text)
        return await asyncio.to_thread(
            self._store_replies, inbound_id, replies, nlu, reply_status, None, claim_owner
        )

    def _rasa_answered(self) -> None:
        if not self._rasa_down_seen:
            return
        self._rasa_down_seen = False
        for listener in self.rasa_back_listeners:
            listener()

    async def _turn_nlu(self, key: str, inbound_id: int, text: str) -> NluResult | None:
        try:
            nlu = await self.rasa.latest_nlu(key)
        except RasaUnavailable as error:
            # The replies are there; only the analytics of this turn are missing.
            logger.warning("inbound #%d: tracker unavailable (%s); NLU result not stored", inbound_id, error)
            return None
        if nlu is None:
            return None
        turn_id = nlu.metadata.get("turn_id")
        if turn_id != str(inbound_id) and not (turn_id is None and nlu.text == text):
            logger.warning(
                "inbound #%d: tracker's latest message is another turn; NLU result not stored", inbound_id
            )
            return None
        return nlu

    # --- database steps (run in a worker thread) ---

    def _store_inbound(
        self,
        channel: str,
        sender_id: str,
        text: str,
        message_id: str | None,
        metadata: dict[str, Any] | None,
        sealed_niks: str | None = None,
    ) -> int | _Duplicate:
        conversation_id = self.conversation_id(channel, sender_id)
        if message_id is not None:
            with self.database.session() as session:
                existing = repository.find_inbound(session, channel, message_id)
                if existing is not None:
                    return _Duplicate(existing.id, existing.sender_id)
        payload: dict[str, Any] = {"metadata": metadata} if metadata else {}
        if sealed_niks is not None:
            payload[nik_vault.PAYLOAD_KEY] = sealed_niks
        try:
            with self.database.session() as session:
                conversation = session.get_one(Conversation, conversation_id)
                return repository.add_inbound(session, conversation, text, message_id, payload or None).id
        except IntegrityError:
            if message_id is None:
                raise
        # A concurrent delivery of the same message committed first.
        with self.database.session() as session:
            existing = repository.find_inbound(session, channel, message_id)
            if existing is None:
                raise RuntimeError("inbound insert conflicted but no message holds its id")
            return _Duplicate(existing.id, existing.sender_id)

    def conversation_id(self, channel: str, sender_id: str) -> int:
        """The id of the conversation of a channel identity, created on first use (blocking: run it in a
        worker thread)."""
        with self.database.session() as session:
            conversation = repository.find_conversation(session, channel, sender_id)
            if conversation is not None:
                return conversation.id
        try:
            with self.database.session() as session:
                return repository.add_conversation(session, channel, sender_id).id
        except IntegrityError:
            pass  # created by a concurrent first message of the same sender
        with self.database.session() as session:
            conversation = repository.find_conversation(session, channel, sender_id)
            if conversation is None:
                raise RuntimeError("conversation insert conflicted but none exists")
            return conversation.id

    def _store_replies(
        self,
        inbound_id: int,
        replies: list[BotReply],
        nlu: NluResult | None,
        reply_status: OutboundStatus,
        reason: str | None = None,
        claim_owner: str | None = None,
    ) -> list[OutboundMessage]:
        with self.database.session() as session:
            # Locked while the claim is checked and the turn stored: a takeover waits for this commit.
            inbound = session.get_one(Message, inbound_id, with_for_update=claim_owner is not None)
            if not _still_claimed(inbound, claim_owner):
                return []
            if nlu is not None:
                inbound.intent = nlu.intent
                inbound.intent_confidence = nlu.intent_confidence
                inbound.faq_topic = nlu.faq_topic
                inbound.faq_confidence = nlu.faq_confidence
                if (top_two := nlu.top_two()) is not None:  # for the NLU inbox (bot/modelops/inbox.py)
                    inbound.payload = {**(inbound.payload or {}), "nlu_top_two": top_two}
            stored = [
                repository.add_outbound(
                    session, inbound, reply.text or "", _reply_payload(reply), status=reply_status
                )
                for reply in replies
            ]
            inbound.status = InboundStatus.PROCESSED
            inbound.claimed_by, inbound.claimed_at = None, None
            if reason is not None:
                inbound.status_reason = reason
            return [outbound_message(message) for message in stored]

    def _store_notification(
        self,
        channel: str,
        sender_id: str,
        text: str,
        key: str,
        buttons: list[dict[str, str]] | None,
        extra: dict[str, Any] | None = None,
    ) -> tuple[OutboundMessage, bool]:
        conversation_id = self.conversation_id(channel, sender_id)
        try:
            with self.database.session() as session:
                conversation = session.get_one(Conversation, conversation_id)
                payload: dict[str, Any] = dict(extra or {})
                if buttons:
                    payload["buttons"] = buttons
                message = repository.add_notification(session, conversation, text, payload or None, key)
                return outbound_message(message), True
        except IntegrityError:
            pass  # the same notification was stored before (retry) or concurrently
        with self.database.session() as session:
            existing = repository.find_notification(session, channel, key)
            if existing is None:
                raise RuntimeError("notification insert conflicted but none exists")
            return outbound_message(existing), False

    def _outbound_after(
        self, channel: str, sender_id: str, after_id: int, limit: int
    ) -> list[OutboundMessage]:
        with self.database.session() as session:
            conversation = repository.find_conversation(session, channel, sender_id)
            if conversation is None:
                return []
            return [
                outbound_message(m)
                for m in repository.outbound_after(session, conversation.id, after_id, limit)
            ]

    def _store_failure(
        self, inbound_id: int, reply_status: OutboundStatus, claim_owner: str | None = None
    ) -> list[OutboundMessage]:
        """Mark the turn failed for a retry (bot/gateway/inbox.py) and apologise, once per message: a retry
        that finds Rasa still down adds no second apology."""
        with self.database.session() as session:
            inbound = session.get_one(Message, inbound_id, with_for_update=claim_owner is not None)
            if not _still_claimed(inbound, claim_owner):
                return []
            inbound.claimed_by, inbound.claimed_at = None, None
            inbound.status = InboundStatus.FAILED
            inbound.status_reason = RASA_UNAVAILABLE
            replies = repository.replies_to(session, inbound_id)
            if any((reply.payload or {}).get("system") == RASA_UNAVAILABLE for reply in replies):
                return []
            apology = repository.add_outbound(
                session,
                inbound,
                SERVICE_UNAVAILABLE_REPLY,
                {"system": RASA_UNAVAILABLE},
                status=reply_status,
            )
            return [outbound_message(apology)]

    def _failed_turn(self, inbound_id: int) -> _FailedTurn | None:
        with self.database.session() as session:
            inbound = session.get(Message, inbound_id)
            # Messaging channels are retried by the inbox, which rebuilds their metadata from the stored event.
            if inbound is None or inbound.channel != Channel.WEB or inbound.status_reason != RASA_UNAVAILABLE:
                return None
            metadata = (inbound.payload or {}).get("metadata")
            return _FailedTurn(
                inbound.channel,
                inbound.sender_id,
                inbound.text,
                inbound.platform_message_id,
                metadata if isinstance(metadata, dict) else None,
            )

    def _claim_failed_turn(self, inbound_id: int) -> bool:
        now = utcnow()
        since = now - timedelta(seconds=self.retry_failed_max_age_seconds)
        with self.database.session() as session:
            claimed = repository.claim_failed_turn(
                session,
                inbound_id,
                [Channel.WEB],
                RASA_UNAVAILABLE,
                since,
                self.retry_failed_max_attempts,
                now,
            )
            return claimed is not None

    def _stored_turn(self, inbound_id: int) -> tuple[str, list[OutboundMessage]]:
        with self.database.session() as session:
            inbound = session.get_one(Message, inbound_id)
            replies = repository.replies_to(session, inbound_id)
            if inbound.status == InboundStatus.PROCESSED:
                # Answered on a retry: the apology for the first try is history, not part of the answer.
                replies = [m for m in replies if (m.payload or {}).get("system") != RASA_UNAVAILABLE]
            return inbound.status, [outbound_message(m) for m in replies]

    async def _replies_of_duplicate(self, duplicate: _Duplicate) -> list[OutboundMessage]:
        deadline = time.monotonic() + self.duplicate_wait_seconds
        while True:
            status, replies = await asyncio.to_thread(self._stored_turn, duplicate.inbound_id)
            if status not in (InboundStatus.RECEIVED, InboundStatus.PROCESSING):
                return replies
            if time.monotonic() >= deadline:
                raise MessageInProgressError()
            await asyncio.sleep(DUPLICATE_POLL_SECONDS)


def _still_claimed(inbound: Message, claim_owner: str | None) -> bool:
    """Whether the worker holding `claim_owner`'s claim still has the row (it was not taken over)."""
    if claim_owner is None:
        return True
    if inbound.status == InboundStatus.PROCESSING and inbound.claimed_by == claim_owner:
        return True
    logger.warning("inbound #%d was taken over by another worker; its turn is not stored", inbound.id)
    return False


def _reply_payload(reply: BotReply) -> dict[str, Any] | None:
    payload: dict[str, Any] = {}
    if reply.buttons:
        payload["buttons"] = [{"title": b.title, "payload": b.payload} for b in reply.buttons]
    if reply.image is not None:
        payload["image"] = reply.image
    if reply.attachment is not None:
        payload["attachment"] = reply.attachment
    if reply.custom is not None:
        payload["custom"] = reply.custom
    return payload or None


def outbound_message(message: Message) -> OutboundMessage:
    """A stored outbound row as a channel delivers it."""
    payload = message.payload or {}
    image = payload.get("image")
    return OutboundMessage(
        id=message.id,
        text=message.text,
        buttons=parse_buttons(payload.get("buttons")),
        image=image if isinstance(image, str) else None,
        custom=payload.get("custom"),
    )
