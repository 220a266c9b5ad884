"""Integration tokens on the API: `Authorization: Bearer bat_...` (or `Token bat_...`).

A user's DRF token (`Token <40 hex>`) and a signed-in session still authenticate as the user
(settings' DEFAULT_AUTHENTICATION_CLASSES lists this class first)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from feedback.integrations.models import ApiToken
from feedback.integrations.services import KEY_PREFIX, token_for_key


class IntegrationUser:
    """Who an integration token authenticates as: not a person, no Django permissions, only its scopes."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = id = None

    def __init__(self, token: ApiToken):
        self.token = token
        self.username = f"integration:{token.name}"

    def get_username(self) -> str:
        return self.username

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def __str__(self):
        return self.username


class IntegrationTokenAuthentication(authentication.BaseAuthentication):
    keywords = (b"bearer", b"token")

    def authenticate(self, request):
        words = authentication.get_authorization_header(request).split()
        if not words or words[0].lower() not in self.keywords:
            return None
        if len(words) != 2:
            if words[0].lower() == b"bearer":
                raise exceptions.AuthenticationFailed("Send `Authorization: Bearer <key>`, the key without spaces.")
            return None  # a malformed `Token` header: DRF's TokenAuthentication says why
        try:
            key = words[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if not key.startswith(KEY_PREFIX):
            if words[0].lower() == b"bearer":
                raise exceptions.AuthenticationFailed("Invalid token.")
            return None  # a user's DRF token
        token = token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        return IntegrationUser(token), token

    def authenticate_header(self, request):
        return "Token"


class IntegrationTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes integration tokens."""

    target_class = "feedback.api.authentication.IntegrationTokenAuthentication"
    name = "integrationToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "An integration token (`bat_...`) made by an administrator at /integrations/tokens/; "
                               "each operation needs one scope (see its description)."}
