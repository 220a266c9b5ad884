from .models import Membership, Role
from .selectors import is_board


def membership(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = list(Membership.objects.filter(user=user).select_related("department").order_by("department__name"))
    return {
        "my_departments": [membership.department for membership in memberships],
        # The board dashboard: board members, and department heads (feedback.board.permissions).
        "i_am_board": is_board(user=user) or any(membership.role == Role.HEAD for membership in memberships),
        "i_am_away": any(membership.away for membership in memberships),
        "i_manage_rules": user.is_superuser or any(membership.role == Role.HEAD for membership in memberships),
    }
