"""Service settings, read from environment variables (see `.env.example`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

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
    # Managed Rasa (bot/modelops): the service starts Rasa itself and deploys models blue/green.
    rasa_managed: bool = Field(
        default=False,
        description="The service runs the Rasa server itself (blue/green deploys); false = use RASA_URL.",
    )
    rasa_model: str = Field(
        default="",
        description="Managed mode: model (path or registry name) to start with; empty = the registry's live "
        "model, else the newest file in RASA_MODELS_DIR.",
    )
    rasa_models_dir: Path = Field(default=PROJECT_ROOT / "models", description="Where trained models are.")
    rasa_ports: str = Field(
        default="5005,5006", description="Managed mode: the two ports blue and green use."
    )
    rasa_host: str = Field(default="127.0.0.1", description="Managed mode: interface Rasa binds to.")
    rasa_endpoints_file: Path = Field(
        default=PROJECT_ROOT / "var" / "endpoints.yml",
        description="Managed mode: Rasa's endpoints.yml (shared tracker and lock store of both servers).",
    )
    rasa_start_timeout_seconds: float = Field(
        default=300.0, description="Managed mode: longest wait for a Rasa server to load its model."
    )
    rasa_drain_timeout_seconds: float = Field(
        default=60.0, description="Managed mode: longest wait for the old server's turns before stopping it."
    )
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
    # Service catalogue (bot/catalogue).
    catalogue_refresh_seconds: float = Field(
        default=2.0,
        description="How often an answering process checks whether the stored catalogue changed (seconds).",
    )
    # Messaging channels: inbox and delivery (bot/gateway/inbox.py, bot/gateway/delivery.py).
    channel_media_max_bytes: int = Field(
        default=10 * 1024 * 1024, description="Largest photo/document downloaded from a messaging platform."
    )
    inbound_rate_limit: int = Field(
        default=20, description="Messages one sender may send per window before the bot stops answering."
    )
    inbound_rate_window_seconds: float = Field(default=60.0, description="Window of that limit, seconds.")
    inbox_claim_lease_seconds: float = Field(
        default=300.0,
        description="After this long a message being processed by a worker that vanished is taken over.",
    )
    inbox_retry_failed_max_age_seconds: float = Field(
        default=3600.0,
        description="Messages that got the 'gangguan' apology because Rasa was down are answered once Rasa is "
        "back (all channels; on the web chat also when the client retries the same message_id), if they are at "
        "most this old and the citizen has not been answered on a later message since.",
    )
    inbox_retry_failed_max_attempts: int = Field(
        default=5, description="Tries of such a message (the first included) before it is left failed."
    )
    delivery_min_interval_seconds: float = Field(
        default=1.0, description="Least time between two sends to one chat (platform limits: ~1/s)."
    )
    delivery_max_attempts: int = Field(default=6, description="Send attempts before a message is failed.")
    delivery_backoff_seconds: float = Field(default=1.0, description="First retry delay; doubles each time.")
    delivery_backoff_max_seconds: float = Field(default=300.0, description="Longest retry delay.")
    delivery_poll_seconds: float = Field(
        default=1.0, description="How often the delivery worker looks for queued messages (notifications)."
    )
    delivery_claim_lease_seconds: float = Field(
        default=120.0, description="After this long a send by a worker that vanished is retried."
    )
    # Telegram (connectors/telegram.py); the channel is off while the token is empty.
    telegram_bot_token: str = Field(default="", description="Bot token from @BotFather; empty = no Telegram.")
    telegram_webhook_secret: str = Field(
        default="",
        description="secret_token given to setWebhook; POST /webhooks/telegram refuses updates without it.",
    )
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org",
        description="Bot API server (a local Bot API server, or a test fake).",
    )
    telegram_mode: Literal["webhook", "polling"] = Field(
        default="webhook",
        description="webhook: Telegram posts to /webhooks/telegram; polling: `bot telegram poll` fetches updates.",
    )
    telegram_webhook_url: str = Field(
        default="", description="Public HTTPS URL of /webhooks/telegram, for `bot telegram set-webhook`."
    )
    # WhatsApp Business Cloud API (connectors/whatsapp.py); the channel is off while the access token or the
    # phone number id is empty.
    whatsapp_access_token: str = Field(
        default="", description="System-user access token of the WhatsApp Business app; empty = no WhatsApp."
    )
    whatsapp_phone_number_id: str = Field(
        default="", description="Id of the business phone number the bot sends from (not the number itself)."
    )
    whatsapp_app_secret: str = Field(
        default="",
        description="App secret; POST /webhooks/whatsapp refuses bodies whose X-Hub-Signature-256 it did not sign.",
    )
    whatsapp_verify_token: str = Field(
        default="", description="Token typed into Meta's webhook setup; GET /webhooks/whatsapp checks it."
    )
    whatsapp_api_base_url: str = Field(
        default="https://graph.facebook.com/v21.0",
        description="Graph API base URL with its version (or a test fake).",
    )
    whatsapp_notification_template: str = Field(
        default="",
        description="Approved message template (one body parameter: the text) sent instead of a message "
        "outside WhatsApp's 24-hour window; empty = such messages are kept as needs_template.",
    )
    whatsapp_template_language: str = Field(
        default="id", description="Language code of that template as approved in WhatsApp Manager."
    )
    # Officer dashboard (bot/dashboard) and staff accounts (bot/staff).
    dashboard_session_idle_minutes: int = Field(
        default=30, description="A dashboard session ends after this many minutes without a request."
    )
    dashboard_session_max_hours: int = Field(
        default=12, description="A dashboard session ends this long after login, active or not."
    )
    dashboard_cookie_secure: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="Secure flag of the session cookie: auto = when the request came over HTTPS "
        "(X-Forwarded-Proto from a trusted proxy counts).",
    )
    login_max_failures: int = Field(
        default=5, description="Failed logins per username (or per address) before login is paused."
    )
    login_window_minutes: int = Field(default=15, description="Window and pause of that limit, minutes.")
    # Human handoff (bot/handoff).
    office_hours: str = Field(
        default="1-4 08:00-16:00; 5 08:00-16:30",
        description="When officers answer chats, Asia/Jakarta time: `<ISO weekdays> <HH:MM>-<HH:MM>` "
        "separated by `;` (1 = Monday). Public holidays (SLA_HOLIDAY_CATEGORIES) are closed.",
    )
    handoff_idle_minutes: int = Field(
        default=15,
        description="An officer's conversation returns to the bot after this long without messages.",
    )
    handoff_default_unit: str = Field(
        default="",
        description="Unit whose officers get handoff requests of citizens without a ticket; empty = the unit "
        "of category `lainnya` in routing.yml.",
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
