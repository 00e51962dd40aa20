"""Queries and writes on conversations and messages. Plain synchronous functions taking a Session.

Each function does one thing and leaves the transaction to the caller (`Database.session()` commits), except
where a unique constraint decides the outcome: there the caller runs the insert in its own transaction and
treats `IntegrityError` as "someone else was first" (no savepoints: pysqlite handles them poorly).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from bot.conversations.models import (
    Conversation,
    Direction,
    InboundStatus,
    Message,
    MessageDelivery,
    OutboundStatus,
)
from bot.db import utcnow

# Rows a worker still has to finish: inbound not yet answered, outbound not yet handed to the platform.
UNFINISHED_INBOUND = (InboundStatus.RECEIVED, InboundStatus.PROCESSING)
UNFINISHED_OUTBOUND = (OutboundStatus.QUEUED, OutboundStatus.SENDING)
# status_reason of a failed inbound message that will not be retried: a later one was answered first.
SUPERSEDED_REASON = "superseded"
# status_reason prefix of an inbound message whose processing raised (kept for a retry by the sweeps).
ERROR_REASON_PREFIX = "error:"


def find_conversation(session: Session, channel: str, sender_id: str) -> Conversation | None:
    return session.scalars(
        select(Conversation).where(Conversation.channel == channel, Conversation.sender_id == sender_id)
    ).one_or_none()


def add_conversation(session: Session, channel: str, sender_id: str) -> Conversation:
    conversation = Conversation(channel=channel, sender_id=sender_id)
    session.add(conversation)
    session.flush()
    return conversation


def find_inbound(session: Session, channel: str, platform_message_id: str) -> Message | None:
    return session.scalars(
        select(Message).where(
            Message.channel == channel,
            Message.platform_message_id == platform_message_id,
            Message.direction == Direction.IN,
        )
    ).one_or_none()


def add_inbound(
    session: Session,
    conversation: Conversation,
    text: str,
    platform_message_id: str | None,
    payload: dict[str, Any] | None,
    now: datetime | None = None,
    *,
    opens_window: bool = True,
    sent_at: datetime | None = None,
) -> Message:
    """Store one inbound message. `opens_window`: it counts as the citizen's latest message (WhatsApp's
    24-hour window; an edit does not); `sent_at`: when the citizen sent it, if the platform says so."""
    now = now or utcnow()
    message = Message(
        conversation_id=conversation.id,
        direction=Direction.IN,
        channel=conversation.channel,
        sender_id=conversation.sender_id,
        platform_message_id=platform_message_id,
        text=text,
        payload=payload,
        status=InboundStatus.RECEIVED,
        created_at=now,
    )
    session.add(message)
    if opens_window:
        latest = min(as_utc(sent_at) or now, now)  # a platform clock ahead of ours is not trusted
        previous = as_utc(conversation.last_inbound_at)
        if previous is None or latest > previous:
            conversation.last_inbound_at = latest
    session.flush()
    return message


def add_outbound(
    session: Session,
    inbound: Message,
    text: str,
    payload: dict[str, Any] | None,
    status: OutboundStatus = OutboundStatus.SENT,
    now: datetime | None = None,
) -> Message:
    """A reply to `inbound`, in the same conversation, addressed to the same channel identity."""
    now = now or utcnow()
    message = Message(
        conversation_id=inbound.conversation_id,
        direction=Direction.OUT,
        channel=inbound.channel,
        sender_id=inbound.sender_id,
        text=text,
        payload=payload,
        status=status,
        reply_to_id=inbound.id,
        created_at=now,
    )
    session.add(message)
    conversation = session.get(Conversation, inbound.conversation_id)
    if conversation is not None:
        conversation.last_outbound_at = now
    session.flush()
    return message


def replies_to(session: Session, inbound_id: int) -> Sequence[Message]:
    """The outbound messages answering one inbound message, in the order they were sent."""
    return session.scalars(
        select(Message)
        .where(Message.reply_to_id == inbound_id, Message.direction == Direction.OUT)
        .order_by(Message.id)
    ).all()


def notification_id(key: str) -> str:
    """Notifications reuse the per-channel unique message id, so one key can only ever be stored once."""
    return f"notify:{key}"


def find_notification(session: Session, channel: str, key: str) -> Message | None:
    return session.scalars(
        select(Message).where(
            Message.channel == channel,
            Message.platform_message_id == notification_id(key),
            Message.direction == Direction.OUT,
        )
    ).one_or_none()


def add_notification(
    session: Session, conversation: Conversation, text: str, payload: dict[str, Any] | None, key: str
) -> Message:
    """A message the service starts (filed complaint, status change), not a reply to an inbound one."""
    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        direction=Direction.OUT,
        channel=conversation.channel,
        sender_id=conversation.sender_id,
        platform_message_id=notification_id(key),
        text=text,
        payload=payload,
        status=OutboundStatus.QUEUED,
        created_at=now,
    )
    session.add(message)
    conversation.last_outbound_at = now
    session.flush()
    return message


def outbound_after(session: Session, conversation_id: int, after_id: int, limit: int) -> Sequence[Message]:
    """Outbound messages of a conversation newer than `after_id`, oldest first (web chat polling)."""
    return session.scalars(
        select(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == Direction.OUT,
            Message.id > after_id,
        )
        .order_by(Message.id)
        .limit(limit)
    ).all()


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes for timezone-aware columns; every stored time is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


# --- messaging channels: claims, retries, delivery reports (bot/gateway/inbox.py, delivery.py) ---


def claim(
    session: Session, message: Message, to_status: str, now: datetime, owner: str | None = None, **values: Any
) -> bool:
    """Move `message` from the status and attempt count it was read with to `to_status`, counting one more
    attempt, held by `owner` (and setting `values`). A single UPDATE guarded by both, so of several workers
    (tasks, replicas) exactly one wins."""
    result = session.execute(
        update(Message)
        .where(
            Message.id == message.id,
            Message.status == message.status,
            Message.attempts == message.attempts,
        )
        .values(status=to_status, attempts=Message.attempts + 1, claimed_at=now, claimed_by=owner, **values)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def finish(
    session: Session,
    message_id: int,
    from_status: str,
    to_status: str,
    reason: str | None = None,
    *,
    owner: str | None = None,
    **values: Any,
) -> bool:
    """Leave a claimed state (`from_status`) for `to_status`; False when the row is no longer in it (or, with
    `owner`, no longer held by that owner: another worker took it over)."""
    query = update(Message).where(Message.id == message_id, Message.status == from_status)
    if owner is not None:
        query = query.where(Message.claimed_by == owner)
    result = session.execute(
        query.values(
            status=to_status, status_reason=reason, claimed_at=None, claimed_by=None, **values
        ).execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def renew_claims(session: Session, owner: str, statuses: Sequence[str], now: datetime) -> int:
    """The owner's heartbeat: its claims in `statuses` are renewed (bot/workers/claims.py); how many."""
    result = session.execute(
        update(Message)
        .where(Message.claimed_by == owner, Message.status.in_(statuses))
        .values(claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def next_unfinished(session: Session, direction: Direction, channel: str, sender_id: str) -> Message | None:
    """The oldest message of a channel identity that a worker has not finished (order is per identity)."""
    statuses = UNFINISHED_INBOUND if direction is Direction.IN else UNFINISHED_OUTBOUND
    return session.scalars(
        select(Message)
        .where(
            Message.channel == channel,
            Message.sender_id == sender_id,
            Message.direction == direction,
            Message.status.in_(statuses),
        )
        .order_by(Message.id)
        .limit(1)
    ).first()


def _failed_turns(
    channels: Sequence[str],
    reason: str,
    since: datetime,
    max_attempts: int,
    sender_id: str | None = None,
) -> Any:
    """Failed inbound messages worth another try: failed for `reason`, or on an error (a database outage,
    a bug fixed since), recent enough and not tried too often; optionally of one sender only."""
    query = (
        select(Message)
        .where(
            Message.direction == Direction.IN,
            Message.status == InboundStatus.FAILED,
            or_(Message.status_reason == reason, Message.status_reason.startswith(ERROR_REASON_PREFIX)),
            Message.channel.in_(channels),
            Message.created_at >= since,
            Message.attempts < max_attempts,
        )
        .order_by(Message.id)
    )
    return query if sender_id is None else query.where(Message.sender_id == sender_id)


def has_failed_turns(
    session: Session,
    channels: Sequence[str],
    reason: str,
    since: datetime,
    max_attempts: int,
    sender_id: str | None = None,
) -> bool:
    """Whether `requeue_failed_turns` with the same arguments would find anything to look at."""
    if not channels:
        return False
    query = _failed_turns(channels, reason, since, max_attempts, sender_id)
    return session.scalars(query.limit(1)).first() is not None


def requeue_failed_turns(
    session: Session,
    channels: Sequence[str],
    reason: str,
    since: datetime,
    max_attempts: int,
    sender_id: str | None = None,
) -> tuple[int, int]:
    """Hand inbound messages that failed for `reason` since `since` back to the inbox (status received), oldest
    first; (requeued, superseded). A message is superseded, and stays failed, when a later message of the same
    conversation has been answered: the conversation has moved on, and answering the older one now would
    answer out of order. Each move is guarded by the row's status (`finish`): a row another replica has
    already requeued is not moved again."""
    if not channels:
        return 0, 0
    requeued = superseded = 0
    for message in session.scalars(_failed_turns(channels, reason, since, max_attempts, sender_id)).all():
        if _answered_later(session, message):
            superseded += _supersede(session, message)
        else:
            requeued += finish(session, message.id, InboundStatus.FAILED, InboundStatus.RECEIVED)
    return requeued, superseded


def failed_turn_ids(
    session: Session, channels: Sequence[str], reason: str, since: datetime, max_attempts: int
) -> list[int]:
    """Ids of the inbound messages `requeue_failed_turns` would look at, oldest first (the web chat, which
    has no inbox queue, retries them one by one with `claim_failed_turn`)."""
    if not channels:
        return []
    return list(
        session.scalars(_failed_turns(channels, reason, since, max_attempts).with_only_columns(Message.id))
    )


def claim_failed_turn(
    session: Session,
    message_id: int,
    channels: Sequence[str],
    reason: str,
    since: datetime,
    max_attempts: int,
    now: datetime,
) -> Message | None:
    """Claim one of the messages `requeue_failed_turns` would look at for another try (status processing, one
    more attempt), unless a later message of its conversation was answered (then it is marked superseded).
    None when it may not be tried again or another worker claimed it."""
    message = session.scalars(
        _failed_turns(channels, reason, since, max_attempts).where(Message.id == message_id)
    ).first()
    if message is None:
        return None
    if _answered_later(session, message):
        _supersede(session, message)
        return None
    return message if claim(session, message, InboundStatus.PROCESSING, now, status_reason=None) else None


def _answered_later(session: Session, message: Message) -> bool:
    """Whether a later inbound message of the same conversation has been answered."""
    return bool(
        session.scalar(
            select(func.count(Message.id)).where(
                Message.conversation_id == message.conversation_id,
                Message.direction == Direction.IN,
                Message.id > message.id,
                Message.status == InboundStatus.PROCESSED,
            )
        )
    )


def _supersede(session: Session, message: Message) -> bool:
    return finish(session, message.id, InboundStatus.FAILED, InboundStatus.FAILED, SUPERSEDED_REASON)


def identities_with_unfinished(
    session: Session, direction: Direction, channels: Sequence[str]
) -> list[tuple[str, str]]:
    """(channel, sender_id) pairs with unfinished messages on those channels (recovery, delivery sweep)."""
    if not channels:
        return []
    statuses = UNFINISHED_INBOUND if direction is Direction.IN else UNFINISHED_OUTBOUND
    rows = session.execute(
        select(Message.channel, Message.sender_id, func.min(Message.id))
        .where(
            Message.status.in_(statuses),
            Message.channel.in_(channels),
            Message.direction == direction,
        )
        .group_by(Message.channel, Message.sender_id)
        .order_by(func.min(Message.id))
    ).all()
    return [(channel, sender_id) for channel, sender_id, _ in rows]


def count_inbound_between(session: Session, conversation_id: int, since: datetime, up_to_id: int) -> int:
    """Inbound messages of a conversation stored after `since`, up to and including message `up_to_id`."""
    return int(
        session.scalar(
            select(func.count(Message.id)).where(
                Message.conversation_id == conversation_id,
                Message.direction == Direction.IN,
                Message.created_at > since,
                Message.id <= up_to_id,
            )
        )
        or 0
    )


def system_note_since(session: Session, conversation_id: int, key_prefix: str, since: datetime) -> bool:
    """Whether an outbound note whose key starts with `key_prefix` was stored after `since`."""
    return (
        session.scalars(
            select(Message.id)
            .where(
                Message.conversation_id == conversation_id,
                Message.direction == Direction.OUT,
                Message.platform_message_id.startswith(key_prefix, autoescape=True),
                Message.created_at > since,
            )
            .limit(1)
        ).first()
        is not None
    )


def add_system_note(
    session: Session, inbound: Message, text: str, reason: str, key: str | None = None
) -> Message:
    """A queued note from the service (not from Rasa) answering `inbound`; `key`, when given, is unique
    per channel (the caller treats IntegrityError as "already stored")."""
    message = add_outbound(session, inbound, text, {"system": reason}, status=OutboundStatus.QUEUED)
    message.platform_message_id = key
    session.flush()
    return message


def find_delivery(session: Session, channel: str, platform_message_id: str) -> MessageDelivery | None:
    return session.scalars(
        select(MessageDelivery).where(
            MessageDelivery.channel == channel, MessageDelivery.platform_message_id == platform_message_id
        )
    ).one_or_none()


def undelivered(session: Session, channel: str | None = None, limit: int = 100) -> Sequence[Message]:
    """Outbound messages that did not reach the citizen (failed, needs_template), newest first: what an
    officer or admin must look at."""
    query = select(Message).where(
        Message.direction == Direction.OUT,
        Message.status.in_((OutboundStatus.FAILED, OutboundStatus.NEEDS_TEMPLATE)),
    )
    if channel is not None:
        query = query.where(Message.channel == channel)
    return session.scalars(query.order_by(Message.id.desc()).limit(limit)).all()


def count_undelivered(session: Session) -> dict[str, int]:
    """How many outbound messages did not reach the citizen, by status (failed, needs_template)."""
    rows = session.execute(
        select(Message.status, func.count(Message.id))
        .where(
            Message.direction == Direction.OUT,
            Message.status.in_((OutboundStatus.FAILED, OutboundStatus.NEEDS_TEMPLATE)),
        )
        .group_by(Message.status)
    ).all()
    return {str(status): int(count) for status, count in rows}


def resend(session: Session, message_id: int, now: datetime | None = None) -> bool:
    """Queue a failed outbound message again (a fresh time budget, no attempts yet); False when it is not
    failed (already sent, or resent by someone else)."""
    result = session.execute(
        update(Message)
        .where(
            Message.id == message_id,
            Message.direction == Direction.OUT,
            Message.status == OutboundStatus.FAILED,
        )
        .values(
            status=OutboundStatus.QUEUED,
            status_reason="resend requested",
            attempts=0,
            next_attempt_at=None,
            claimed_at=None,
            claimed_by=None,
            retry_since=now or utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1
