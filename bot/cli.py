"""`bot` command: `bot db upgrade` (migrate to the latest schema) and `bot serve` (run the service).

Also runnable as `python -m bot.cli ...` (the Makefile does that).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bot.settings import get_settings


def _db_upgrade(args: argparse.Namespace) -> int:
    from bot import migrations

    migrations.upgrade(get_settings().database_url, args.revision)
    return 0


def _db_downgrade(args: argparse.Namespace) -> int:
    from bot import migrations

    migrations.downgrade(get_settings().database_url, args.revision)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(
        "bot.api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        reload=args.reload,
        log_level=get_settings().log_level.lower(),
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bot", description="Layanan Aduan bot service.")
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="database schema (Alembic migrations; DATABASE_URL)")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="migrate to the latest schema (or to REVISION)")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(handler=_db_upgrade)
    downgrade = db_commands.add_parser(
        "downgrade", help="migrate down to REVISION ('base' empties the schema)"
    )
    downgrade.add_argument("revision")
    downgrade.set_defaults(handler=_db_downgrade)

    serve = commands.add_parser("serve", help="run the bot service with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--reload", action="store_true", help="restart on code changes (development)")
    serve.set_defaults(handler=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    handler = args.handler
    result: int = handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
