"""Problems: one underlying cause (a defect, a policy, a region or store) that explains several
cases, owned by one department and fixed once.

A case is linked from its page by its own department; resolving the problem (owner department
only) resolves its linked open cases, or tells each of them on its timeline.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from config.errors import NotAllowed, TransitionError
from feedback.board import upkeep
from feedback.cases import events
from feedback.cases.locks import lock_case, lock_cases
from feedback.cases.models import Case, Problem
from feedback.cases.transitions import check_member, move_status
from feedback.choices import OPEN_STATUSES, CaseStatus, HandoffStatus, ProblemStatus
from teams.selectors import department_ids_for


def link_case(*, case: Case, by, problem: Problem | None = None, title: str = "", description: str = "",
              now: datetime | None = None) -> Problem:
    """Link the case to an open problem of any department, or to a new problem (given a title)
    that the case's department owns. Returns the problem."""
    now = now or timezone.now()
    title = (title or "").strip()
    if problem is None and not title:
        raise TransitionError("Choose an open problem or give a new one a title.", code="invalid",
                              fields={"problem": ["Choose a problem, or write a title for a new one."]})
    with transaction.atomic():
        case = lock_case(case.pk)
        check_member(user=by, case=case)
        if problem is None:
            problem = Problem(title=title[:200], description=(description or "").strip(),
                              owner_department=case.department, created_by=by, created_at=now)
            problem._history_user = by  # the audit log's who (django-simple-history), whatever the caller
            problem.save(force_insert=True)
        else:
            problem = Problem.objects.select_related("owner_department").get(pk=problem.pk)
            if problem.status != ProblemStatus.OPEN:
                raise TransitionError(f"{problem} is resolved; link the case to an open problem.",
                                      fields={"problem": ["Choose an open problem."]})
            if case.problem_id == problem.pk:
                raise TransitionError(f"The case is already linked to {problem}.",
                                      fields={"problem": ["Choose another problem."]})
        previous = case.problem_id
        case.problem = problem
        case.save(update_fields=["problem", "updated_at"])
        events.add(events.problem_linked(case=case, problem=problem, previous=previous, actor=by, now=now))
    return problem


def resolve_problem(*, problem: Problem, by, note: str, resolve_cases: bool, now: datetime | None = None) -> dict:
    """Resolve the problem (its owner department only). Each linked open case gets a timeline
    event; with `resolve_cases`, it is resolved too, unless it waits for a handoff to be accepted.
    Returns {"resolved": n, "notified": m}."""
    now = now or timezone.now()
    note = (note or "").strip()
    if not note:
        raise TransitionError("Resolving a problem needs a note.", code="invalid",
                              fields={"note": ["Say what fixed the underlying cause."]})
    with transaction.atomic():
        problem = Problem.objects.select_for_update(of=("self",)).select_related("owner_department").get(pk=problem.pk)
        if by is not None and problem.owner_department_id not in department_ids_for(user=by):
            raise NotAllowed(f"Only members of {problem.owner_department} can resolve this problem.")
        if problem.status != ProblemStatus.OPEN:
            raise TransitionError(f"{problem} is already resolved.")
        problem.status, problem.resolved_at, problem.resolution = ProblemStatus.RESOLVED, now, note
        problem._history_user = by
        problem.save(update_fields=["status", "resolved_at", "resolution"])
        upkeep.names_changed()  # the board's closing-the-loop panel measures the gap before and after this day

        # Locks in the usual order: the customers, then their cases.
        cases = lock_cases(Case.objects.filter(problem=problem, status__in=OPEN_STATUSES))
        waiting = set(
            Case.objects.filter(pk__in=[case.pk for case in cases], handoffs__status=HandoffStatus.PENDING)
            .values_list("pk", flat=True)
        )
        counts = {"resolved": 0, "notified": 0}
        for case in cases:
            resolving = resolve_cases and case.pk not in waiting
            events.add(events.problem_fixed(case=case, problem=problem, note=note, resolved=resolving, actor=by,
                                            now=now))
            if resolving:
                move_status(case=case, to=CaseStatus.RESOLVED, now=now, actor=by,
                            reason=f"Problem #{problem.pk} resolved: {note}")
                counts["resolved"] += 1
            else:
                counts["notified"] += 1
    return counts
