"""Secrets at rest: Fernet with key rotation (the first key encrypts, every key decrypts)."""

import json
from functools import cache

from cryptography.fernet import InvalidToken, MultiFernet, Fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@cache
def _fernet() -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in settings.ENCRYPTION_KEYS])
    except ValueError:
        raise ImproperlyConfigured("ERPSYNC_ENCRYPTION_KEY is not a valid Fernet key.") from None


def encrypt_json(value: dict) -> str:
    if not value:
        return ""
    return _fernet().encrypt(json.dumps(value).encode()).decode()


def decrypt_json(token: str) -> dict:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise ImproperlyConfigured(
            "Stored connection secrets cannot be decrypted with the configured encryption key; "
            "was ERPSYNC_ENCRYPTION_KEY changed without keeping the old key?"
        ) from None
