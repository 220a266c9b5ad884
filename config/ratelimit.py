"""Rate limits: fixed-window counters shared by every web process, and the client address they count by.

`hit(scope, key, limit)` counts one event and says whether it is within `limit` and, when it is not, how many
seconds until the window ends (the `Retry-After` to answer); `peek` says whether a count kept by `hit` has
reached its limit, counting nothing. A limit is written "N/second", "N/minute" or
"N/hour"; "0/minute" (or an empty string) turns it off. When the counter store cannot be reached the event is
allowed (and logged): a Redis outage must not refuse genuine traffic.

With REDIS_URL the counters live in that Redis (the cache's server), and a `hit` is one round trip: INCR and
EXPIRE in one pipeline; `peek` is one GET. Without it (the embedded stack) they live in Django's cache (in
process).

Used by the webhooks (per source address, its refused deliveries, and per account for refused deliveries) and by
the API's per-token limit (`feedback.integrations.rates`); any other endpoint can use it with a scope of its own.
"""

import functools
import hashlib
import logging
import math
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

PERIODS = {"second": 1, "minute": 60, "hour": 3600}


@dataclass(frozen=True)
class Limit:
    count: int  # events allowed per window; 0 = no limit
    seconds: int

    @property
    def off(self) -> bool:
        return self.count <= 0


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int  # events in this window so far, this one included (0 when the limit is off or the cache is down)
    retry_after: int  # whole seconds until the window ends


def parse_limit(text: str) -> Limit:
    """ "120/minute" -> Limit(120, 60). Raises ValueError for anything else (settings fail loudly)."""
    if not text or not text.strip():
        return Limit(0, 60)
    count, _, period = text.strip().partition("/")
    period = period.strip().lower().rstrip("s") or "minute"
    if period not in PERIODS or not count.strip().isascii() or not count.strip().isdigit():
        raise ValueError(f"A rate limit is written N/second, N/minute or N/hour, not {text!r}.")
    return Limit(int(count), PERIODS[period])


def _window(scope: str, key: str, limit: Limit, now: float | None) -> tuple[str, int]:
    """(the cache key of the window `now` is in, seconds until that window ends)."""
    now = time.time() if now is None else now
    window = int(now // limit.seconds)
    retry_after = max(1, math.ceil((window + 1) * limit.seconds - now))
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"baton:rate:{scope}:{limit.seconds}:{window}:{digest}", retry_after


@functools.cache
def _redis_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def counters() -> redis.Redis | None:
    """The Redis that keeps the counters (REDIS_URL's, one client per process), or None: Django's cache keeps them."""
    url = getattr(settings, "REDIS_URL", "")
    return _redis_for(url) if url else None


def _count(cache_key: str, ttl: int) -> int:
    """Add one to the window's counter; its new value."""
    client = counters()
    if client is not None:  # one round trip
        count, _ = client.pipeline(transaction=False).incr(cache_key).expire(cache_key, ttl).execute()
        return int(count)
    if cache.add(cache_key, 1, timeout=ttl):
        return 1
    try:
        return cache.incr(cache_key)
    except ValueError:  # expired between add and incr: a new window
        cache.add(cache_key, 1, timeout=ttl)
        return 1


def _read(cache_key: str) -> int:
    client = counters()
    return int((client.get(cache_key) if client is not None else cache.get(cache_key)) or 0)


def peek(scope: str, key: str, limit: Limit, *, now: float | None = None) -> Decision:
    """Whether `key` is still within `limit` in this window, counting nothing (for a count kept by `hit` on
    another event: an address's refused deliveries, checked before each delivery)."""
    if limit.off:
        return Decision(True, 0, 0)
    cache_key, retry_after = _window(scope, key, limit, now)
    try:
        count = _read(cache_key)
    except Exception:  # noqa: BLE001 - the counters are down: allow, say so in the log
        logger.warning("Rate limit %s: the counters cannot be reached; allowing", scope, exc_info=True)
        return Decision(True, 0, 0)
    return Decision(count < limit.count, count, retry_after)


def hit(scope: str, key: str, limit: Limit, *, now: float | None = None) -> Decision:
    """Count one event of `key` in `scope`; allowed while the window's count is within the limit."""
    if limit.off:
        return Decision(True, 0, 0)
    cache_key, retry_after = _window(scope, key, limit, now)
    try:
        count = _count(cache_key, limit.seconds + 5)
    except Exception:  # noqa: BLE001 - the counters are down: allow, say so in the log
        logger.warning("Rate limit %s: the counters cannot be reached; allowing", scope, exc_info=True)
        return Decision(True, 0, 0)
    return Decision(count <= limit.count, count, retry_after)


def client_ip(request) -> str | None:
    """The address a request comes from: the peer, or behind a trusted proxy (DJANGO_TRUSTED_PROXY) the address
    that proxy appended last to X-Forwarded-For. Without a trusted proxy the header is ignored: a client could
    send a new address with every request. django-axes counts failed logins by it; the webhooks' limits too."""
    if settings.BATON_TRUSTED_PROXY:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR")
