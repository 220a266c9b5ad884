"""HMAC-SHA256 signatures of the platforms, compared in constant time.

- X (Account Activity API): the CRC answer and the `x-twitter-webhooks-signature` header are
  both "sha256=" + base64(HMAC-SHA256(consumer secret, message)).
- Meta (Graph API webhooks): `X-Hub-Signature-256` is "sha256=" + hex(HMAC-SHA256(app secret, raw body)).
"""

import base64
import hashlib
import hmac

X_SIGNATURE_HEADER = "x-twitter-webhooks-signature"
META_SIGNATURE_HEADER = "X-Hub-Signature-256"


def _digest(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def x_signature(secret: str, message: bytes) -> str:
    return "sha256=" + base64.b64encode(_digest(secret, message)).decode()


def x_crc_response(secret: str, crc_token: str) -> dict:
    return {"response_token": x_signature(secret, crc_token.encode())}


def verify_x(secret: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(x_signature(secret, body).encode(), header.strip().encode())


def meta_signature(secret: str, body: bytes) -> str:
    return "sha256=" + _digest(secret, body).hex()


def verify_meta(secret: str, body: bytes, header: str) -> bool:
    header = header.strip()
    algorithm, _, value = header.partition("=")
    # Hex is case-insensitive; the algorithm name is compared as sent.
    candidate = f"{algorithm}={value.lower()}".encode()
    return hmac.compare_digest(meta_signature(secret, body).encode(), candidate)
