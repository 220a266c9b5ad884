"""Signing in: Django's ModelBackend that refuses the demo logins when DEBUG is off, and the client address
that login throttling (django-axes) counts.

`manage.py seed_demo` creates its users with one published password, and only while DEBUG is on. A database
seeded that way must not open to that password once DEBUG is off: with DEBUG off this backend refuses the demo
password for every username, and ends the sessions of the demo users who still have it (a session opened
while DEBUG was on). A demo user whose password was changed signs in as anyone else.
"""

from functools import lru_cache

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import check_password
from django.contrib.sessions.models import Session
from django.utils import timezone
from rest_framework.authtoken.models import Token

from config.ratelimit import client_ip  # noqa: F401 - AXES_CLIENT_IP_CALLABLE names it here

DEMO_PASSWORD = "baton-demo"  # noqa: S105 - published on purpose: the demo's logins, refused with DEBUG off
# The usernames `seed_demo` creates (feedback.demo.DEMO_USERS; a test keeps the two lists equal).
DEMO_USERNAMES = frozenset({
    "marketing", "sales", "after-sales", "service", "service-agent", "service-head", "product", "hr", "legal", "board",
    "admin",
})


@lru_cache(maxsize=256)
def _is_demo_hash(encoded: str) -> bool:
    """Whether a stored password hash is the demo password's. Cached by the hash itself, so each user's
    costs one hash check per process, and a changed password is a new key."""
    return check_password(DEMO_PASSWORD, encoded)


def has_demo_password(user) -> bool:
    return bool(user.password) and user.has_usable_password() and _is_demo_hash(user.password)


class Backend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if not settings.DEBUG and password == DEMO_PASSWORD:
            return None  # as a wrong password: django-axes counts it
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user(self, user_id):
        user = super().get_user(user_id)
        if user is not None and not settings.DEBUG and user.get_username() in DEMO_USERNAMES and has_demo_password(user):
            return None  # the session is treated as signed out
        return user


def revoke_access(*, user, deactivate: bool = False) -> dict[str, int]:
    """End every session of `user` and delete their API token (`manage.py revoke_access`); with `deactivate`,
    also refuse them from now on (an inactive user's session and token are refused everywhere).

    The user signs in again with their password, if they still have one and are active; a new token is made
    in the admin (Auth Token). A password change, in the admin or by the user, also ends their other sessions.
    """
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
            ended += 1
    tokens, _ = Token.objects.filter(user=user).delete()
    if deactivate and user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    return {"sessions": ended, "tokens": tokens}
