"""Rate limits per integration token (feedback.integrations.rates): 429 with Retry-After."""

from rest_framework.throttling import BaseThrottle

from feedback.api.permissions import token_of
from feedback.integrations import rates


class TokenRateThrottle(BaseThrottle):
    def allow_request(self, request, view):
        token = token_of(request)
        if token is None:
            return True
        self._wait = rates.hit(token=token)
        return self._wait is None

    def wait(self):
        return getattr(self, "_wait", None)
