"""`bot privacy prune-trackers` (delete Rasa tracker events past their retention) and
`bot privacy generate-key` (a new DATA_ENCRYPTION_KEY)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.settings import get_settings


def _prune_trackers(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.tracker_retention import prune_tracker_store

    settings = get_settings()
    days = settings.rasa_tracker_retention_days if args.days is None else args.days
    if days < 0:
        print("privacy prune-trackers: --days must be 0 or more", file=sys.stderr)
        return 2
    if days == 0:
        print("privacy prune-trackers: retention is 0 days (keep everything); nothing deleted")
        return 0
    try:
        deleted = prune_tracker_store(settings.rasa_tracker_url, days)
    except SQLAlchemyError as error:
        print(f"privacy prune-trackers: tracker store unreachable ({type(error).__name__})", file=sys.stderr)
        return 1
    print(f"privacy prune-trackers: {deleted} event(s) older than {days} days deleted")
    return 0


def _generate_key(_args: argparse.Namespace) -> int:
    from bot.encryption import generate_key

    print(generate_key())
    return 0


def add_privacy_commands(commands: Any) -> None:
    privacy = commands.add_parser("privacy", help="personal data: tracker retention, encryption key")
    privacy_commands = privacy.add_subparsers(dest="privacy_command", required=True)
    prune = privacy_commands.add_parser(
        "prune-trackers",
        help="delete Rasa tracker events older than RASA_TRACKER_RETENTION_DAYS (RASA_TRACKER_URL)",
    )
    prune.add_argument("--days", type=int, help="retention in days (default RASA_TRACKER_RETENTION_DAYS)")
    prune.set_defaults(handler=_prune_trackers)
    key = privacy_commands.add_parser("generate-key", help="print a new DATA_ENCRYPTION_KEY")
    key.set_defaults(handler=_generate_key)
