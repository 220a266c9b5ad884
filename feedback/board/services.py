"""A head confirms a suggested problem: it becomes a problem of their department, with the
department's cases among the cluster's complaints linked to it (through `cases.problems.link_case`)."""

from django.db import transaction

from config.errors import NotAllowed, TransitionError
from feedback.board import upkeep
from feedback.board.models import SuggestedProblem
from feedback.cases import problems
from feedback.cases.models import Case, Problem
from feedback.choices import OPEN_STATUSES
from teams.models import Department, Role
from teams.selectors import role_in


def confirm_suggestion(*, suggestion: SuggestedProblem, department: Department, by) -> tuple[Problem, int]:
    """Returns (the new problem, how many cases were linked to it). Heads of `department` only."""
    if not (by.is_superuser or role_in(user=by, department_id=department.pk) == Role.HEAD):
        raise NotAllowed(f"Only a head of {department} can confirm a problem for it.")
    cases = list(Case.objects.filter(mentions__id__in=suggestion.mention_ids, department=department,
                                     status__in=OPEN_STATUSES).distinct().order_by("pk"))
    description = "Suggested from clustered complaints: " + ", ".join(suggestion.terms) + "; " + ", ".join(
        f"{name} {value[0]} ({round(100 * value[1])}%)" for name, value in suggestion.attributes.items())
    with transaction.atomic():
        locked = SuggestedProblem.objects.select_for_update().filter(pk=suggestion.pk).first()
        if locked is None:
            raise TransitionError("This suggestion was confirmed or replaced meanwhile.")
        problem = None
        for case in cases:
            problem = problems.link_case(case=case, by=by, problem=problem, title=suggestion.title,
                                         description=description)
        if problem is None:
            problem = Problem.objects.create(title=suggestion.title[:200], description=description,
                                             owner_department=department, created_by=by)
        locked.delete()
        upkeep.names_changed()  # the board lists the suggestions still to confirm
    return problem, len(cases)
