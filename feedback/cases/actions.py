"""Case actions of the portal: take, assign, priority, pending and resume.

Each locks the case (`locks.lock_case`), checks that `by` may work it (`transitions.check_member`),
writes a typed timeline entry (`events`) and, for status changes, goes through
`transitions.move_status` (pending pauses the customer clocks through `sla.clocks.pause_clocks`,
resuming restarts them with the time they had left).

(Written by the portal-case branch for the case page; the portal-inbox branch owns the inbox's bulk
versions: the lead reconciles the two at merge.)
"""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from config.errors import NotAllowed, TransitionError
from feedback.cases import events
from feedback.cases.locks import lock_case
from feedback.cases.models import Case
from feedback.cases.transitions import check_member, move_status
from feedback.choices import CaseStatus, Priority
from teams.models import Membership, Role


def _open(case: Case, action: str) -> None:
    if not case.is_open:
        raise TransitionError(f"A {case.get_status_display().lower()} case cannot be {action}; reopen it first.")


def _set_assignee(*, case: Case, assignee, by, now: datetime) -> Case:
    previous = case.assignee
    if previous == assignee:
        return case
    case.assignee = assignee
    case.save(update_fields=["assignee", "updated_at"])
    events.add(events.assigned(case=case, assignee=assignee, previous=previous, actor=by, now=now))
    return case


def take_case(*, case: Case, user, now: datetime | None = None) -> Case:
    """The user takes the case: it is assigned to them."""
    now = now or timezone.now()
    with transaction.atomic():
        case = lock_case(case.pk)
        check_member(user=user, case=case)
        _open(case, "taken")
        if case.assignee_id == user.pk:
            raise TransitionError("This case is already yours.")
        return _set_assignee(case=case, assignee=user, by=user, now=now)


def assign_case(*, case: Case, assignee, by, now: datetime | None = None) -> Case:
    """A lead or head assigns the case to a member of its department (None: unassigned).
    An agent may assign it only to themselves (taking it) or unassign themselves."""
    now = now or timezone.now()
    with transaction.atomic():
        case = lock_case(case.pk)
        check_member(user=by, case=case)
        _open(case, "assigned")
        lead = Membership.objects.filter(user=by, department_id=case.department_id,
                                         role__in=[Role.LEAD, Role.HEAD]).exists()
        themselves = assignee is not None and assignee.pk == by.pk
        dropping_own = assignee is None and case.assignee_id == by.pk
        if not (lead or themselves or dropping_own):
            raise NotAllowed(f"Only a lead or head of {case.department} assigns cases to others.")
        if assignee is not None:
            if not Membership.objects.filter(user=assignee, department_id=case.department_id,
                                             user__is_active=True).exists():
                raise TransitionError(f"{assignee} is not a member of {case.department}.", code="invalid",
                                      fields={"assignee": [f"Choose a member of {case.department}."]})
            assignee = get_user_model().objects.get(pk=assignee.pk)
        return _set_assignee(case=case, assignee=assignee, by=by, now=now)


def set_priority(*, case: Case, priority: str, by, now: datetime | None = None) -> Case:
    """Change the case's priority. Running SLA clocks keep their targets (a clock keeps what it was
    started with); clocks started from now on use the new priority's policy."""
    now = now or timezone.now()
    if priority not in Priority.values:
        raise TransitionError(f"Unknown priority {priority!r}.", code="invalid",
                              fields={"priority": [f"Choose one of {', '.join(Priority.values)}."]})
    with transaction.atomic():
        case = lock_case(case.pk)
        check_member(user=by, case=case)
        _open(case, "re-prioritised")
        if case.priority == priority:
            return case
        previous, case.priority = case.priority, priority
        case.save(update_fields=["priority", "updated_at"])
        events.add(events.priority_changed(case=case, from_=previous, to=priority, actor=by, now=now))
        return case


def set_pending(*, case: Case, by, note: str = "", now: datetime | None = None) -> Case:
    """The case waits on the customer: its customer clocks pause (`move_status`)."""
    now = now or timezone.now()
    with transaction.atomic():
        case = lock_case(case.pk)
        check_member(user=by, case=case)
        move_status(case=case, to=CaseStatus.PENDING, now=now, actor=by,
                    reason=(note or "").strip() or "Waiting on the customer.")
        return case


def resume_case(*, case: Case, by, now: datetime | None = None) -> Case:
    """Back from pending: the paused clocks count again from where they stopped."""
    now = now or timezone.now()
    with transaction.atomic():
        case = lock_case(case.pk)
        check_member(user=by, case=case)
        if case.status != CaseStatus.PENDING:
            raise TransitionError("Only a pending case can be resumed.")
        move_status(case=case, to=CaseStatus.OPEN, now=now, actor=by, reason="Resumed.")
        return case
