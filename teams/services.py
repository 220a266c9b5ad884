from .defaults import DEPARTMENTS
from .models import Department


def ensure_default_departments() -> int:
    """Create any missing default department. Returns how many were created."""
    existing = set(Department.objects.values_list("slug", flat=True))
    missing = [Department(slug=slug, name=name, description=description)
               for slug, name, description in DEPARTMENTS if slug not in existing]
    Department.objects.bulk_create(missing)
    return len(missing)
