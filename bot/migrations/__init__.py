"""Alembic migrations of the service database, and helpers to run them from code (CLI, tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from bot.settings import PROJECT_ROOT

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"


def alembic_config(database_url: str | None = None) -> Config:
    """Alembic's Config for `database_url` (default: the settings' DATABASE_URL).

    The URL travels in `attributes`, not in the ini options, so a password containing `%` needs no escaping.
    """
    config = Config(str(ALEMBIC_INI))
    config.attributes["database_url"] = database_url
    # Called from code: keep the caller's logging configuration (the ini's would replace it).
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str | None, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
