"""Who may see what. Every page and API view asks these, never the models directly."""

from .models import BoardSeat, Department, Membership, Role


def roles_for(*, user) -> dict[int, str]:
    """{department id: role} of the user's memberships, in one query (who works where, and who assigns)."""
    if not user.is_authenticated:
        return {}
    return dict(Membership.objects.filter(user=user).values_list("department_id", "role"))


def department_ids_for(*, user) -> set[int]:
    if not user.is_authenticated:
        return set()
    return set(Membership.objects.filter(user=user).values_list("department_id", flat=True))


def departments_for(*, user):
    return Department.objects.filter(memberships__user=user).distinct().order_by("name")


def is_board(*, user) -> bool:
    return user.is_authenticated and (user.is_superuser or BoardSeat.objects.filter(user=user).exists())


def role_in(*, user, department_id: int) -> str | None:
    return (
        Membership.objects.filter(user=user, department_id=department_id).values_list("role", flat=True).first()
    )


def led_department_ids(*, user) -> set[int]:
    """The departments where `user` is a lead or head: where they assign cases to others."""
    if not user.is_authenticated:
        return set()
    return set(Membership.objects.filter(user=user, role__in=[Role.LEAD, Role.HEAD])
               .values_list("department_id", flat=True))


def leads_of(*, department_id: int):
    return Membership.objects.filter(department_id=department_id, role__in=[Role.LEAD, Role.HEAD]).select_related(
        "user"
    )


def headed_departments(*, user):
    """Departments whose settings and routing rules the user may manage: a head's, or all for a superuser."""
    if not user.is_authenticated:
        return Department.objects.none()
    if user.is_superuser:
        return Department.objects.order_by("name")
    return Department.objects.filter(memberships__user=user, memberships__role=Role.HEAD).distinct().order_by("name")


def is_away(*, user) -> bool:
    return user.is_authenticated and Membership.objects.filter(user=user, away=True).exists()
