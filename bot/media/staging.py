"""Staging: store a downloaded file under ATTACHMENTS_DIR/media/<channel>/ with a `media` row.

The checks are the ticket attachments' own (bot/tickets/attachments.py): the type comes from the magic bytes
(JPEG, PNG, PDF only), the size is capped, the file is written atomically. Blocking: run in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db import Database
from bot.media.models import Media, MediaKind
from bot.tickets import attachments as files
from bot.tickets.attachments import AttachmentRejected

__all__ = ["AttachmentRejected", "StagedMedia", "find_staged", "stage"]

STAGING_SUBDIR = "media"


@dataclass(frozen=True)
class StagedMedia:
    id: int
    kind: str
    mime_type: str
    size_bytes: int
    sha256: str
    storage_path: str


def _staged(media: Media) -> StagedMedia:
    return StagedMedia(
        id=media.id,
        kind=media.kind,
        mime_type=media.mime_type,
        size_bytes=media.size_bytes,
        sha256=media.sha256,
        storage_path=media.storage_path,
    )


def _find(session: Session, channel: str, sender_id: str, platform_file_id: str) -> Media | None:
    return session.scalars(
        select(Media).where(
            Media.channel == channel,
            Media.sender_id == sender_id,
            Media.platform_file_id == platform_file_id,
        )
    ).one_or_none()


def find_staged(
    database: Database, channel: str, sender_id: str, platform_file_id: str
) -> StagedMedia | None:
    """The file if it was staged before (a message processed again after a crash is not downloaded twice)."""
    with database.session() as session:
        media = _find(session, channel, sender_id, platform_file_id)
        return _staged(media) if media is not None else None


def stage(
    database: Database,
    directory: Path,
    *,
    channel: str,
    sender_id: str,
    platform_file_id: str,
    kind: MediaKind,
    data: bytes,
    filename: str | None,
    max_bytes: int,
    message_id: int | None,
) -> StagedMedia:
    """Check and store one file; raises AttachmentRejected (Indonesian message, `reason`) when refused."""
    stored = files.store(data, directory, f"{STAGING_SUBDIR}/{channel}", max_bytes)
    extension = stored.storage_path.rsplit(".", 1)[-1]
    try:
        with database.session() as session:
            media = Media(
                channel=channel,
                sender_id=sender_id,
                platform_file_id=platform_file_id,
                kind=kind.value,
                mime_type=stored.content_type,
                size_bytes=stored.size_bytes,
                sha256=stored.sha256,
                storage_path=stored.storage_path,
                filename=files.safe_filename(filename, extension),
                message_id=message_id,
            )
            session.add(media)
            session.flush()
            return _staged(media)
    except IntegrityError:
        files.remove(directory, stored.storage_path)  # staged concurrently: keep the first copy only
    except BaseException:
        files.remove(directory, stored.storage_path)  # no orphan file without its row
        raise
    existing = find_staged(database, channel, sender_id, platform_file_id)
    if existing is None:
        raise RuntimeError("media insert conflicted but no row holds its file id")
    return existing
