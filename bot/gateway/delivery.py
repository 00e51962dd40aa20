"""Delivery of outbound messages to the messaging platforms, with retries, pacing and delivery reports.

Every outbound message is a row of `messages` (direction out) before it is sent. Its status moves
queued -> sending -> sent, and on from there with the platform's reports (delivered, read); a send that cannot
succeed ends `failed` (permanent error, or still unsent after `give_up_seconds`: `status_reason` says why,
`attempts` how often it was tried), and one refused by WhatsApp's 24-hour rule ends `needs_template`, unless
an approved template is configured (WHATSAPP_NOTIFICATION_TEMPLATE): then it goes as that template, with the
text in the template's one variable, and ends `sent` with `status_reason` "template:<name>" (kept through the
delivery reports, so the dashboard can tell). Replies of the inbox and notifications (POST
/api/v1/notifications) on a channel with a registered connector are all sent from here; web-chat rows are
not touched (the web chat polls).

Order and pacing: the messages to one chat go strictly in id order, one at a time, at most one per
`min_interval_seconds` (Telegram allows about one message per second to a chat). While the oldest one waits
for a retry, the later ones wait behind it.

One worker wins each send: claiming is one UPDATE guarded by the status and attempt count read, so tasks and
replicas never send a row twice on purpose. Each claim names its owner (bot/workers: host, pid, boot id) and
is renewed by the owner's heartbeat; a row left `sending` by a process that died is taken over at once by a
new process on the same host, and by anyone once its owner has been silent for `claim_stale_seconds`. That
one case is at-least-once: whether the platform got the call cannot be known. A send the platform accepted
is recorded even across a database outage: the bookkeeping is retried until the database answers, the
send itself is never repeated. Pacing is per process.

Flood control is not a failure: a `retry_after` from the platform (Telegram 429, WhatsApp 130429) pauses
every send of the channel (the limits are per bot and per business number) for that long, and does not
count as an attempt; a per-chat limit (WhatsApp 131056) pauses that chat only. Other transient errors are
retried with backoff. A message is given up (`failed`, with the reason) only when it is still unsent
`give_up_seconds` after it was queued; an officer can queue it again (`resend`).

Delivery reports (StatusEvent) move the state of each platform message forward only: sent < delivered < read.
`failed` is accepted only while the message is not known to have arrived (sent); a delivered or read report
after `failed` wins, because it proves the message arrived. A report that comes before the send call returned
the platform ids is kept and adopted when they are recorded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol, TypeVar, runtime_checkable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.conversations import repository
from bot.conversations.models import (
    STATUS_REASON_LENGTH,
    Conversation,
    DeliveryState,
    Direction,
    Message,
    MessageDelivery,
    OutboundStatus,
)
from bot.conversations.repository import as_utc
from bot.db import Database, utcnow
from bot.gateway.gateway import OutboundMessage, outbound_message
from bot.privacy import mask_personal_data
from bot.settings import Settings
from bot.workers.claims import ClaimPolicy, is_transient
from bot.workers.owner import Owner, current_owner
from bot.workers.pool import AGAIN, Backoff, KeyedWorkerPool, Periodic, StepResult, Wait
from connectors.base import Connector, SendError, StatusEvent
from connectors.whatsapp_templates import Template

logger = logging.getLogger(__name__)

SERVICE_WINDOW = timedelta(hours=24)
# Channels that only allow free-form messages inside the service window.
WINDOW_CHANNELS = frozenset({"whatsapp"})
_RANK = {DeliveryState.SENT: 1, DeliveryState.DELIVERED: 2, DeliveryState.READ: 3}
_MESSAGE_STATUS = {
    DeliveryState.SENT: OutboundStatus.SENT,
    DeliveryState.DELIVERED: OutboundStatus.DELIVERED,
    DeliveryState.READ: OutboundStatus.READ,
    DeliveryState.FAILED: OutboundStatus.FAILED,
}
TEMPLATE_REASON_PREFIX = "template:"
# Statuses a delivery report may change (a message not sent yet has no platform id to report on).
_REPORTABLE = (OutboundStatus.SENT, OutboundStatus.DELIVERED, OutboundStatus.READ, OutboundStatus.FAILED)


@runtime_checkable
class TemplateSender(Protocol):
    """A connector that can send a message as an approved template (WhatsApp)."""

    async def send_template(
        self, recipient_id: str, message: OutboundMessage, template: Template
    ) -> list[str]: ...


def within_service_window(conversation: Conversation, now: datetime) -> bool:
    """Whether a free-form message may still go (WhatsApp: within 24 h of the citizen's last message)."""
    last = as_utc(conversation.last_inbound_at)
    return last is not None and now - last < SERVICE_WINDOW


def next_state(current: str | None, reported: str) -> str | None:
    """The state after a report, or None when the report must not change it (see the module docstring)."""
    new = DeliveryState(reported)
    if current is None:
        return new.value
    old = DeliveryState(current)
    if new is DeliveryState.FAILED:
        return new.value if old is DeliveryState.SENT else None
    if old is DeliveryState.FAILED:
        return new.value if new in (DeliveryState.DELIVERED, DeliveryState.READ) else None
    return new.value if _RANK[new] > _RANK[old] else None


def _reason(text: str) -> str:
    return mask_personal_data(text)[:STATUS_REASON_LENGTH]


@dataclass(frozen=True)
class DeliveryConfig:
    min_interval_seconds: float = 1.0
    give_up_seconds: float = 6 * 3600.0
    backoff_seconds: float = 1.0
    backoff_max_seconds: float = 300.0
    poll_seconds: float = 1.0
    heartbeat_seconds: float = 5.0
    claim_stale_seconds: float = 20.0
    window_channels: frozenset[str] = field(default_factory=lambda: WINDOW_CHANNELS)
    # Sent instead of a message outside the service window; empty name = keep it as needs_template.
    template_name: str = ""
    template_language: str = "id"

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryConfig:
        return cls(
            min_interval_seconds=settings.delivery_min_interval_seconds,
            give_up_seconds=settings.delivery_give_up_seconds,
            backoff_seconds=settings.delivery_backoff_seconds,
            backoff_max_seconds=settings.delivery_backoff_max_seconds,
            poll_seconds=settings.delivery_poll_seconds,
            heartbeat_seconds=settings.worker_heartbeat_seconds,
            claim_stale_seconds=settings.worker_claim_stale_seconds,
            template_name=settings.whatsapp_notification_template.strip(),
            template_language=settings.whatsapp_template_language.strip() or "id",
        )

    @property
    def template(self) -> Template | None:
        return Template(self.template_name, self.template_language) if self.template_name else None

    def backoff(self, attempts: int) -> float:
        return float(min(self.backoff_seconds * 2 ** max(attempts - 1, 0), self.backoff_max_seconds))


@dataclass(frozen=True)
class _Job:
    """One claimed send."""

    message_id: int
    channel: str
    recipient_id: str
    attempts: int  # including this one
    message: OutboundMessage
    queued_at: datetime  # start of the time budget
    template: Template | None = None  # send as this template (the service window is closed)


Key = tuple[str, str]
T = TypeVar("T")
# Bookkeeping after a send is retried this often while the database is away (short: the claim is not
# renewed meanwhile).
BOOKKEEPING_BACKOFF = Backoff(first_seconds=0.2, max_seconds=1.0)


class Delivery:
    """Sends queued outbound rows through `connectors` (channel -> Connector, shared with the app)."""

    def __init__(
        self,
        database: Database,
        connectors: Mapping[str, Connector],
        config: DeliveryConfig,
        owner: Owner | None = None,
    ) -> None:
        self.database = database
        self.connectors = connectors
        self.config = config
        self.claims = ClaimPolicy(
            owner or current_owner(), config.heartbeat_seconds, config.claim_stale_seconds
        )
        self.pool: KeyedWorkerPool[Key] = KeyedWorkerPool("delivery", self._step)
        self._last_send: dict[Key, float] = {}
        self._paused_until: dict[str, float] = {}  # channel -> monotonic time (flood control of the bot)
        self._chat_paused_until: dict[Key, float] = {}
        self._poller = Periodic("delivery-poller", self.sweep, config.poll_seconds)
        self._heartbeat = Periodic("delivery-heartbeat", self.renew_claims, config.heartbeat_seconds)

    @property
    def _tasks(self) -> set[asyncio.Task[None]]:
        return self.pool.tasks

    # --- life cycle ---

    async def start(self) -> None:
        """Send what is queued (start-up recovery), then keep looking for new rows every `poll_seconds`."""
        self.pool.open()
        self._heartbeat.start()
        await self._poller.run_once()
        self._poller.start()

    async def close(self) -> None:
        await self._poller.close()
        await self.pool.close()
        await self._heartbeat.close()

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until no send is in progress or waiting (tests, graceful shutdown)."""
        await self.pool.drain(timeout)

    async def sweep(self) -> int:
        """Start a worker for every chat with unsent rows on a registered channel; how many chats."""
        channels = sorted(self.connectors)
        if not channels:
            return 0
        identities = await asyncio.to_thread(self._identities_with_unsent, channels)
        for channel, recipient_id in identities:
            self.kick(channel, recipient_id)
        return len(identities)

    async def renew_claims(self) -> int:
        """The heartbeat of this process's sends in flight."""
        return await asyncio.to_thread(self._renew_claims)

    def kick(self, channel: str, recipient_id: str) -> None:
        """Make sure the chat's queue is being worked on (cheap and idempotent: call it after queueing)."""
        if channel in self.connectors:
            self.pool.kick((channel, recipient_id))

    def paused_for(self, channel: str, recipient_id: str) -> float:
        """Seconds until flood control lets the next message to this chat go."""
        now = time.monotonic()
        until = max(
            self._paused_until.get(channel, 0.0), self._chat_paused_until.get((channel, recipient_id), 0.0)
        )
        return max(until - now, 0.0)

    # --- one chat's queue ---

    async def _step(self, key: Key) -> StepResult:
        channel, recipient_id = key
        paused = self.paused_for(channel, recipient_id)
        if paused > 0:
            return Wait(paused)
        step = await asyncio.to_thread(self._claim_next, channel, recipient_id)
        if not isinstance(step, _Job):
            return step
        await self._send(step)
        return AGAIN

    async def _send(self, job: _Job) -> None:
        key = (job.channel, job.recipient_id)
        connector = self.connectors.get(job.channel)
        if connector is None:
            await self._write(self._release, job.message_id)
            return
        while (wait := self._wait_before_send(key)) > 0:
            await asyncio.sleep(wait)
        try:
            try:
                platform_ids = await self._deliver(connector, job)
            except SendError as error:
                fallback = self._template_for(job.channel)
                if not error.outside_window or job.template is not None or fallback is None:
                    raise
                # The platform counts the window differently from our clock: the template still reaches them.
                logger.info(
                    "message #%d: outside the service window; sending it as a template", job.message_id
                )
                job = replace(job, template=fallback)
                platform_ids = await self._deliver(connector, job)
        except SendError as error:
            self._note_flood_control(job, error)
            await self._write(self._after_error, job, error)
        except asyncio.CancelledError:
            # Shutting down mid-send: hand the row back so the next start sends it (maybe a second time).
            try:
                self._release(job.message_id)
            except Exception:  # the database is away: the next start takes the claim over (owner gone)
                logger.warning("message #%d: could not be handed back at shutdown", job.message_id)
            raise
        except Exception as error:  # network trouble, a connector bug: retried like a transient error
            logger.warning("message #%d: send raised %s", job.message_id, type(error).__name__)
            await self._write(self._after_error, job, SendError(f"{type(error).__name__}: {error}"))
        else:
            # The platform has it: record that, however long the database takes to answer (never resend).
            await self._write(self._mark_sent, job, list(platform_ids))
        finally:
            self._last_send[key] = time.monotonic()

    def _wait_before_send(self, key: Key) -> float:
        pacing = self._last_send.get(key, -float("inf")) + self.config.min_interval_seconds - time.monotonic()
        return max(pacing, self.paused_for(*key))

    def _note_flood_control(self, job: _Job, error: SendError) -> None:
        if error.retry_after is None or error.permanent or error.outside_window:
            return
        until = time.monotonic() + error.retry_after
        if error.per_chat:
            key = (job.channel, job.recipient_id)
            self._chat_paused_until[key] = max(self._chat_paused_until.get(key, 0.0), until)
            return
        if until > self._paused_until.get(job.channel, 0.0):
            logger.warning("%s: flood control, every send paused for %.1f s", job.channel, error.retry_after)
            self._paused_until[job.channel] = until

    async def _write(self, step: Callable[..., T], *arguments: object) -> T:
        """A database step that must happen (the outcome of a send): retried while the database is away."""
        failures = 0
        while True:
            try:
                return await asyncio.to_thread(step, *arguments)
            except Exception as error:
                if not is_transient(error):
                    raise
                failures += 1
                if failures == 1:
                    logger.warning("delivery: database unavailable (%s); retrying", type(error).__name__)
                await asyncio.sleep(BOOKKEEPING_BACKOFF.delay(failures))

    async def _deliver(self, connector: Connector, job: _Job) -> list[str]:
        if job.template is not None and isinstance(connector, TemplateSender):
            return list(await connector.send_template(job.recipient_id, job.message, job.template))
        return list(await connector.send(job.recipient_id, job.message))

    def _template_for(self, channel: str) -> Template | None:
        """The template to send outside the service window on this channel, if one is set and possible."""
        template = self.config.template
        if template is None or channel not in self.config.window_channels:
            return None
        return template if isinstance(self.connectors.get(channel), TemplateSender) else None

    # --- database steps (worker threads) ---

    def _identities_with_unsent(self, channels: Sequence[str]) -> list[tuple[str, str]]:
        with self.database.session() as session:
            return repository.identities_with_unfinished(session, Direction.OUT, channels)

    def _renew_claims(self) -> int:
        with self.database.session() as session:
            return repository.renew_claims(session, self.claims.name, [OutboundStatus.SENDING], utcnow())

    def _claim_next(self, channel: str, recipient_id: str) -> StepResult | _Job:
        now = utcnow()
        with self.database.session() as session:
            row = repository.next_unfinished(session, Direction.OUT, channel, recipient_id)
            if row is None:
                return None
            if row.status == OutboundStatus.SENDING:
                if not self.claims.may_take_over(row.claimed_by, as_utc(row.claimed_at), now):
                    return None  # another worker is sending it; it will go on with the rest
                logger.warning("message #%d: send of a vanished worker taken over; sending again", row.id)
            else:
                due = as_utc(row.next_attempt_at)
                if due is not None and due > now:
                    return Wait((due - now).total_seconds())
            if not repository.claim(session, row, OutboundStatus.SENDING, now, self.claims.name):
                return AGAIN
            queued_at = as_utc(row.retry_since) or as_utc(row.created_at) or now
            job = _Job(row.id, channel, recipient_id, row.attempts + 1, outbound_message(row), queued_at)
            if channel not in self.config.window_channels:
                return job
            conversation = session.get_one(Conversation, row.conversation_id)
            if within_service_window(conversation, now):
                return job
            template = self._template_for(channel)
            if template is not None:
                return replace(job, template=template)
            repository.finish(
                session,
                row.id,
                OutboundStatus.SENDING,
                OutboundStatus.NEEDS_TEMPLATE,
                "outside the 24-hour service window (no message from the citizen since)",
                owner=self.claims.name,
            )
            return AGAIN

    def _release(self, message_id: int) -> None:
        with self.database.session() as session:
            repository.finish(
                session, message_id, OutboundStatus.SENDING, OutboundStatus.QUEUED, owner=self.claims.name
            )

    def _after_error(self, job: _Job, error: SendError) -> None:
        now = utcnow()
        detail = f"{error.code}: {error}" if error.code is not None else str(error)
        attempts = job.attempts
        spent = (now - job.queued_at).total_seconds()
        if error.outside_window:
            status, reason, due = OutboundStatus.NEEDS_TEMPLATE, detail, None
        elif error.permanent:
            status, reason, due = OutboundStatus.FAILED, f"permanent: {detail}", None
        elif spent >= self.config.give_up_seconds:
            status, reason, due = (
                OutboundStatus.FAILED,
                f"gave up after {spent:.0f} s ({attempts} attempts): {detail}",
                None,
            )
        elif error.retry_after is not None:
            # Flood control: the platform asked us to wait; that is not a failed attempt.
            attempts -= 1
            status, reason, due = (
                OutboundStatus.QUEUED,
                f"flood control, waiting {error.retry_after:g} s: {detail}",
                now + timedelta(seconds=error.retry_after),
            )
        else:
            status, reason, due = (
                OutboundStatus.QUEUED,
                f"retrying: {detail}",
                now + timedelta(seconds=self.config.backoff(attempts)),
            )
        with self.database.session() as session:
            repository.finish(
                session,
                job.message_id,
                OutboundStatus.SENDING,
                status,
                _reason(reason),
                owner=self.claims.name,
                next_attempt_at=due,
                attempts=attempts,
            )
        log = logger.info if status == OutboundStatus.QUEUED else logger.warning
        log("message #%d attempt %d: %s -> %s", job.message_id, job.attempts, _reason(detail), status)

    def _mark_sent(self, job: _Job, platform_ids: list[str]) -> None:
        for attempt in range(2):
            try:
                with self.database.session() as session:
                    if not repository.finish(
                        session,
                        job.message_id,
                        OutboundStatus.SENDING,
                        OutboundStatus.SENT,
                        f"{TEMPLATE_REASON_PREFIX}{job.template.name}" if job.template else None,
                        owner=self.claims.name,
                        sent_at=utcnow(),
                        next_attempt_at=None,
                    ):
                        logger.warning("message #%d was taken over while being sent", job.message_id)
                        return
                    for platform_id in dict.fromkeys(platform_ids):
                        self._attach_platform_id(session, job, platform_id)
                    session.flush()
                    _settle(session, job.message_id)
                return
            except IntegrityError:
                if attempt:  # a report for the same id was stored concurrently: adopt it on the retry
                    raise

    def _attach_platform_id(self, session: Session, job: _Job, platform_id: str) -> None:
        report = repository.find_delivery(session, job.channel, platform_id)
        if report is None:
            session.add(
                MessageDelivery(
                    message_id=job.message_id,
                    channel=job.channel,
                    platform_message_id=platform_id,
                    state=DeliveryState.SENT.value,
                )
            )
        elif report.message_id is None:
            report.message_id = job.message_id

    # --- failed sends ---

    async def resend(self, message_id: int) -> bool:
        """Queue a failed message again with a fresh time budget; False when it is not failed."""
        row = await asyncio.to_thread(self._resend, message_id)
        if row is None:
            return False
        self.kick(*row)
        return True

    def _resend(self, message_id: int) -> tuple[str, str] | None:
        with self.database.session() as session:
            if not repository.resend(session, message_id):
                return None
            message = session.get_one(Message, message_id)
            logger.info("message #%d queued again by request", message_id)
            return message.channel, message.sender_id

    # --- delivery reports ---

    async def record_status(self, event: StatusEvent) -> bool:
        """Apply a platform's report; False when it is not (yet) about a message we know."""
        return await asyncio.to_thread(self._record_status, event)

    def _record_status(self, event: StatusEvent) -> bool:
        for attempt in range(2):
            try:
                with self.database.session() as session:
                    return _apply_report(session, event)
            except IntegrityError:
                if attempt:  # the send recorded the same id concurrently: update its row on the retry
                    raise
        return False


def _apply_report(session: Session, event: StatusEvent) -> bool:
    now = utcnow()
    error = (
        _reason(" ".join(str(part) for part in (event.error_code, event.error_title) if part is not None))
        or None
    )
    report = repository.find_delivery(session, event.channel, event.platform_message_id)
    if report is None:
        session.add(
            MessageDelivery(
                channel=event.channel,
                platform_message_id=event.platform_message_id,
                state=DeliveryState(event.state.value).value,
                error_code=event.error_code,
                error_title=error,
            )
        )
        session.flush()
        return False
    state = next_state(report.state, event.state.value)
    if state is not None:
        report.state = state
        report.updated_at = now
        if state == DeliveryState.FAILED:
            report.error_code, report.error_title = event.error_code, error
        session.flush()
    if report.message_id is None:
        return False
    _settle(session, report.message_id)
    return True


def _settle(session: Session, message_id: int) -> None:
    """The message's status from its platform messages: failed if one failed, else the least advanced."""
    message = session.get_one(Message, message_id)
    if message.status not in _REPORTABLE:
        return
    parts = session.scalars(select(MessageDelivery).where(MessageDelivery.message_id == message_id)).all()
    if not parts:
        return
    failed = [part for part in parts if part.state == DeliveryState.FAILED]
    if failed:
        message.status = OutboundStatus.FAILED
        message.status_reason = _reason(f"platform reported failure: {failed[0].error_title or 'unknown'}")
        return
    least = min((DeliveryState(part.state) for part in parts), key=lambda state: _RANK[state])
    message.status = _MESSAGE_STATUS[least]
    if not (message.status_reason or "").startswith(TEMPLATE_REASON_PREFIX):  # how it went stays visible
        message.status_reason = None
