"""Encryption of personal data at rest (Fernet: AES-128-CBC with HMAC-SHA256, from `cryptography`).

The key is DATA_ENCRYPTION_KEY: a url-safe base64 Fernet key (`python -m bot.cli privacy generate-key`).
Several keys separated by commas rotate: the first encrypts, every one decrypts. There is no working
default: without a key nothing is encrypted and whatever would have been (a NIK in a complaint) is not kept
at all, only its masked form.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.settings import Settings


class EncryptionKeyError(ValueError):
    """DATA_ENCRYPTION_KEY is not a valid Fernet key (list)."""


class DecryptionError(Exception):
    """A stored value could not be decrypted with any configured key (wrong key, or altered)."""


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


class DataCipher:
    def __init__(self, keys: str) -> None:
        parts = [part.strip() for part in keys.split(",") if part.strip()]
        if not parts:
            raise EncryptionKeyError("DATA_ENCRYPTION_KEY is empty")
        try:
            self._fernet = MultiFernet([Fernet(part.encode("ascii")) for part in parts])
        except (ValueError, UnicodeEncodeError) as error:
            raise EncryptionKeyError(
                "DATA_ENCRYPTION_KEY must be url-safe base64 of 32 bytes (python -m bot.cli privacy "
                "generate-key); several keys are separated by commas"
            ) from error

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as error:
            raise DecryptionError("stored value does not decrypt with DATA_ENCRYPTION_KEY") from error


def cipher_from_settings(settings: Settings) -> DataCipher | None:
    """The configured cipher, None without a key; an invalid key raises EncryptionKeyError."""
    key = settings.data_encryption_key.strip()
    return DataCipher(key) if key else None
