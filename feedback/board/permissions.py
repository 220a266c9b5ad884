"""Who sees the board dashboard and who may drill down to customers' posts."""

from teams.models import Membership, Role
from teams.selectors import is_board


def can_view_board(*, user) -> bool:
    """Board members (and superusers), and department heads: aggregates only."""
    return is_board(user=user) or (
        user.is_authenticated and Membership.objects.filter(user=user, role=Role.HEAD).exists())


def can_drill_down(*, user) -> bool:
    """Customers' posts behind the figures need a department role (any department, any role)."""
    return user.is_authenticated and Membership.objects.filter(user=user).exists()
