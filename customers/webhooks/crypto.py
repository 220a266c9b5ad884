"""Subscription secrets at rest: Fernet with a key derived from BATON_FIELD_KEY (the first of a
comma-separated list encrypts, all decrypt), else from SECRET_KEY, as the inbound webhooks' secrets
(feedback.intake.webhooks.crypto, which the customers app may not import)."""

import base64
import hashlib

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


def _fernet() -> MultiFernet:
    configured = getattr(settings, "BATON_FIELD_KEY", "") or ""
    keys = [key.strip() for key in configured.split(",") if key.strip()] or [settings.SECRET_KEY]
    return MultiFernet([
        Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"baton-field-key:" + key.encode()).digest())) for key in keys
    ])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """Raises cryptography.fernet.InvalidToken when the current keys cannot read it."""
    return _fernet().decrypt(token.encode()).decode()
