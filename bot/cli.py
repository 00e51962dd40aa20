"""`bot` command: `bot db upgrade` (migrate to the latest schema), `bot serve` (run the service), and
`bot telegram set-webhook` / `bot telegram poll` (connect the Telegram bot by webhook or by long polling),
`bot create-admin` / `bot create-user` (dashboard accounts), `bot model ...` (model registry, deploys),
`bot privacy prune-trackers` / `bot privacy generate-key` (tracker retention, DATA_ENCRYPTION_KEY).
`bot catalogue import|export` (the service catalogue).

Also runnable as `python -m bot.cli ...` (the Makefile does that).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Sequence
from typing import Any

from bot.catalogue.cli import add_catalogue_commands
from bot.log_masking import install_log_masking
from bot.modelops.cli import add_model_commands
from bot.modelops.nlu_cli import add_nlu_commands
from bot.privacy_cli import add_privacy_commands
from bot.secret_checks import InsecureSecretsError
from bot.settings import Settings, get_settings, proxy_list, require_secrets


def _db_upgrade(args: argparse.Namespace) -> int:
    from bot import migrations

    migrations.upgrade(get_settings().database_url, args.revision)
    return 0


def _db_downgrade(args: argparse.Namespace) -> int:
    from bot import migrations

    migrations.downgrade(get_settings().database_url, args.revision)
    return 0


def server_options(settings: Settings, host: str, port: int, reload: bool = False) -> dict[str, Any]:
    """uvicorn's options for `bot serve` (and so for `make run`). X-Forwarded-For/-Proto are believed only
    from TRUSTED_PROXIES: uvicorn's own default trusts 127.0.0.1, so anything on the same host could choose
    its client address (and slip past the login throttle per address)."""
    trusted = proxy_list(settings.trusted_proxies)
    return {
        "app": "bot.api.app:create_app",
        "factory": True,
        "host": host,
        "port": port,
        "reload": reload,
        "log_level": settings.log_level.lower(),
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted,
    }


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(**server_options(get_settings(), args.host, args.port, args.reload))
    return 0


def _telegram_set_webhook(args: argparse.Namespace) -> int:
    import asyncio

    from bot.db import Database
    from connectors.telegram import telegram_connector

    settings = get_settings()
    require_secrets(settings, "bot telegram set-webhook")
    url = args.url or settings.telegram_webhook_url
    missing = [
        name
        for name, value in (
            ("TELEGRAM_BOT_TOKEN", settings.telegram_bot_token),
            ("TELEGRAM_WEBHOOK_SECRET", settings.telegram_webhook_secret),
            ("TELEGRAM_WEBHOOK_URL (or --url)", url),
        )
        if not value
    ]
    if missing:
        print(f"telegram set-webhook: set {', '.join(missing)}", file=sys.stderr)
        return 2
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", settings.telegram_webhook_secret):
        print(
            "telegram set-webhook: TELEGRAM_WEBHOOK_SECRET may hold only A-Z a-z 0-9 _ - (1-256)",
            file=sys.stderr,
        )
        return 2
    if not url.startswith("https://") and not args.allow_http:
        print(
            "telegram set-webhook: Telegram only calls https:// URLs (--allow-http for a test server)",
            file=sys.stderr,
        )
        return 2

    async def run() -> None:
        database = Database(settings.database_url)
        connector = telegram_connector(settings, database)
        try:
            await connector.set_webhook(url, settings.telegram_webhook_secret)
        finally:
            await connector.aclose()
            database.dispose()

    asyncio.run(run())
    print(f"telegram: webhook set to {url}")
    return 0


def _telegram_poll(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from bot.api.app import create_app
    from bot.conversations.models import Channel
    from connectors.telegram import TelegramPoller

    settings = get_settings()
    if not settings.telegram_bot_token:
        print("telegram poll: set TELEGRAM_BOT_TOKEN", file=sys.stderr)
        return 2
    if settings.telegram_mode != "polling":
        # Polling deletes the webhook: never do that to a service that runs on webhooks by accident.
        print("telegram poll: set TELEGRAM_MODE=polling (polling removes the webhook)", file=sys.stderr)
        return 2

    async def run() -> None:
        app = create_app(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        # The app's lifespan starts the same inbox and delivery workers as `bot serve`.
        async with app.router.lifespan_context(app):
            poller = TelegramPoller(
                app.state.connectors[Channel.TELEGRAM], app.state.inbox.accept, args.timeout
            )
            logging.getLogger(__name__).info("telegram: polling for updates (Ctrl+C stops)")
            await poller.run(stop)

    asyncio.run(run())
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    import getpass

    first = getpass.getpass("Kata sandi: ")
    if getpass.getpass("Ulangi kata sandi: ") != first:
        raise ValueError("Kedua kata sandi tidak sama.")
    return first


def _create_user(args: argparse.Namespace, role_name: str) -> int:
    from bot.db import Database
    from bot.staff.accounts import AccountError, create_user
    from bot.staff.audit_log import AccessAction, log_access
    from bot.staff.models import Role
    from bot.staff.passwords import WeakPasswordError

    try:
        password = _read_password(args)
        database = Database(get_settings().database_url)
        try:
            with database.session() as session:
                user = create_user(
                    session, args.username, args.name, password, Role(role_name), args.unit or []
                )
                log_access(
                    session,
                    None,
                    AccessAction.USER_CREATED,
                    target_type="staff_user",
                    target_id=user.id,
                    detail=f"{user.username} ({role_name}) via CLI",
                    actor="cli",
                )
        finally:
            database.dispose()
    except (AccountError, WeakPasswordError, ValueError) as error:
        print(f"Gagal: {error}", file=sys.stderr)
        return 1
    print(f"Akun {user.username} ({role_name}) dibuat. Masuk di /dashboard/masuk.")
    return 0


def _create_admin(args: argparse.Namespace) -> int:
    return _create_user(args, "admin")


def _create_staff(args: argparse.Namespace) -> int:
    return _create_user(args, args.role)


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

    telegram = commands.add_parser("telegram", help="Telegram channel (TELEGRAM_* settings)")
    telegram_commands = telegram.add_subparsers(dest="telegram_command", required=True)
    set_webhook = telegram_commands.add_parser(
        "set-webhook", help="register TELEGRAM_WEBHOOK_URL with its secret token and the bot's commands"
    )
    set_webhook.add_argument(
        "--url", help="public HTTPS URL of /webhooks/telegram (default TELEGRAM_WEBHOOK_URL)"
    )
    set_webhook.add_argument("--allow-http", action="store_true", help=argparse.SUPPRESS)
    set_webhook.set_defaults(handler=_telegram_set_webhook)
    poll = telegram_commands.add_parser(
        "poll", help="fetch updates by long polling (TELEGRAM_MODE=polling: no public HTTPS address needed)"
    )
    poll.add_argument("--timeout", type=int, default=30, help="seconds one long poll waits (default 30)")
    poll.set_defaults(handler=_telegram_poll)

    for name, handler, help_text in (
        ("create-admin", _create_admin, "create an admin account of the dashboard (the first one)"),
        ("create-user", _create_staff, "create a petugas or supervisor account"),
    ):
        account = commands.add_parser(name, help=help_text)
        account.add_argument("--username", required=True)
        account.add_argument("--name", required=True, help="full name shown in the dashboard")
        account.add_argument("--unit", action="append", help="unit served (repeat for several)")
        account.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input"
        )
        if name == "create-user":
            account.add_argument("--role", choices=["petugas", "supervisor"], default="petugas")
        account.set_defaults(handler=handler)
    add_model_commands(commands)  # bot model list|register|deploy|rollback
    add_nlu_commands(commands)  # bot nlu inbox|label|export, bot train, bot evaluate
    add_privacy_commands(commands)  # bot privacy prune-trackers|generate-key
    add_catalogue_commands(commands)  # bot catalogue import|export
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    install_log_masking(get_settings().log_hash_key)
    handler = args.handler
    try:
        result: int = handler(args)
    except InsecureSecretsError as error:  # raised before the command did anything
        print(error, file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
