"""API tokens (DRF's authtoken), for code outside the API that hands one out: the demo's and the
bench's integration users. Django REST framework stays inside feedback/api/."""

from rest_framework.authtoken.models import Token


def api_token(*, user) -> tuple[str, bool]:
    """The user's API token key, created when missing: (key, created)."""
    token, created = Token.objects.get_or_create(user=user)
    return token.key, created
