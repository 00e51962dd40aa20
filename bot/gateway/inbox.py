"""The inbox of the messaging channels (Telegram, WhatsApp): persist first, answer the platform, then process.

A webhook route verifies the request, parses it with its connector and calls `accept` for each
`InboundEvent` (or `accept_events` for everything `parse_webhook` returned, delivery reports included).
`accept` stores the event as an inbound row (unique on channel and platform message id, so a redelivery,
also a concurrent one, is a no-op returning False), schedules the processing and returns at once, so the
route can answer 200 before the platform's timeout.

Processing runs per sender, strictly in the order the messages were stored, one at a time: a worker claims
the sender's oldest unfinished row with one guarded UPDATE (received -> processing), so of several tasks,
replicas or start-up recoveries exactly one processes it. Then:
- an edit is kept (linked to the original) and never becomes a turn (status `skipped`, reason `edited`);
- beyond `rate_limit` messages per `rate_window_seconds` the message is kept but not sent to Rasa, and the
  citizen gets one friendly note per window;
- an unsupported kind (sticker, voice note ...) gets one polite note of what works;
- photos and documents are downloaded through the connector (size-capped), checked and staged (bot/media);
  a message with no text gets a placeholder ("[foto]", "[dokumen]", "[lokasi]", "[kontak]") so Rasa's
  forms still see a turn;
- the turn goes through `Gateway.handle_inbound` with the stored row's id and the metadata the actions
  read (`location`, `contact`, `attachments`); the replies are queued and sent by the delivery worker.
Every new event is also handed to `connector.acknowledge` at once (Telegram: answerCallbackQuery, so the
button's spinner stops whatever happens next).

Crash safety: each claim names its owner (bot/workers: host, pid, boot id) and is renewed by the process's
heartbeat; a row left `processing` by a process that died is taken over at once by a new process on the same
host, and by any worker once its owner has been silent for `claim_stale_seconds`. `recover` (run at start-up,
and every `sweep_seconds`) restarts the processing of every unfinished row. A turn whose replies were not
stored before a crash is sent to Rasa again (at-least-once towards Rasa); replies are stored together with
the `processed` status, and only while the claim is still ours, so they are never stored twice. A database
error while processing hands the row back (status `received`) for another try instead of failing it; any
other error marks it `failed` ("error: ..."), and the sweeps try such rows again like the ones below.

Rasa down: the gateway marks the turn `failed` and the citizen gets one apology ("pesan Anda sudah kami
simpan"). As soon as Rasa answers any turn again (and at each sweep that finds such messages and gets an
answer from Rasa's /status), they are queued again and answered in order, if at most
`retry_failed_max_age_seconds` old, tried fewer than `retry_failed_max_attempts` times, and no later message
of the citizen has been answered meanwhile (answering it then would be out of order: it stays failed as
`superseded`). Before a citizen's newer message is taken, that citizen's retryable failed messages are
queued again ahead of it (when Rasa answers), so a quick follow-up does not overtake them. A retry that meets
Rasa down again sends no second apology. The web chat has no inbox: its citizen sees the apology at once and
writes again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot import nik_vault
from bot.conversations import repository
from bot.conversations.models import Channel, Conversation, Direction, InboundStatus, Message, OutboundStatus
from bot.conversations.repository import as_utc
from bot.db import Database, utcnow
from bot.gateway.delivery import Delivery
from bot.gateway.gateway import RASA_UNAVAILABLE, Gateway
from bot.gateway.rasa_client import RasaUnavailable
from bot.log_masking import sender_label
from bot.media import staging
from bot.media.models import MediaKind
from bot.media.staging import AttachmentRejected, StagedMedia
from bot.settings import Settings
from bot.workers.claims import ClaimPolicy, is_transient
from bot.workers.owner import Owner, current_owner
from bot.workers.pool import AGAIN, KeyedWorkerPool, Periodic, StepResult, Wait
from connectors.base import Attachment, AttachmentKind, Connector, EventKind, InboundEvent, StatusEvent

logger = logging.getLogger(__name__)

PLACEHOLDER_TEXT = {AttachmentKind.IMAGE: "[foto]", AttachmentKind.DOCUMENT: "[dokumen]"}
LOCATION_TEXT = "[lokasi]"
CONTACT_TEXT = "[kontak]"
EMPTY_TEXT = "[pesan kosong]"

UNSUPPORTED_NOTE = (
    "Mohon maaf, jenis pesan ini belum dapat kami proses. Silakan kirim pesan teks atau pilih tombol yang "
    "tersedia. Anda juga dapat mengirim foto, dokumen PDF, lokasi, atau kontak."
)
RATE_LIMIT_NOTE = (
    "Mohon maaf, Bapak/Ibu mengirim terlalu banyak pesan dalam waktu singkat. Mohon tunggu sekitar satu "
    "menit, lalu kirim kembali pertanyaan Anda. Pesan yang masuk selama jeda ini tersimpan, tetapi belum "
    "kami jawab."
)
MEDIA_NOTES = {
    "too_large": "Mohon maaf, berkas Anda melebihi batas {max_mb} MB sehingga tidak dapat kami terima. "
    "Silakan kirim berkas yang lebih kecil.",
    "unsupported_type": "Mohon maaf, jenis berkas ini tidak dapat kami terima. Silakan kirim foto (JPG/PNG) "
    "atau dokumen PDF.",
    "empty": "Mohon maaf, berkas yang Anda kirim kosong. Silakan kirim ulang.",
    "download_failed": "Mohon maaf, berkas Anda gagal kami terima. Silakan kirim ulang beberapa saat lagi.",
}

SKIP_EDITED = "edited"
SKIP_RATE_LIMITED = "rate_limited"
SKIP_UNSUPPORTED = "unsupported"
SKIP_MEDIA_REJECTED = "media_rejected"


@dataclass(frozen=True)
class InboxConfig:
    attachments_dir: Path
    media_max_bytes: int = 10 * 1024 * 1024
    rate_limit: int = 20
    rate_window_seconds: float = 60.0
    sweep_seconds: float = 10.0
    heartbeat_seconds: float = 5.0
    claim_stale_seconds: float = 20.0
    retry_failed_max_age_seconds: float = 3600.0
    retry_failed_max_attempts: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> InboxConfig:
        return cls(
            attachments_dir=settings.attachments_dir,
            media_max_bytes=settings.channel_media_max_bytes,
            rate_limit=settings.inbound_rate_limit,
            rate_window_seconds=settings.inbound_rate_window_seconds,
            sweep_seconds=settings.inbox_sweep_seconds,
            heartbeat_seconds=settings.worker_heartbeat_seconds,
            claim_stale_seconds=settings.worker_claim_stale_seconds,
            retry_failed_max_age_seconds=settings.inbox_retry_failed_max_age_seconds,
            retry_failed_max_attempts=settings.inbox_retry_failed_max_attempts,
        )


# --- the event as stored in the inbound row (so a recovery after a crash has all of it) ---


def event_to_payload(event: InboundEvent) -> dict[str, Any]:
    data = asdict(event)
    data["received_at"] = event.received_at.isoformat() if event.received_at else None
    # Connector metadata is the platform's raw data: keep what JSON can hold.
    data["metadata"] = json.loads(json.dumps(event.metadata, default=str))
    return data


def event_from_payload(data: dict[str, Any]) -> InboundEvent:
    fields = dict(data)
    fields["kind"] = EventKind(fields["kind"])
    fields["attachments"] = tuple(
        Attachment(**{**item, "kind": AttachmentKind(item["kind"])})
        for item in fields.get("attachments") or ()
    )
    received_at = fields.get("received_at")
    fields["received_at"] = datetime.fromisoformat(received_at) if received_at else None
    return InboundEvent(**fields)


def effective_text(event: InboundEvent) -> str:
    """What Rasa gets: the typed text or button payload, else a placeholder naming what was sent."""
    text = event.text.replace("\x00", "").strip()  # PostgreSQL cannot store NUL
    if text:
        return text
    if event.attachments:
        return PLACEHOLDER_TEXT.get(event.attachments[0].kind, "[dokumen]")
    if event.latitude is not None and event.longitude is not None:
        return LOCATION_TEXT
    if event.contact_phone or event.contact_name:
        return CONTACT_TEXT
    return EMPTY_TEXT


def rasa_metadata(event: InboundEvent, staged: list[StagedMedia]) -> dict[str, Any]:
    """The keys the actions read (actions/complaint.py): location, contact, attachments."""
    metadata: dict[str, Any] = {}
    if event.latitude is not None and event.longitude is not None:
        metadata["location"] = {"latitude": event.latitude, "longitude": event.longitude}
    if event.contact_phone or event.contact_name:
        metadata["contact"] = {"phone_number": event.contact_phone, "name": event.contact_name}
    if staged:
        metadata["attachments"] = [
            {"id": media.id, "kind": media.kind, "mime_type": media.mime_type} for media in staged
        ]
    if event.raw_type:
        metadata["message_type"] = event.raw_type
    return metadata


@dataclass(frozen=True)
class _Claimed:
    id: int
    conversation_id: int
    channel: str
    sender_id: str
    platform_message_id: str | None
    text: str
    created_at: datetime
    event: InboundEvent | None


Key = tuple[str, str]
# After a database error handed a row back, its worker looks again this much later.
DATABASE_RETRY_SECONDS = 1.0


class Inbox:
    def __init__(
        self,
        database: Database,
        gateway: Gateway,
        delivery: Delivery,
        connectors: Mapping[str, Connector],
        config: InboxConfig,
        owner: Owner | None = None,
    ) -> None:
        self.database = database
        self.gateway = gateway
        self.delivery = delivery
        self.connectors = connectors
        self.config = config
        self.claims = ClaimPolicy(
            owner or current_owner(), config.heartbeat_seconds, config.claim_stale_seconds
        )
        self.pool: KeyedWorkerPool[Key] = KeyedWorkerPool("inbox", self._step)
        self._web_retry: asyncio.Task[None] | None = None
        self._retry: asyncio.Task[None] | None = None
        self._sweeper = Periodic("inbox-sweeper", self.recover, config.sweep_seconds)
        self._heartbeat = Periodic("inbox-heartbeat", self.renew_claims, config.heartbeat_seconds)
        gateway.rasa_back_listeners.append(self.retry_failed_soon)

    @property
    def _tasks(self) -> set[asyncio.Task[None]]:
        return self.pool.tasks

    # --- what the webhook routes call ---

    async def accept(self, event: InboundEvent) -> bool:
        """Persist the event and schedule its processing; False for a redelivery (nothing else happens)."""
        inbound_id = await asyncio.to_thread(self._persist, event)
        if inbound_id is None:
            logger.info("duplicate %s event %s ignored", event.channel, event.platform_message_id)
            return False
        logger.info(
            "inbound #%d (%s %s) from %s",
            inbound_id,
            event.kind.value,
            event.raw_type or "-",
            sender_label(event.channel, event.sender_id),
        )
        self.pool.spawn(self._acknowledge(event), f"ack-{event.channel}")
        self.kick(event.channel, event.sender_id)
        return True

    async def accept_events(self, events: Iterable[InboundEvent | StatusEvent]) -> int:
        """Everything a connector parsed from one webhook body; how many new inbound messages."""
        accepted = 0
        for event in events:
            if isinstance(event, StatusEvent):
                await self.delivery.record_status(event)
            elif await self.accept(event):
                accepted += 1
        return accepted

    # --- life cycle ---

    async def start(self) -> None:
        """Start-up recovery, then a periodic sweep for rows whose processing was lost."""
        self.pool.open()
        self._heartbeat.start()
        await self._sweeper.run_once()
        self._sweeper.start()

    async def close(self) -> None:
        await self._sweeper.close()
        await self.pool.close()
        await self._heartbeat.close()

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until nothing is being processed (tests, graceful shutdown)."""
        await self.pool.drain(timeout)

    async def renew_claims(self) -> int:
        """The heartbeat of this process's messages in processing."""
        return await asyncio.to_thread(self._renew_claims)

    async def recover(self) -> int:
        """Process every unfinished inbound row of the registered channels; how many senders had some."""
        channels = sorted(self.connectors)
        try:
            await self._retry_failed_turns(channels)
        except SQLAlchemyError:
            # The database is down (the service still starts; /health says so): the next sweep tries again.
            logger.warning("inbox: failed messages not retried (database unavailable)", exc_info=True)
        if not channels:
            return 0
        identities = await asyncio.to_thread(self._identities_with_unfinished, channels)
        for channel, sender_id in identities:
            self.kick(channel, sender_id)
        if identities:
            logger.info("inbox recovery: %d sender(s) with unprocessed messages", len(identities))
        return len(identities)

    def retry_failed_soon(self) -> None:
        """Rasa answered again after failing: queue the failed messages again now, not at the next sweep."""
        if self.pool.closing or (self._retry is not None and not self._retry.done()):
            return
        self._retry = self.pool.spawn(self._retry_failed_turns(sorted(self.connectors)), "inbox-retry")

    def _retry_limits(self) -> tuple[str, datetime, int]:
        since = utcnow() - timedelta(seconds=self.config.retry_failed_max_age_seconds)
        return RASA_UNAVAILABLE, since, self.config.retry_failed_max_attempts

    async def _retry_failed_turns(self, channels: list[str]) -> None:
        """Messages answered with the "gangguan" apology (or failed on an error) go back to the queue once
        Rasa answers again.

        Web-chat messages have no queue here: the gateway answers them one by one, and their replies wait,
        queued, for the web client's next `GET /api/v1/chat/updates` (its session's sender)."""
        limits = self._retry_limits()
        if not await asyncio.to_thread(
            self._in_session, repository.has_failed_turns, [*channels, Channel.WEB], *limits
        ):
            return
        try:
            await self.gateway.rasa.status()
        except RasaUnavailable:
            return  # still down: try again at the next sweep, without spending an attempt
        requeued, superseded = await asyncio.to_thread(
            self._in_session, repository.requeue_failed_turns, channels, *limits
        )
        if requeued or superseded:
            logger.info(
                "inbox: Rasa is back; %d failed message(s) queued again, %d left (a later one was answered)",
                requeued,
                superseded,
            )
            for channel, sender_id in await asyncio.to_thread(self._identities_with_unfinished, channels):
                self.kick(channel, sender_id)
        web_turns = await asyncio.to_thread(
            self._in_session, repository.failed_turn_ids, [Channel.WEB], *limits
        )
        if web_turns and not self.pool.closing and (self._web_retry is None or self._web_retry.done()):
            # In the background: each is a Rasa turn, and start-up must not wait for them.
            self._web_retry = self.pool.spawn(self._retry_web_turns(web_turns), "inbox-web-retry")

    async def _requeue_senders_failures(self, channel: str, sender_id: str) -> None:
        """Before a citizen's next message is taken, their retryable failed messages go back to the queue
        ahead of it (if Rasa answers): a quick follow-up must not overtake, and so supersede, them."""
        limits = self._retry_limits()
        if not await asyncio.to_thread(
            self._in_session, repository.has_failed_turns, [channel], *limits, sender_id
        ):
            return
        try:
            await self.gateway.rasa.status()
        except RasaUnavailable:
            return
        await asyncio.to_thread(
            self._in_session, repository.requeue_failed_turns, [channel], *limits, sender_id
        )

    async def _retry_web_turns(self, inbound_ids: list[int]) -> None:
        for inbound_id in inbound_ids:
            if self.pool.closing:
                return
            await self.gateway.retry_failed_turn(inbound_id, OutboundStatus.QUEUED)

    def _in_session(self, step: Any, *arguments: Any) -> Any:
        with self.database.session() as session:
            return step(session, *arguments)

    def kick(self, channel: str, sender_id: str) -> None:
        """Make sure the sender's unfinished messages are being processed (idempotent)."""
        self.pool.kick((channel, sender_id))

    async def _acknowledge(self, event: InboundEvent) -> None:
        connector = self.connectors.get(event.channel)
        if connector is None:
            return
        try:
            await connector.acknowledge(event)
        except Exception as error:  # the turn goes on; a spinner that keeps turning is all that is lost
            logger.warning("acknowledge of %s event failed: %s", event.channel, type(error).__name__)

    # --- one sender's messages ---

    async def _step(self, key: Key) -> StepResult:
        channel, sender_id = key
        await self._requeue_senders_failures(channel, sender_id)
        claimed = await asyncio.to_thread(self._claim_next, channel, sender_id)
        if claimed is None:
            return None
        if not await self._process_claimed(claimed):
            return Wait(DATABASE_RETRY_SECONDS)  # handed back after a database error: not at once
        return AGAIN

    async def _process_claimed(self, claimed: _Claimed) -> bool:
        """Process one claimed row; False when a database error handed it back for another try."""
        try:
            await self._process(claimed)
        except asyncio.CancelledError:
            # Shutting down: hand the row back so the next start processes it.
            try:
                self._finish(claimed.id, InboundStatus.RECEIVED, None)
            except Exception:  # the database is away: the next start takes the claim over (owner gone)
                logger.warning("inbound #%d: could not be handed back at shutdown", claimed.id)
            raise
        except Exception as error:
            if is_transient(error):
                # If this write fails too, the step raises: the pool tries again, and this worker takes its
                # own claim back.
                logger.warning("inbound #%d: database unavailable (%s); handed back", claimed.id, error)
                await asyncio.to_thread(self._finish, claimed.id, InboundStatus.RECEIVED, None)
                return False
            logger.exception("inbound #%d: processing failed", claimed.id)
            await asyncio.to_thread(
                self._finish,
                claimed.id,
                InboundStatus.FAILED,
                f"{repository.ERROR_REASON_PREFIX} {type(error).__name__}",
            )
        finally:
            self.delivery.kick(claimed.channel, claimed.sender_id)
        return True

    async def _process(self, claimed: _Claimed) -> None:
        event = claimed.event
        if event is None:
            await asyncio.to_thread(self._finish, claimed.id, InboundStatus.FAILED, "no stored event")
            return
        if event.kind is EventKind.EDITED:
            await asyncio.to_thread(self._finish, claimed.id, InboundStatus.SKIPPED, SKIP_EDITED)
            return
        if await asyncio.to_thread(self._over_rate_limit, claimed):
            await asyncio.to_thread(self._rate_limited, claimed)
            return
        if event.kind is EventKind.UNSUPPORTED:
            await asyncio.to_thread(
                self._note, claimed, UNSUPPORTED_NOTE, SKIP_UNSUPPORTED, f"unsupported:{claimed.id}", True
            )
            return
        staged, rejected = await self._stage_attachments(claimed, event)
        if rejected is not None:
            note = MEDIA_NOTES[rejected].format(max_mb=self.config.media_max_bytes // (1024 * 1024))
            nothing_else = not staged and claimed.text in PLACEHOLDER_TEXT.values()
            await asyncio.to_thread(
                self._note, claimed, note, SKIP_MEDIA_REJECTED, f"media_rejected:{claimed.id}", nothing_else
            )
            if nothing_else:
                return  # only a file we could not take: the note is the whole answer
        metadata = rasa_metadata(event, staged)
        await asyncio.to_thread(self._remember_metadata, claimed.id, metadata)
        await self.gateway.handle_inbound(
            claimed.channel,
            claimed.sender_id,
            claimed.text,
            claimed.platform_message_id,
            metadata,
            inbound_id=claimed.id,
            claim_owner=self.claims.name,
        )

    async def _stage_attachments(
        self, claimed: _Claimed, event: InboundEvent
    ) -> tuple[list[StagedMedia], str | None]:
        """Download and stage every attachment; (the staged ones, the reason of the first refusal)."""
        staged: list[StagedMedia] = []
        rejected: str | None = None
        connector = self.connectors.get(claimed.channel)
        for attachment in event.attachments:
            known = await asyncio.to_thread(
                staging.find_staged,
                self.database,
                claimed.channel,
                claimed.sender_id,
                attachment.platform_file_id,
            )
            if known is not None:
                staged.append(known)
                continue
            try:
                if connector is None:
                    raise LookupError(f"no connector for {claimed.channel}")
                if attachment.size_bytes is not None and attachment.size_bytes > self.config.media_max_bytes:
                    raise AttachmentRejected("too large (announced)", "too_large")
                downloaded = await connector.download(attachment, self.config.media_max_bytes)
                staged.append(
                    await asyncio.to_thread(
                        staging.stage,
                        self.database,
                        self.config.attachments_dir,
                        channel=claimed.channel,
                        sender_id=claimed.sender_id,
                        platform_file_id=attachment.platform_file_id,
                        kind=MediaKind(attachment.kind.value),
                        data=downloaded.content,
                        filename=downloaded.filename or attachment.filename,
                        max_bytes=self.config.media_max_bytes,
                        message_id=claimed.id,
                    )
                )
            except AttachmentRejected as error:
                logger.info("inbound #%d: attachment refused (%s)", claimed.id, error.reason)
                rejected = rejected or error.reason
            except Exception as error:  # the platform or the network failed us: tell the citizen
                logger.warning("inbound #%d: download failed (%s)", claimed.id, type(error).__name__)
                rejected = rejected or "download_failed"
        return staged, rejected

    # --- database steps (worker threads) ---

    def _persist(self, event: InboundEvent) -> int | None:
        conversation_id = self.gateway.conversation_id(event.channel, event.sender_id)
        with self.database.session() as session:
            if repository.find_inbound(session, event.channel, event.platform_message_id) is not None:
                return None
        # NIKs are stored (and so sent to Rasa) masked, and sealed on the row (bot/nik_vault.py).
        protected = nik_vault.protect(event.text, self.gateway.cipher)
        event = replace(event, text=protected.text)
        payload: dict[str, Any] = {"event": event_to_payload(event)}
        if protected.sealed is not None:
            payload[nik_vault.PAYLOAD_KEY] = protected.sealed
        try:
            with self.database.session() as session:
                if event.kind is EventKind.EDITED and event.original_message_id:
                    original = repository.find_inbound(session, event.channel, event.original_message_id)
                    if original is not None:
                        payload["edit_of"] = original.id
                conversation = session.get_one(Conversation, conversation_id)
                return repository.add_inbound(
                    session,
                    conversation,
                    effective_text(event),
                    event.platform_message_id,
                    payload,
                    opens_window=event.kind is not EventKind.EDITED,
                    sent_at=event.received_at,
                ).id
        except IntegrityError:
            pass  # a concurrent delivery of the same event committed first
        with self.database.session() as session:
            if repository.find_inbound(session, event.channel, event.platform_message_id) is None:
                raise RuntimeError("inbound insert conflicted but no message holds its id")
        return None

    def _identities_with_unfinished(self, channels: list[str]) -> list[tuple[str, str]]:
        with self.database.session() as session:
            return repository.identities_with_unfinished(session, Direction.IN, channels)

    def _renew_claims(self) -> int:
        with self.database.session() as session:
            return repository.renew_claims(session, self.claims.name, [InboundStatus.PROCESSING], utcnow())

    def _claim_next(self, channel: str, sender_id: str) -> _Claimed | None:
        for _ in range(3):
            now = utcnow()
            with self.database.session() as session:
                row = repository.next_unfinished(session, Direction.IN, channel, sender_id)
                if row is None:
                    return None
                if row.status == InboundStatus.PROCESSING:
                    if not self.claims.may_take_over(row.claimed_by, as_utc(row.claimed_at), now):
                        return None  # another worker has it; it goes on with this sender's later messages
                    logger.warning("inbound #%d: abandoned by a vanished worker; processing again", row.id)
                if repository.claim(session, row, InboundStatus.PROCESSING, now, self.claims.name):
                    return _claimed(row)
        return None

    def _finish(self, inbound_id: int, status: str, reason: str | None) -> None:
        with self.database.session() as session:
            repository.finish(
                session, inbound_id, InboundStatus.PROCESSING, status, reason, owner=self.claims.name
            )

    def _over_rate_limit(self, claimed: _Claimed) -> bool:
        since = claimed.created_at - timedelta(seconds=self.config.rate_window_seconds)
        with self.database.session() as session:
            count = repository.count_inbound_between(session, claimed.conversation_id, since, claimed.id)
        return count > self.config.rate_limit

    def _rate_limited(self, claimed: _Claimed) -> None:
        window = self.config.rate_window_seconds
        prefix = f"system:{SKIP_RATE_LIMITED}:{claimed.sender_id}:"
        with self.database.session() as session:
            since = claimed.created_at - timedelta(seconds=window)
            noted = repository.system_note_since(session, claimed.conversation_id, prefix, since)
        if noted:
            self._finish(claimed.id, InboundStatus.SKIPPED, SKIP_RATE_LIMITED)
            return
        # The key makes the note unique per fixed window, even if two workers get here at once.
        bucket = int(claimed.created_at.timestamp() // window)
        self._note(
            claimed,
            RATE_LIMIT_NOTE,
            SKIP_RATE_LIMITED,
            f"{SKIP_RATE_LIMITED}:{claimed.sender_id}:{bucket}",
            True,
        )

    def _note(self, claimed: _Claimed, text: str, reason: str, key: str, skip: bool) -> None:
        """Queue a note answering the message (once: `key` is unique); `skip`: the message is finished."""
        try:
            with self.database.session() as session:
                inbound = session.get_one(Message, claimed.id)
                repository.add_system_note(session, inbound, text, reason, f"system:{key}")
                if skip:
                    repository.finish(
                        session,
                        claimed.id,
                        InboundStatus.PROCESSING,
                        InboundStatus.SKIPPED,
                        reason,
                        owner=self.claims.name,
                    )
            return
        except IntegrityError:
            pass  # the note was stored before (processing again after a crash)
        if skip:
            self._finish(claimed.id, InboundStatus.SKIPPED, reason)

    def _remember_metadata(self, inbound_id: int, metadata: dict[str, Any]) -> None:
        if not metadata:
            return
        with self.database.session() as session:
            inbound = session.get_one(Message, inbound_id)
            inbound.payload = {**(inbound.payload or {}), "metadata": metadata}


def _claimed(row: Message) -> _Claimed:
    stored = (row.payload or {}).get("event")
    try:
        event = event_from_payload(stored) if isinstance(stored, dict) else None
    except (KeyError, TypeError, ValueError):
        logger.warning("inbound #%d: stored event unreadable", row.id)
        event = None
    return _Claimed(
        id=row.id,
        conversation_id=row.conversation_id,
        channel=row.channel,
        sender_id=row.sender_id,
        platform_message_id=row.platform_message_id,
        text=row.text,
        created_at=as_utc(row.created_at) or utcnow(),
        event=event,
    )
