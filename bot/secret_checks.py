"""Start-up check of secrets: none may be missing, short or a known example.

Every entry point that reads secrets (the service, `bot telegram ...`, `bot model deploy|rollback`, the
action server) calls `enforce` before it does anything else. Outside development (`APP_ENV=development`) a
bad secret stops the process with a message naming the variables; in development it is logged loudly and
the process goes on. `make run` generates strong secrets into var/secrets.env on first start.

Stdlib only: the action server imports this module from the Rasa environment.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable, Mapping

MIN_SECRET_LENGTH = 32
# Fewer distinct characters than this is not a random string ("aaaa...", "0000...", "abab...").
MIN_DISTINCT_CHARACTERS = 8
DEVELOPMENT = "development"

# Values published in this repository's documentation, and its former defaults, in lower case.
KNOWN_EXAMPLES = frozenset(
    {
        "dev-service-token-change-me",
        "change-me",
        "changeme",
        "secret",
        "password",
    }
)
# Parts of a value that show it was copied from an example rather than generated.
EXAMPLE_MARKERS = (
    "change-me",
    "changeme",
    "change_me",
    "example",
    "placeholder",
    "replace-me",
    "replace_me",
    "your-",
    "your_",
    "dev-service-token",
    "<",
    ">",
    "...",
)

logger = logging.getLogger(__name__)


class InsecureSecretsError(RuntimeError):
    """A secret is missing, short or an example, outside development: the process must not start."""


def _fernet_key_problem(value: str) -> str | None:
    # cryptography's Fernet key: 32 random bytes in URL-safe base64 (44 characters); a comma-separated list
    # rotates keys (bot/encryption.py), and each of them must be one.
    for key in value.split(","):
        try:
            raw = base64.urlsafe_b64decode(key.strip().encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raw = b""
        if len(raw) != 32:
            return (
                "is not a Fernet key (32 bytes in URL-safe base64, 44 characters; several: comma-separated)"
            )
    return None


# Extra format rules of particular secrets, by variable name.
FORMAT_CHECKS: dict[str, Callable[[str], str | None]] = {"DATA_ENCRYPTION_KEY": _fernet_key_problem}


def secret_problem(name: str, value: str) -> str | None:
    """Why `value` cannot serve as the secret `name`, or None when it can."""
    if not value.strip():
        return "is missing"
    lowered = value.lower()
    if lowered in KNOWN_EXAMPLES or any(marker in lowered for marker in EXAMPLE_MARKERS):
        return "is an example value"
    if len(value) < MIN_SECRET_LENGTH:
        return f"is shorter than {MIN_SECRET_LENGTH} characters"
    if len(set(value)) < MIN_DISTINCT_CHARACTERS:
        return "is not a random string"
    check = FORMAT_CHECKS.get(name)
    return check(value) if check is not None else None


def find_problems(secrets: Mapping[str, str]) -> dict[str, str]:
    """Variable name -> what is wrong with it, for every unusable secret of `secrets`."""
    problems = {name: secret_problem(name, value) for name, value in secrets.items()}
    return {name: problem for name, problem in problems.items() if problem is not None}


def describe(problems: Mapping[str, str]) -> str:
    return "; ".join(f"{name} {problem}" for name, problem in problems.items())


def enforce(secrets: Mapping[str, str], app_env: str, component: str) -> dict[str, str]:
    """Refuses to start `component` when a secret is unusable, unless `app_env` is development.

    Returns the problems tolerated in development (empty when every secret is fine)."""
    problems = find_problems(secrets)
    if not problems:
        return {}
    if app_env.strip().lower() != DEVELOPMENT:
        raise InsecureSecretsError(
            f"{component} refuses to start: {describe(problems)}. Set each to a random string of at least "
            f"{MIN_SECRET_LENGTH} characters (see .env.example; `make run` generates them into "
            "var/secrets.env), or set APP_ENV=development on a development machine."
        )
    banner = "!" * 78
    logger.warning(
        "%s\nINSECURE SECRETS (APP_ENV=development): %s.\n%s is running with secrets anyone can guess: "
        "never expose it.\n%s",
        banner,
        describe(problems),
        component,
        banner,
    )
    return problems
