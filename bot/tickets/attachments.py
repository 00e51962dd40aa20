"""Attachment checks and storage: the type comes from the file's magic bytes, never from the client."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

# Magic bytes -> (content type, extension). Only formats a citizen needs for evidence, none that can run
# script in a browser (no SVG, no HTML), so a stored file cannot be turned into an XSS vector.
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"%PDF-", "application/pdf", "pdf"),
)
ALLOWED_TYPES = frozenset(content_type for _, content_type, _ in _SIGNATURES)
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


class AttachmentRejected(ValueError):
    """The upload is not accepted; the message is for the citizen (Indonesian).

    `reason` is one of "empty", "too_large", "unsupported_type", "too_many" (callers map it to a status code).
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class StoredFile:
    content_type: str
    size_bytes: int
    sha256: str
    storage_path: str  # relative to the attachments directory


def sniff_content_type(head: bytes) -> tuple[str, str] | None:
    for magic, content_type, extension in _SIGNATURES:
        if head.startswith(magic):
            return content_type, extension
    return None


def safe_filename(name: str | None, extension: str) -> str:
    """A display name without path parts or control characters, ending in the sniffed extension."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFKC", base)
    stem = _UNSAFE_NAME.sub("_", base.rsplit(".", 1)[0] if "." in base else base).strip(" ._")[:100]
    return f"{stem or 'lampiran'}.{extension}"


def check_content(data: bytes, max_bytes: int) -> tuple[str, str]:
    if not data:
        raise AttachmentRejected("Berkas kosong. Silakan kirim ulang lampiran Anda.", "empty")
    if len(data) > max_bytes:
        raise AttachmentRejected(
            f"Ukuran berkas melebihi batas {max_bytes // (1024 * 1024)} MB.", "too_large"
        )
    sniffed = sniff_content_type(data[:16])
    if sniffed is None:
        raise AttachmentRejected(
            "Jenis berkas tidak didukung. Kirimkan foto (JPG/PNG) atau dokumen PDF.", "unsupported_type"
        )
    return sniffed


def store(data: bytes, directory: Path, ticket_code: str, max_bytes: int) -> StoredFile:
    """Check `data` and write it atomically under `directory/<ticket code>/`."""
    content_type, extension = check_content(data, max_bytes)
    digest = hashlib.sha256(data).hexdigest()
    relative = Path(ticket_code) / f"{digest[:16]}-{secrets.token_hex(4)}.{extension}"
    target = directory / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write to a temporary file in the same directory and rename: a crash never leaves half a file.
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return StoredFile(content_type, len(data), digest, relative.as_posix())


def remove(directory: Path, storage_path: str) -> None:
    (directory / storage_path).unlink(missing_ok=True)
