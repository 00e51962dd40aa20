"""Delivery of outbound messages to the messaging platforms, with retries, pacing and delivery reports.

Every outbound message is a row of `messages` (direction out) before it is sent. Its status moves
queued -> sending -> sent, and on from there with the platform's reports (delivered, read); a send that cannot
succeed ends `failed` (permanent error, or `max_attempts` used up: `status_reason` says why, `attempts` how
often it was tried), and one refused by WhatsApp's 24-hour rule ends `needs_template`, unless an approved
template is configured (WHATSAPP_NOTIFICATION_TEMPLATE): then it goes as that template, with the text in the
template's one variable, and ends `sent` with `status_reason` "template:<name>" (kept through the delivery
reports, so the dashboard can tell). Replies of the inbox and notifications (POST /api/v1/notifications) on a
channel with a registered connector are all sent from here; web-chat rows are not touched (the web chat polls).

Order and pacing: the messages to one chat go strictly in id order, one at a time, at most one per
`min_interval_seconds` (Telegram allows about one message per second to a chat). While the oldest one waits
for a retry, the later ones wait behind it.

One worker wins each send: claiming is one UPDATE guarded by the status and attempt count read, so tasks and
replicas never send a row twice on purpose. A worker that vanished mid-send (crash) leaves the row `sending`;
after `claim_lease_seconds` it is sent again. That one case is at-least-once: whether the platform got the
call cannot be known. Pacing is per process: several replicas sending to one chat at once may exceed it
(the platform then answers 429, which is retried after its retry_after).

Delivery reports (StatusEvent) move the state of each platform message forward only: sent < delivered < read.
`failed` is accepted only while the message is not known to have arrived (sent); a delivered or read report
after `failed` wins, because it proves the message arrived. A report that comes before the send call returned
the platform ids is kept and adopted when they are recorded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

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
    max_attempts: int = 6
    backoff_seconds: float = 1.0
    backoff_max_seconds: float = 300.0
    poll_seconds: float = 1.0
    claim_lease_seconds: float = 120.0
    window_channels: frozenset[str] = field(default_factory=lambda: WINDOW_CHANNELS)
    # Sent instead of a message outside the service window; empty name = keep it as needs_template.
    template_name: str = ""
    template_language: str = "id"

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryConfig:
        return cls(
            min_interval_seconds=settings.delivery_min_interval_seconds,
            max_attempts=settings.delivery_max_attempts,
            backoff_seconds=settings.delivery_backoff_seconds,
            backoff_max_seconds=settings.delivery_backoff_max_seconds,
            poll_seconds=settings.delivery_poll_seconds,
            claim_lease_seconds=settings.delivery_claim_lease_seconds,
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
    template: Template | None = None  # send as this template (the service window is closed)


@dataclass(frozen=True)
class _Wait:
    seconds: float


_AGAIN = object()  # the step changed a row without sending: look at the recipient's queue again

Key = tuple[str, str]


class Delivery:
    """Sends queued outbound rows through `connectors` (channel -> Connector, shared with the app)."""

    def __init__(
        self, database: Database, connectors: Mapping[str, Connector], config: DeliveryConfig
    ) -> None:
        self.database = database
        self.connectors = connectors
        self.config = config
        self._workers: dict[Key, asyncio.Task[None]] = {}
        self._again: set[Key] = set()
        self._last_send: dict[Key, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._poller: asyncio.Task[None] | None = None
        self._closing = False

    # --- life cycle ---

    async def start(self) -> None:
        """Send what is queued (start-up recovery), then keep looking for new rows every `poll_seconds`."""
        self._closing = False
        await self.sweep()
        self._poller = asyncio.create_task(self._poll(), name="delivery-poller")

    async def close(self) -> None:
        self._closing = True
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
            self._poller = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until no send is in progress or waiting (tests, graceful shutdown)."""
        deadline = time.monotonic() + timeout
        while self._tasks:
            if time.monotonic() > deadline:
                raise TimeoutError("delivery still busy")
            await asyncio.wait(list(self._tasks), timeout=max(deadline - time.monotonic(), 0.01))

    async def sweep(self) -> int:
        """Start a worker for every chat with unsent rows on a registered channel; how many chats."""
        channels = sorted(self.connectors)
        if not channels:
            return 0
        identities = await asyncio.to_thread(self._identities_with_unsent, channels)
        for channel, recipient_id in identities:
            self.kick(channel, recipient_id)
        return len(identities)

    def kick(self, channel: str, recipient_id: str) -> None:
        """Make sure the chat's queue is being worked on (cheap and idempotent: call it after queueing)."""
        key = (channel, recipient_id)
        if key in self._workers:
            self._again.add(key)
            return
        if self._closing or channel not in self.connectors:
            return
        task = asyncio.create_task(self._work(key), name=f"delivery-{channel}")
        self._workers[key] = task
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("delivery worker failed", exc_info=task.exception())

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.config.poll_seconds)
            try:
                await self.sweep()
            except Exception:  # a database hiccup must not stop the poller
                logger.exception("delivery sweep failed")

    # --- one chat's queue ---

    async def _work(self, key: Key) -> None:
        channel, recipient_id = key
        try:
            while True:
                self._again.discard(key)
                step = await asyncio.to_thread(self._claim_next, channel, recipient_id)
                if step is None:
                    if key in self._again:
                        continue
                    return  # no await between this check and the removal below: no kick is lost
                if step is _AGAIN:
                    continue
                if isinstance(step, _Wait):
                    await asyncio.sleep(step.seconds)
                    continue
                assert isinstance(step, _Job)
                await self._send(step)
        finally:
            if self._workers.get(key) is asyncio.current_task():
                del self._workers[key]

    async def _send(self, job: _Job) -> None:
        key = (job.channel, job.recipient_id)
        connector = self.connectors.get(job.channel)
        if connector is None:
            await asyncio.to_thread(self._release, job.message_id, None)
            return
        wait = self._last_send.get(key, -float("inf")) + self.config.min_interval_seconds - time.monotonic()
        if wait > 0:
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
            await asyncio.to_thread(self._after_error, job, error)
        except asyncio.CancelledError:
            # Shutting down mid-send: hand the row back so the next start sends it (maybe a second time).
            self._release(job.message_id, None)
            raise
        except Exception as error:  # network trouble, a connector bug: retried like a transient error
            logger.warning("message #%d: send raised %s", job.message_id, type(error).__name__)
            await asyncio.to_thread(self._after_error, job, SendError(f"{type(error).__name__}: {error}"))
        else:
            await asyncio.to_thread(self._mark_sent, job, list(platform_ids))
        finally:
            self._last_send[key] = time.monotonic()

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

    def _claim_next(self, channel: str, recipient_id: str) -> _Job | _Wait | object | None:
        now = utcnow()
        with self.database.session() as session:
            row = repository.next_unfinished(session, Direction.OUT, channel, recipient_id)
            if row is None:
                return None
            if row.status == OutboundStatus.SENDING:
                claimed_at = as_utc(row.claimed_at)
                lease = timedelta(seconds=self.config.claim_lease_seconds)
                if claimed_at is not None and now - claimed_at < lease:
                    return None  # another worker is sending it; it will go on with the rest
                logger.warning("message #%d: send abandoned by a vanished worker; sending again", row.id)
            else:
                due = as_utc(row.next_attempt_at)
                if due is not None and due > now:
                    return _Wait((due - now).total_seconds())
            if not repository.claim(session, row, OutboundStatus.SENDING, now):
                return _AGAIN
            if channel in self.config.window_channels:
                conversation = session.get_one(Conversation, row.conversation_id)
                template = self._template_for(channel)
                if not within_service_window(conversation, now) and template is not None:
                    return _Job(
                        row.id, channel, recipient_id, row.attempts + 1, outbound_message(row), template
                    )
                if not within_service_window(conversation, now):
                    repository.finish(
                        session,
                        row.id,
                        OutboundStatus.SENDING,
                        OutboundStatus.NEEDS_TEMPLATE,
                        "outside the 24-hour service window (no message from the citizen since)",
                    )
                    return _AGAIN
            return _Job(row.id, channel, recipient_id, row.attempts + 1, outbound_message(row))

    def _release(self, message_id: int, reason: str | None) -> None:
        with self.database.session() as session:
            repository.finish(session, message_id, OutboundStatus.SENDING, OutboundStatus.QUEUED, reason)

    def _after_error(self, job: _Job, error: SendError) -> None:
        now = utcnow()
        detail = f"{error.code}: {error}" if error.code is not None else str(error)
        with self.database.session() as session:
            if error.outside_window:
                status, reason, due = OutboundStatus.NEEDS_TEMPLATE, detail, None
            elif error.permanent:
                status, reason, due = OutboundStatus.FAILED, f"permanent: {detail}", None
            elif job.attempts >= self.config.max_attempts:
                status, reason, due = (
                    OutboundStatus.FAILED,
                    f"gave up after {job.attempts} attempts: {detail}",
                    None,
                )
            else:
                delay = (
                    error.retry_after if error.retry_after is not None else self.config.backoff(job.attempts)
                )
                status, reason, due = (
                    OutboundStatus.QUEUED,
                    f"retrying: {detail}",
                    now + timedelta(seconds=delay),
                )
            repository.finish(
                session, job.message_id, OutboundStatus.SENDING, status, _reason(reason), next_attempt_at=due
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
