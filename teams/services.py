from .defaults import DEPARTMENTS
from .models import Assignment, Department, Membership


def ensure_default_departments() -> int:
    """Create any missing default department. Returns how many were created."""
    existing = set(Department.objects.values_list("slug", flat=True))
    missing = [Department(slug=slug, name=name, description=description)
               for slug, name, description in DEPARTMENTS if slug not in existing]
    Department.objects.bulk_create(missing)
    return len(missing)


def set_away(*, user, away: bool) -> int:
    """Mark a member away (no new cases) or back, in all their departments. Returns memberships changed.
    Each row is saved on its own so that the audit trail records the change (a person has a few)."""
    changed = list(Membership.objects.filter(user=user).exclude(away=away))
    for membership in changed:
        membership.away = away
        membership.save(update_fields=["away"])
    return len(changed)


def update_department_settings(*, department: Department, assignment: str, reopen_window) -> Department:
    """A head changes how the department assigns new cases and how long a resolved case may reopen."""
    if assignment not in Assignment.values:
        raise ValueError(f"Unknown assignment strategy {assignment!r}")
    department.assignment = assignment
    department.reopen_window = reopen_window
    department.save(update_fields=["assignment", "reopen_window"])
    return department
