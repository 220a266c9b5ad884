"""Scopes: each API view names the scope each of its methods needs (`required_scopes`)."""

from rest_framework import permissions

from feedback.integrations.models import ApiToken


def token_of(request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


class HasScope(permissions.BasePermission):
    """An integration token needs the view's scope for the method. A person (session or user token) is
    let in as an administrator (superuser) only, or, for a method the view maps in `user_permissions`, with
    that Django permission (the mention intake's `feedback.add_mention`, as before scopes existed)."""

    def has_permission(self, request, view):
        scope = view.required_scopes.get(request.method)
        if request.method == "OPTIONS" or request.method == "HEAD":
            scope = view.required_scopes.get("GET")
        token = token_of(request)
        if token is not None:
            if scope is not None and scope in token.scopes:
                return True
            self.message = f"This token lacks the `{scope}` scope." if scope else "Not allowed."
            return False
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if user.is_superuser:
            return True
        permission = getattr(view, "user_permissions", {}).get(request.method)
        if permission and user.has_perm(permission):
            return True
        self.message = f"Use an integration token with the `{scope}` scope." if scope else "Use an integration token."
        if permission:
            self.message = (f"This token may not do this: use an integration token with the `{scope}` scope, or a "
                            f"user token with the {permission} permission.")
        return False
