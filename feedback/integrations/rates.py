"""Rate limits per integration token: `config.ratelimit`'s fixed windows (one Redis round trip a request with
REDIS_URL), a window of a minute per token, its own limit or BATON_API_RATE_PER_MINUTE (0: no limit)."""

from django.conf import settings

from config import ratelimit
from feedback.integrations.models import ApiToken

WINDOW_SECONDS = 60
SCOPE = "api-token"


def limit_for(token: ApiToken) -> int:
    return token.rate_per_minute or settings.BATON_API_RATE_PER_MINUTE


def hit(*, token: ApiToken, now: float | None = None) -> int | None:
    """Count one request of `token`; None when it is within its limit, else the seconds until the
    next window opens (the Retry-After)."""
    decision = ratelimit.hit(SCOPE, str(token.pk), ratelimit.Limit(limit_for(token), WINDOW_SECONDS), now=now)
    return None if decision.allowed else decision.retry_after
