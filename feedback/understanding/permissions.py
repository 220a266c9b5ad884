"""Who may see and manage promises: reads on memberships, below both the promise services (which
check them before a write) and the selectors and pages (which show what a user may do)."""

from teams.models import BoardSeat, Membership, Role
from teams.selectors import is_board

MANAGING_DEPARTMENT = "marketing"


def can_manage_promises(*, user) -> bool:
    """Marketing leads and heads (and superusers): marketing owns what the company promises."""
    if user is None or not user.is_authenticated:
        return False
    return user.is_superuser or Membership.objects.filter(
        user=user, department__slug=MANAGING_DEPARTMENT, role__in=[Role.LEAD, Role.HEAD]
    ).exists()


def can_view_promises(*, user) -> bool:
    """Department members, and board members (the board reads promises, with aggregates only)."""
    if user is None or not user.is_authenticated:
        return False
    return can_see_posts(user=user) or is_board(user=user)


def can_see_posts(*, user) -> bool:
    """The customers' posts matched to a promise: department members (and superusers) only."""
    if user is None or not user.is_authenticated:
        return False
    return user.is_superuser or Membership.objects.filter(user=user).exists()


def can_view_promise_list(*, user) -> bool:
    """The promise list (names, targets and gap figures, no customer's post): members, and the board (read-only)."""
    return can_view_promises(user=user) or (
        user is not None and user.is_authenticated and BoardSeat.objects.filter(user=user).exists())
