"""Rate limits per integration token: a counter per token and minute in the cache (Redis with
REDIS_URL, shared by every web process), incremented atomically."""

import functools
import time

import redis
from django.conf import settings
from django.core.cache import cache

from feedback.integrations.models import ApiToken

WINDOW_SECONDS = 60


@functools.cache
def _redis():
    """A Redis client on REDIS_URL (the cache's server), or None on the embedded stack (then the local cache counts)."""
    url = getattr(settings, "REDIS_URL", "")
    return redis.Redis.from_url(url) if url else None


def limit_for(token: ApiToken) -> int:
    return token.rate_per_minute or settings.BATON_API_RATE_PER_MINUTE


def hit(*, token: ApiToken, now: float | None = None) -> float | None:
    """Count one request of `token`; None when it is within its limit, else the seconds until the
    next window opens (the Retry-After)."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    key = f"api-rate:{token.pk}:{window}"
    client = _redis()
    if client is not None:  # one round trip: INCR and EXPIRE in a pipeline
        count, _ = client.pipeline(transaction=False).incr(key).expire(key, WINDOW_SECONDS * 2).execute()
    else:
        cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=WINDOW_SECONDS * 2)
            count = 1
    if count <= limit_for(token):
        return None
    return max(1.0, (window + 1) * WINDOW_SECONDS - now)
