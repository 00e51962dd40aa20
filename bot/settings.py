"""Service settings, read from environment variables (see `.env.example`)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.secret_checks import enforce

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Secrets `make run` generates on first start (scripts/run.py); `.env` and the environment override them.
GENERATED_SECRETS_FILE = PROJECT_ROOT / "var" / "secrets.env"


class Settings(BaseSettings):
    # Later files win: a value in `.env` overrides the generated one; environment variables override both.
    model_config = SettingsConfigDict(
        env_file=(GENERATED_SECRETS_FILE, ".env"), env_file_encoding="utf-8", extra="ignore"
    )

    app_env: str = Field(
        default="production",
        description="`development` lets the service start with missing or weak secrets (with a loud "
        "warning); anything else refuses to.",
    )

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
    # Secrets: no working default; see `secrets_in_use` and bot/secret_checks.py.
    service_token: str = Field(
        default="", description="Bearer token the action server uses to call the service API."
    )
    data_encryption_key: str = Field(
        default="",
        description="Fernet key(s) of personal data encrypted at rest, e.g. NIKs on tickets (`bot privacy "
        "generate-key`; several, comma-separated, rotate: the first encrypts, all decrypt).",
    )
    log_hash_key: str = Field(
        default="", description="Key of the keyed hash (HMAC-SHA256) that names citizens in log lines."
    )
    max_text_length: int = Field(default=4000, description="Longest accepted chat message.")
    request_max_bytes: int = Field(
        default=256 * 1024,
        description="Largest request body, bytes (uploads and webhooks have their own caps); larger is 413.",
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed; empty = none (the connecting address is the client).",
    )
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
    ticket_lookup_max_misses_per_address: int = Field(
        default=20,
        description="Wrong tracking codes allowed per web-chat client address in the same window, whatever "
        "session they come from (a new session does not reset the count; higher than the per-sender limit "
        "because many citizens can share one carrier-grade NAT address).",
    )
    # Web chat (bot/webchat): identities issued by the server.
    webchat_session_ttl_hours: float = Field(
        default=72.0, description="A web-chat session ends this long after its last use (sliding expiry)."
    )
    webchat_sessions_per_address: int = Field(
        default=30, description="Web-chat sessions one client address may create in the window."
    )
    webchat_sessions_window_minutes: float = Field(default=60.0, description="Window of that limit, minutes.")
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
    worker_heartbeat_seconds: float = Field(
        default=5.0, description="How often a process renews the claims of its inbox and delivery workers."
    )
    worker_claim_stale_seconds: float = Field(
        default=20.0,
        description="A claim whose owner has not renewed it for this long is taken over by another worker.",
    )
    inbox_sweep_seconds: float = Field(
        default=10.0,
        description="How often the inbox looks for unprocessed and failed messages (and for Rasa being back).",
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
    delivery_give_up_seconds: float = Field(
        default=6 * 3600.0,
        description="A message still unsent this long after it was queued is marked failed (flood control "
        "waits and transient errors are retried until then).",
    )
    delivery_backoff_seconds: float = Field(default=1.0, description="First retry delay; doubles each time.")
    delivery_backoff_max_seconds: float = Field(default=300.0, description="Longest retry delay.")
    delivery_poll_seconds: float = Field(
        default=1.0, description="How often the delivery worker looks for queued messages (notifications)."
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
        default=5,
        description="Failed logins per username (and per address) in the window before each "
        "further attempt has to wait.",
    )
    login_window_minutes: int = Field(default=15, description="How long a failed login counts, minutes.")
    login_delay_seconds: float = Field(
        default=1.0, description="Wait after the first failure past the free ones; doubles per failure."
    )
    login_max_delay_seconds: float = Field(default=60.0, description="Longest wait between two logins.")
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
    # Privacy (bot/nik.py, bot/nik_vault.py, bot/tracker_retention.py).
    rasa_tracker_url: str = Field(
        default="",
        description="Rasa's SQL tracker store (as scripts/run.py configures it): empty = SQLite "
        "var/rasa_tracker.db, else sqlite:///path or postgresql://user:pass@host:port/db.",
    )
    rasa_tracker_retention_days: int = Field(
        default=90, ge=0, description="Tracker events older than this many days are deleted; 0 = never."
    )
    rasa_tracker_prune_interval_hours: float = Field(
        default=24.0, ge=0, description="How often the service prunes the tracker store; 0 = only by CLI."
    )

    def secrets_in_use(self) -> dict[str, str]:
        """Environment variable -> value of every secret this configuration relies on: the service's own,
        and each messaging channel's once that channel is configured."""
        in_use = {
            "SERVICE_TOKEN": self.service_token,
            "DATA_ENCRYPTION_KEY": self.data_encryption_key,
            "LOG_HASH_KEY": self.log_hash_key,
        }
        if self.telegram_bot_token and self.telegram_mode == "webhook":
            in_use["TELEGRAM_WEBHOOK_SECRET"] = self.telegram_webhook_secret
        if self.whatsapp_access_token and self.whatsapp_phone_number_id:
            in_use["WHATSAPP_APP_SECRET"] = self.whatsapp_app_secret
        if (self.whatsapp_access_token and self.whatsapp_phone_number_id) or self.whatsapp_verify_token:
            # GET /webhooks/whatsapp answers Meta's handshake whenever a verify token is set.
            in_use["WHATSAPP_VERIFY_TOKEN"] = self.whatsapp_verify_token
        return in_use

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        for item in proxy_list(value):
            ipaddress.ip_network(item, strict=False)  # ValueError: not an address or network
        return value


def require_secrets(settings: Settings, component: str) -> None:
    """Refuses to start `component` with an unusable secret (bot/secret_checks.py), unless in development."""
    enforce(settings.secrets_in_use(), settings.app_env, component)


def proxy_list(value: str) -> list[str]:
    """TRUSTED_PROXIES as a list: '10.0.0.5, 192.168.1.0/24' -> ['10.0.0.5', '192.168.1.0/24']."""
    return [item.strip() for item in value.split(",") if item.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
