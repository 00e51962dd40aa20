"""Linking staged media to a ticket: a ticket attachment row pointing at the same stored file.

Only the identity that sent a file may attach it (same channel and sender_id), so a guessed media id cannot
pull another citizen's photo into a report. Linking is idempotent: the same file on the same ticket is one
attachment (the unique (ticket_id, sha256) of ticket attachments).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.media.models import Media
from bot.tickets.models import Ticket, TicketAttachment
from bot.tickets.vocab import AuthorKind


class MediaNotFound(LookupError):
    """Some ids are not media of this channel identity (unknown, or another sender's)."""

    def __init__(self, ids: Sequence[int]) -> None:
        super().__init__(f"media not found for this sender: {list(ids)}")
        self.ids = list(ids)


def media_of_sender(session: Session, ids: Sequence[int], channel: str, sender_id: str) -> list[Media]:
    """The media rows `ids` in the given order (duplicates removed); MediaNotFound if any is not the
    sender's own."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    rows = session.scalars(
        select(Media).where(Media.id.in_(wanted), Media.channel == channel, Media.sender_id == sender_id)
    ).all()
    found = {media.id: media for media in rows}
    missing = [media_id for media_id in wanted if media_id not in found]
    if missing:
        raise MediaNotFound(missing)
    return [found[media_id] for media_id in wanted]


def attachments_to_add(session: Session, ticket: Ticket, media: Sequence[Media]) -> list[Media]:
    """The media not yet attached to the ticket (by content), each content once."""
    existing = set(
        session.scalars(select(TicketAttachment.sha256).where(TicketAttachment.ticket_id == ticket.id)).all()
    )
    new: list[Media] = []
    for item in media:
        if item.sha256 not in existing:
            existing.add(item.sha256)
            new.append(item)
    return new


def attachment_count(session: Session, ticket: Ticket) -> int:
    return int(
        session.scalar(select(func.count(TicketAttachment.id)).where(TicketAttachment.ticket_id == ticket.id))
        or 0
    )


def link(session: Session, ticket: Ticket, media: Sequence[Media], now: datetime) -> list[TicketAttachment]:
    """Attach each media row (call `attachments_to_add` first); flushes, leaves the commit to the caller."""
    added = []
    for item in media:
        attachment = TicketAttachment(
            ticket_id=ticket.id,
            filename=item.filename,
            content_type=item.mime_type,
            size_bytes=item.size_bytes,
            sha256=item.sha256,
            storage_path=item.storage_path,
            uploaded_by=AuthorKind.CITIZEN.value,
            created_at=now,
        )
        session.add(attachment)
        if item.ticket_id is None:
            item.ticket_id = ticket.id
        added.append(attachment)
    session.flush()
    return added
