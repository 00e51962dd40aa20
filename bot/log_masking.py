"""Personal data out of every log line, at the root of the logging system (UU 27/2022).

`install_log_masking` replaces the log record factory once per process, so every record of every logger
is masked before any handler sees it: ours, httpx (Rasa tracker URLs carry `whatsapp:62...`), uvicorn and
uvicorn.access (`?sender_id=`), sanic's access log in the action server. Loggers with their own handlers that
do not propagate to the root (uvicorn.access, sanic.access) are covered too, as are handlers added later.

What is masked: channel sender ids (`whatsapp:...`, `telegram:...`, `web:...`, also URL-encoded, in
`/reporters/<channel>/<id>`, `/chat/<id>/updates` and `sender_id=`/`sender=` query values) become a keyed
hash `~<12 hex>` (HMAC-SHA256 with LOG_HASH_KEY), the same for one citizen everywhere, so an operator can
follow a citizen through the logs without reading who it is; then NIK-shaped numbers, phone numbers and
e-mail addresses as `bot.privacy.mask_personal_data` does.

Stdlib only: the action server installs it from the Rasa environment.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from bot.privacy import mask_personal_data

TAG_PREFIX = "~"
TAG_HEX_LENGTH = 12
_CHANNELS = r"whatsapp|telegram|web"
# Characters that end a sender id inside a log line (URL delimiters, quotes, brackets, separators).
_ID = r"[^\s/?&#\"'<>,;()\[\]{}]+"
# Not a tag already, not a %-placeholder of a format string ("whatsapp:%s").
_NOT_TAGGED = rf"(?!{re.escape(TAG_PREFIX)}|%[-#0 +]?[0-9.]*[sdrifxXeEgGc])"
_CHANNEL_ID = re.compile(rf"(?<![A-Za-z0-9])({_CHANNELS})(:|%3[Aa]){_NOT_TAGGED}({_ID})")
_REPORTER_PATH = re.compile(rf"(/reporters/(?:{_CHANNELS})/){_NOT_TAGGED}({_ID})")
_CHAT_UPDATES_PATH = re.compile(rf"(/chat/){_NOT_TAGGED}({_ID})(?=/updates)")
_SENDER_QUERY = re.compile(rf"([?&](?:sender_id|sender)=){_NOT_TAGGED}({_ID})")

_lock = threading.Lock()
_key: bytes = secrets.token_bytes(32)  # until a LOG_HASH_KEY is installed: tags valid in this process only
_installed = False


def sender_tag(sender_id: str) -> str:
    """A keyed hash of a sender id, `~` + 12 hex: stable for one citizen, meaningless without the key."""
    digest = hmac.new(_key, sender_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return TAG_PREFIX + digest[:TAG_HEX_LENGTH]


def sender_label(channel: str, sender_id: str) -> str:
    """How log lines name a citizen: `<channel>:~<hash>`."""
    return f"{channel}:{sender_tag(sender_id)}"


def _tag_group(group: int) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        before = match.string[match.start() : match.start(group)]
        return before + sender_tag(unquote(match.group(group)))

    return replace


def mask_log_text(text: str) -> str:
    """`text` with sender ids replaced by their keyed hash and NIKs, phones and e-mails masked."""
    text = _CHANNEL_ID.sub(_tag_group(3), text)
    text = _REPORTER_PATH.sub(_tag_group(2), text)
    text = _CHAT_UPDATES_PATH.sub(_tag_group(2), text)
    text = _SENDER_QUERY.sub(_tag_group(2), text)
    return mask_personal_data(text)


def _mask_value(value: Any) -> Any:
    """A log argument, masked; numbers and other non-text values whose text needs no masking are kept (so
    `%d` and formatters that read `record.args`, like uvicorn's access formatter, still work)."""
    if isinstance(value, str):
        return mask_log_text(value)
    if value is None or isinstance(value, int | float):
        return value
    text = str(value)
    masked = mask_log_text(text)
    return value if masked == text else masked


def _message(record: logging.LogRecord) -> str | None:
    try:
        return record.getMessage()
    except (TypeError, ValueError, KeyError):
        return None  # a broken logging call: the logging module reports it itself


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Masks the record in place: message, arguments, and the exception and stack texts.

    The message and each argument are masked apart, so formatters that read `record.args` (uvicorn's access
    formatter) keep working; when the line only shows personal data whole ("to %s:%s" with the channel and
    the sender id as two arguments), the record keeps the masked line and no arguments."""
    original = _message(record)
    record.msg = mask_log_text(record.msg) if isinstance(record.msg, str) else _mask_value(record.msg)
    if isinstance(record.args, dict):
        record.args = {key: _mask_value(value) for key, value in record.args.items()}
    elif isinstance(record.args, tuple):
        record.args = tuple(_mask_value(value) for value in record.args)
    if original is not None:
        expected = mask_log_text(original)
        if _message(record) != expected:
            record.msg, record.args = expected, ()
    if record.exc_info and not record.exc_text:
        # Formatters reuse `exc_text` when it is set: exception messages often quote URLs (httpx errors).
        record.exc_text = mask_log_text(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = mask_log_text(record.stack_info)
    return record


def install_log_masking(hash_key: str) -> None:
    """Masks every log record of this process from now on; `hash_key` (LOG_HASH_KEY) keys the sender tags.

    Idempotent: calling it again only changes the key (an empty key keeps a random per-process one)."""
    global _installed, _key
    with _lock:
        if hash_key:
            _key = hash_key.encode("utf-8")
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return mask_record(previous(*args, **kwargs))

        logging.setLogRecordFactory(masked_record)
        _installed = True
