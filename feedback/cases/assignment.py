"""Who gets a new case inside its department.

Each department chooses a strategy (`Department.assignment`): round robin among its available
agents, the available agent with the fewest open cases, or none. Away members (`Membership.away`)
get nothing. A routing rule may say "assign to a lead" instead: the available lead (else head)
with the fewest open cases in the department.

Concurrency: `assign` locks the departments' rows (in id order, after the customer and case locks
`attach_mentions` takes) and keeps the round-robin pointer (`assignment_cursor`, the user id
assigned last) on that row, so two workers never hand the same turn out twice and never read
stale open-case counts. The lock lasts until the caller's transaction commits.
"""

from collections import Counter, defaultdict
from collections.abc import Sequence

from django.db import transaction
from django.db.models import Count

from feedback.cases.models import Case
from feedback.choices import OPEN_STATUSES
from teams.models import Assignment, Department, Membership, Role


def _least_open(user_ids: list[int], counts: Counter, department_id: int) -> int:
    return min(user_ids, key=lambda user_id: (counts[(department_id, user_id)], user_id))


def _next_in_turn(user_ids: list[int], cursor: int) -> int:
    return next((user_id for user_id in user_ids if user_id > cursor), user_ids[0])


def assign(*, cases: Sequence[Case], to_lead: Sequence[bool] | None = None) -> None:
    """Set `assignee_id` on new (unsaved or saved) cases, in order. Three queries per batch."""
    if not cases:
        return
    to_lead = list(to_lead) if to_lead is not None else [False] * len(cases)
    department_ids = sorted({case.department_id for case in cases})
    with transaction.atomic():
        departments = {
            department.pk: department
            for department in Department.objects.select_for_update().filter(pk__in=department_ids).order_by("pk")
        }
        agents: dict[int, list[int]] = defaultdict(list)
        leads: dict[int, list[int]] = defaultdict(list)
        heads: dict[int, list[int]] = defaultdict(list)
        members = (
            Membership.objects.filter(department_id__in=department_ids, away=False, user__is_active=True)
            .order_by("user_id").values_list("department_id", "user_id", "role")
        )
        for department_id, user_id, role in members:
            {Role.AGENT: agents, Role.LEAD: leads, Role.HEAD: heads}[role][department_id].append(user_id)

        counts: Counter = Counter()
        if any(to_lead) or any(d.assignment == Assignment.LEAST_OPEN for d in departments.values()):
            rows = (
                Case.objects.filter(department_id__in=department_ids, status__in=OPEN_STATUSES,
                                    assignee_id__isnull=False)
                .values_list("department_id", "assignee_id").annotate(n=Count("id")).order_by()
            )
            counts.update({(department_id, user_id): n for department_id, user_id, n in rows})

        moved: set[int] = set()
        for case, lead in zip(cases, to_lead, strict=True):
            department = departments[case.department_id]
            if lead:
                candidates = leads[department.pk] or heads[department.pk]
                user_id = _least_open(candidates, counts, department.pk) if candidates else None
            elif department.assignment == Assignment.NONE or not agents[department.pk]:
                user_id = None
            elif department.assignment == Assignment.LEAST_OPEN:
                user_id = _least_open(agents[department.pk], counts, department.pk)
            else:
                user_id = _next_in_turn(agents[department.pk], department.assignment_cursor)
                department.assignment_cursor = user_id
                moved.add(department.pk)
            case.assignee_id = user_id
            if user_id is not None:
                counts[(department.pk, user_id)] += 1
        if moved:
            Department.objects.bulk_update([departments[pk] for pk in sorted(moved)], ["assignment_cursor"])
