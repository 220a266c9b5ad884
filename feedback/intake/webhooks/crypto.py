"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from BATON_FIELD_KEY.

BATON_FIELD_KEY may list several keys separated by commas: the first encrypts, all of them
decrypt, so a key is rotated by putting the new one first and entering the secrets again. Without
BATON_FIELD_KEY the key is derived from SECRET_KEY (rotating SECRET_KEY then makes stored
secrets unreadable: set BATON_FIELD_KEY in production).
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnavailable(Exception):
    """A secret is not configured, or cannot be decrypted with the current keys."""


def _fernet_key(material: str) -> bytes:
    digest = hashlib.sha256(b"baton-field-key:" + material.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def _fernet() -> MultiFernet:
    configured = getattr(settings, "BATON_FIELD_KEY", "") or ""
    keys = [key.strip() for key in configured.split(",") if key.strip()] or [settings.SECRET_KEY]
    return MultiFernet([Fernet(_fernet_key(key)) for key in keys])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnavailable("The stored secret cannot be decrypted with the current BATON_FIELD_KEY.") from exc


def hint(plaintext: str) -> str:
    """What admin and logs may show of a secret: its last four characters."""
    if not plaintext:
        return ""
    return "…" + plaintext[-4:] if len(plaintext) > 8 else "…" + "•" * 4
