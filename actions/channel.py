"""Who is talking, on which channel: read from the metadata the gateway sends with each message."""

from __future__ import annotations

from typing import Any, Dict, Tuple

from rasa_sdk import Tracker

DEFAULT_CHANNEL = "web"


def message_metadata(tracker: Tracker) -> Dict[str, Any]:
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    return metadata if isinstance(metadata, dict) else {}


def channel_identity(tracker: Tracker) -> Tuple[str, str]:
    """(channel, platform sender id). The gateway's conversation key is "<channel>:<sender id>"."""
    for event in reversed(tracker.events):
        metadata = event.get("metadata") or {} if event.get("event") == "user" else {}
        if metadata.get("channel") and metadata.get("sender_id"):
            return str(metadata["channel"]), str(metadata["sender_id"])
    channel, separator, sender = tracker.sender_id.partition(":")
    return (channel, sender) if separator else (DEFAULT_CHANNEL, tracker.sender_id)
