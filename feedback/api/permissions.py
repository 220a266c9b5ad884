"""Scopes: each API view names the scope each of its methods needs (`required_scopes`): one scope, or a tuple
of scopes that a token must all hold (the per-customer export reads customers, cases and mentions at once)."""

from rest_framework import permissions

from feedback.integrations.models import ApiToken


def token_of(request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


def scopes_needed(view, method: str) -> tuple[str, ...]:
    """The scopes a method of the view needs (HEAD and OPTIONS: those of GET); empty when it names none."""
    if method in ("HEAD", "OPTIONS"):
        method = "GET"
    needed = view.required_scopes.get(method)
    if needed is None:
        return ()
    return (needed,) if isinstance(needed, str) else tuple(needed)


def scope_text(scopes: tuple[str, ...]) -> str:
    """`a`, or `a`, `b` and `c`."""
    names = [f"`{scope}`" for scope in scopes]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


class HasScope(permissions.BasePermission):
    """An integration token needs the view's scope for the method. A person (session or user token) is
    let in as an administrator (superuser) only, or, for a method the view maps in `user_permissions`, with
    that Django permission (the mention intake's `feedback.add_mention`, as before scopes existed)."""

    def has_permission(self, request, view):
        needed = scopes_needed(view, request.method)
        token = token_of(request)
        if token is not None:
            missing = tuple(scope for scope in needed if scope not in token.scopes)
            if needed and not missing:
                return True
            self.message = (f"This token lacks the {scope_text(missing)} scope{'s' if len(missing) > 1 else ''}."
                            if missing else "Not allowed.")
            return False
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if user.is_superuser:
            return True
        permission = getattr(view, "user_permissions", {}).get(request.method)
        if permission and user.has_perm(permission):
            return True
        wanted = f"the {scope_text(needed)} scope{'s' if len(needed) > 1 else ''}" if needed else ""
        self.message = f"Use an integration token with {wanted}." if needed else "Use an integration token."
        if permission:
            self.message = (f"This token may not do this: use an integration token with {wanted}, or a "
                            f"user token with the {permission} permission.")
        return False
