"""Service settings, read from environment variables (see `.env.example`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'var' / 'layanan.db'}",
        description="SQLAlchemy URL of the service database (SQLite by default, PostgreSQL in production).",
    )
    rasa_url: str = Field(default="http://127.0.0.1:5005", description="Base URL of the Rasa server.")
    rasa_timeout_seconds: float = Field(default=30.0, description="Timeout of one Rasa turn.")
    service_token: str = Field(
        default="dev-service-token-change-me",
        description="Bearer token the action server uses to call the service API.",
    )
    max_text_length: int = Field(default=4000, description="Longest accepted chat message.")
    timezone: str = Field(default="Asia/Jakarta")
    log_level: str = Field(default="INFO")
    # Tickets (bot/tickets).
    tickets_routing_file: Path | None = Field(
        default=None,
        description="routing.yml with category -> unit and SLA tiers; the bundled file if unset.",
    )
    attachments_dir: Path = Field(
        default=PROJECT_ROOT / "var" / "attachments",
        description="Where uploaded complaint attachments are stored.",
    )
    attachment_max_bytes: int = Field(default=5 * 1024 * 1024, description="Largest accepted attachment.")
    attachment_max_per_ticket: int = Field(default=10, description="Most attachments one ticket may carry.")
    sla_holiday_categories: str = Field(
        default="public",
        description="Comma-separated `holidays` categories that are not working days ('public,government' "
        "also skips cuti bersama).",
    )
    ticket_lookup_max_misses: int = Field(
        default=5, description="Wrong tracking codes allowed per sender in the window."
    )
    ticket_lookup_window_seconds: int = Field(default=600, description="Window of that limit, seconds.")


@lru_cache
def get_settings() -> Settings:
    return Settings()
