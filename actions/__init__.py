"""Rasa custom actions of Layanan Aduan (run by `rasa run actions --actions actions`).

Importing the package is the action server's start-up: from then on its log lines are masked
(bot/log_masking.py), and it refuses to start when SERVICE_TOKEN or LOG_HASH_KEY is missing, short or an
example, unless APP_ENV=development (bot/secret_checks.py). It reads them from the environment only;
`make run` passes the generated ones (var/secrets.env).
"""

import os

from bot.log_masking import install_log_masking
from bot.secret_checks import InsecureSecretsError, enforce

ACTION_SERVER_SECRETS = ("SERVICE_TOKEN", "LOG_HASH_KEY")


def _start_up() -> None:
    install_log_masking(os.environ.get("LOG_HASH_KEY", ""))
    secrets = {name: os.environ.get(name, "") for name in ACTION_SERVER_SECRETS}
    try:
        enforce(secrets, os.environ.get("APP_ENV", "production"), "the action server")
    except InsecureSecretsError as error:
        raise SystemExit(str(error)) from None


_start_up()
