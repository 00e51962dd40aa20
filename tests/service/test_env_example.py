"""`.env.example` documents every setting of the service (the guide's contract for configuration)."""

from __future__ import annotations

from bot.settings import PROJECT_ROOT, Settings


def test_every_setting_is_in_env_example() -> None:
    text = (PROJECT_ROOT / ".env.example").read_text()
    missing = [name.upper() for name in Settings.model_fields if f"{name.upper()}=" not in text]
    assert missing == []
