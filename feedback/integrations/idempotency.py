"""Idempotency-Key: the first request with a key runs and its answer is kept; a replay (same token,
same key, same method, path and body) gets the kept answer; the same key with another body is refused.

`begin` runs inside the request's transaction and inserts the key row first: a concurrent request
with the same key waits on the unique index until the first one commits, then replays its answer
(or, if the first one rolled back, runs itself). Keys are kept BATON_API_IDEMPOTENCY_HOURS.
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from config.errors import BatonError
from feedback.integrations.models import ApiToken, IdempotencyRecord

MAX_KEY_LENGTH = 200


class BadIdempotencyKey(BatonError):
    code = "invalid"
    http_status = 400


class IdempotencyKeyReused(BatonError):
    code = "idempotency_key_reused"
    http_status = 422


@dataclass
class Claim:
    record: IdempotencyRecord
    replay: bool  # True: `record` holds the answer to return


def clean_key(key: str) -> str:
    if not (1 <= len(key) <= MAX_KEY_LENGTH) or not key.isascii() or not key.isprintable():
        raise BadIdempotencyKey(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters (a UUID is a good one).",
            fields={"Idempotency-Key": ["Not a valid key."]},
        )
    return key


def fingerprint(*, method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def begin(*, token: ApiToken, key: str, fingerprint: str) -> Claim:
    """Claim `key` for this request, or find the answer already kept for it. Call inside transaction.atomic()."""
    key = clean_key(key)
    expired = timezone.now() - timedelta(hours=settings.BATON_API_IDEMPOTENCY_HOURS)
    IdempotencyRecord.objects.filter(token=token, key=key, created_at__lt=expired).delete()
    claim = uuid.uuid4()
    IdempotencyRecord.objects.bulk_create(
        [IdempotencyRecord(token=token, key=key, claim=claim, fingerprint=fingerprint)], ignore_conflicts=True
    )
    record = IdempotencyRecord.objects.get(token=token, key=key)
    if record.claim == claim:
        return Claim(record=record, replay=False)
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for another request (another body or path): use a new key per request.",
            fields={"Idempotency-Key": ["Already used for another request."]},
        )
    return Claim(record=record, replay=True)


def finish(*, claim: Claim, status_code: int, response) -> None:
    claim.record.status_code = status_code
    claim.record.response = response
    claim.record.save(update_fields=["status_code", "response"])


def purge_expired(*, now=None) -> int:
    """Delete the kept answers older than BATON_API_IDEMPOTENCY_HOURS (hourly, from beat). Returns how many."""
    now = now or timezone.now()
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=now - timedelta(hours=settings.BATON_API_IDEMPOTENCY_HOURS)).delete()
    return deleted
