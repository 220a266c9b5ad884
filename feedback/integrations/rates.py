"""Rate limits per integration token: a counter per token and minute in the cache (Redis with
REDIS_URL, shared by every web process), incremented atomically."""

import time

from django.conf import settings
from django.core.cache import cache

from feedback.integrations.models import ApiToken

WINDOW_SECONDS = 60


def limit_for(token: ApiToken) -> int:
    return token.rate_per_minute or settings.BATON_API_RATE_PER_MINUTE


def hit(*, token: ApiToken, now: float | None = None) -> float | None:
    """Count one request of `token`; None when it is within its limit, else the seconds until the
    next window opens (the Retry-After)."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    key = f"api-rate:{token.pk}:{window}"
    cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=WINDOW_SECONDS * 2)
        count = 1
    if count <= limit_for(token):
        return None
    return max(1.0, (window + 1) * WINDOW_SECONDS - now)
