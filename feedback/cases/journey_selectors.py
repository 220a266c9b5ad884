"""Reads of the journey (handoffs, feedback up, problems), scoped to what the asking user may see."""

from django.db.models import Count, Q
from django.http import Http404

from feedback.cases.models import Case, FeedbackNote, Handoff, Problem
from feedback.choices import OPEN_STATUSES, HandoffStatus, ProblemStatus
from teams.models import Department, Membership, Role
from teams.selectors import department_ids_for


def case_for_viewer(*, user, case_id: int) -> Case:
    """The case, if the user may look at it: its department's members, the sending department of
    a pending handoff ("sent, awaiting acceptance") and departments it sent feedback to. Only
    the first may act on it (`can_act`). 404 otherwise, as `selectors.case_for_user`."""
    if not user.is_authenticated:
        raise Http404("No such case in your departments.")
    # The user's departments as a subquery: one query for the case (the page asks for the ids later).
    ids = Membership.objects.filter(user=user).values("department_id")
    visible = (
        Q(department_id__in=ids)
        | Q(pk__in=Handoff.objects.filter(status=HandoffStatus.PENDING, from_department_id__in=ids).values("case_id"))
        | Q(pk__in=FeedbackNote.objects.filter(to_department_id__in=ids).values("case_id"))
    )
    case = Case.objects.select_related("customer", "department", "assignee", "problem").filter(visible, pk=case_id).first()
    if case is None:
        raise Http404("No such case in your departments.")
    return case


def case_journey(*, case: Case, user) -> dict:
    """What the case page shows of the journey, and what this user may do there."""
    # One query for the user's departments and roles: a lead or head of the case's department assigns it to others.
    roles = dict(Membership.objects.filter(user=user).values_list("department_id", "role"))
    ids = set(roles)
    handoffs = list(case.handoffs.select_related("from_department", "to_department", "by").order_by("-created_at", "-id"))
    pending = next((handoff for handoff in handoffs if handoff.status == HandoffStatus.PENDING), None)
    owner = case.department_id in ids
    return {
        "pending_handoff": pending,
        "i_receive_handoff": pending is not None and pending.to_department_id in ids,
        "i_sent_handoff": pending is not None and pending.from_department_id in ids and not owner,
        "can_act": owner and pending is None,
        "may_assign": roles.get(case.department_id) in (Role.LEAD, Role.HEAD),
        "feedback_notes": list(
            case.feedback_notes.select_related("from_department", "to_department", "by", "acknowledged_by")
            .order_by("-created_at", "-id")
        ),
        "my_department_ids": ids,
    }


def handoff_for_user(*, user, handoff_id: int) -> Handoff:
    """A handoff from or to one of the user's departments; 404 otherwise."""
    return _between_users_departments(Handoff, user=user, pk=handoff_id, missing="No such handoff")


def feedback_for_user(*, user, feedback_id: int) -> FeedbackNote:
    """A feedback note from or to one of the user's departments; 404 otherwise."""
    return _between_users_departments(FeedbackNote, user=user, pk=feedback_id, missing="No such feedback")


def _between_users_departments(model, *, user, pk: int, missing: str):
    ids = department_ids_for(user=user)
    found = (
        model.objects.select_related("case", "from_department", "to_department")
        .filter(Q(from_department_id__in=ids) | Q(to_department_id__in=ids), pk=pk)
        .first()
    )
    if found is None:
        raise Http404(f"{missing} for your departments.")
    return found


def incoming_handoffs(*, user):
    """Pending handoffs to the user's departments, oldest first (the acceptance clock is running)."""
    return (
        Handoff.objects.filter(status=HandoffStatus.PENDING, to_department_id__in=department_ids_for(user=user))
        .select_related("case", "case__customer", "from_department", "to_department", "by")
        .order_by("created_at", "id")
    )


def sent_handoffs(*, user):
    """Pending handoffs from the user's departments: sent, awaiting acceptance."""
    return (
        Handoff.objects.filter(status=HandoffStatus.PENDING, from_department_id__in=department_ids_for(user=user))
        .select_related("case", "case__customer", "from_department", "to_department", "by")
        .order_by("created_at", "id")
    )


def feedback_inbox(*, user, limit: int = 100) -> dict:
    """Feedback to the user's departments: waiting for acknowledgement (oldest first), and the latest acknowledged."""
    notes = FeedbackNote.objects.filter(to_department_id__in=department_ids_for(user=user)).select_related(
        "case", "from_department", "to_department", "by", "acknowledged_by"
    )
    return {
        "waiting": list(notes.filter(acknowledged_at__isnull=True).order_by("created_at", "id")[:limit]),
        "acknowledged": list(notes.filter(acknowledged_at__isnull=False).order_by("-acknowledged_at", "-id")[:limit]),
    }


def journey_counts(*, user) -> dict[str, int]:
    """Pending handoffs and unacknowledged feedback for the user's departments, in one query."""
    return Department.objects.filter(memberships__user=user).aggregate(
        incoming=Count("handoffs_in", filter=Q(handoffs_in__status=HandoffStatus.PENDING), distinct=True),
        feedback=Count("feedback_in", filter=Q(feedback_in__acknowledged_at__isnull=True), distinct=True),
    )


def problems(*, department_id: int | None = None, status: str | None = ProblemStatus.OPEN):
    """Problems with counts of their linked cases, newest first."""
    queryset = Problem.objects.select_related("owner_department", "created_by").annotate(
        open_cases=Count("cases", filter=Q(cases__status__in=OPEN_STATUSES)),
        total_cases=Count("cases"),
    )
    if department_id is not None:
        queryset = queryset.filter(owner_department_id=department_id)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-created_at", "-id")


def problem_detail(*, problem_id: int, user) -> dict:
    problem = Problem.objects.select_related("owner_department", "created_by").filter(pk=problem_id).first()
    if problem is None:
        raise Http404("No such problem.")
    ids = department_ids_for(user=user)
    return {
        "problem": problem,
        "cases": list(problem.cases.select_related("department", "customer").order_by("-created_at", "-id")),
        "my_department_ids": ids,
        "i_own_problem": problem.owner_department_id in ids,
    }
