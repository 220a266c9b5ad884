"""The everyday actions on a case: take, assign, priority, pending and resume, mark spam, and the
inbox's bulk form of these (plus resolve and hand off, from `services`).

Each action is a plain keyword-only service: it locks the case (`locks.lock_case`: customer, then
case), checks that `by` may work it (`transitions.check_member`), changes it, writes one timeline
event (`events`) and, for status changes, goes through `transitions.move_status` so the SLA clocks
follow (pending pauses the customer clocks, resume restarts them with the time they had left).
The inbox's bulk actions and the case page call the same functions. Only a lead or head of the case's
department assigns a case to someone else; an agent takes a case or gives their own back.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from config.errors import BatonError, NotAllowed, TransitionError
from feedback.cases import events
from feedback.cases import services as case_services
from feedback.cases.locks import lock_case
from feedback.cases.models import Case
from feedback.cases.transitions import check_member, move_status
from feedback.choices import CaseStatus, Intent, Label, Priority
from feedback.understanding.labels import correct_label
from teams.models import Department, Membership
from teams.selectors import department_ids_for, led_department_ids

SPAM_TAG = "spam"


def _open(case: Case, verb: str) -> None:
    if not case.is_open:
        raise TransitionError(f"A {case.get_status_display().lower()} case cannot be {verb}; reopen it first.")


def _set_assignee(*, case: Case, assignee, by, now: datetime) -> Case:
    if case.assignee_id == (assignee.pk if assignee else None):
        return case
    previous = case.assignee
    case.assignee = assignee
    case.save(update_fields=["assignee", "updated_at"])
    events.add(events.assigned(case=case, from_=previous, to=assignee, actor=by, now=now))
    return case


def take_case(*, case: Case, by, now: datetime | None = None) -> Case:
    """`by` takes the case: they become its assignee."""
    return assign_case(case=case, assignee=by, by=by, now=now)


def assign_case(*, case: Case, assignee, by, now: datetime | None = None) -> Case:
    """Give the case to `assignee` (a member of the case's department), or to nobody (None).
    A lead or head assigns anyone of the department; an agent only themselves (taking it) or nobody
    (giving their own case back). Assigning to the current assignee changes nothing and writes no event."""
    now = now or timezone.now()
    with transaction.atomic():
        case = lock_case(case.pk)
        check_member(user=by, case=case)
        _open(case, "assigned")
        lead = case.department_id in led_department_ids(user=by)
        themselves = assignee is not None and assignee.pk == by.pk
        dropping_own = assignee is None and case.assignee_id == by.pk
        if not (lead or themselves or dropping_own):
            raise NotAllowed(f"Only a lead or head of {case.department} assigns cases to others.")
        if assignee is not None and not Membership.objects.filter(
            user=assignee, department_id=case.department_id, user__is_active=True
        ).exists():
            raise TransitionError(
                f"{assignee.get_full_name() or assignee.get_username()} is not a member of {case.department}.",
                code="invalid", fields={"assignee": [f"Choose a member of {case.department}."]},
            )
        return _set_assignee(case=case, assignee=assignee, by=by, now=now)


def set_priority(*, case: Case, priority: str, by, now: datetime | None = None) -> Case:
    """Change the case's priority (the clocks already running keep their targets)."""
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
        previous = case.priority
        case.priority = priority
        case.save(update_fields=["priority", "updated_at"])
        events.add(events.priority_changed(case=case, from_=previous, to=priority, actor=by, now=now))
    return case


def set_pending(*, case: Case, by, reason: str = "", now: datetime | None = None) -> Case:
    """The case waits on the customer: its customer clocks pause (`move_status`)."""
    now = now or timezone.now()
    with transaction.atomic():
        case = lock_case(case.pk)
        check_member(user=by, case=case)
        if case.status == CaseStatus.PENDING:
            raise TransitionError("This case is already pending.")
        move_status(case=case, to=CaseStatus.PENDING, now=now, actor=by,
                    reason=(reason or "").strip() or "Waiting on the customer.")
    return case


def resume_case(*, case: Case, by, reason: str = "", now: datetime | None = None) -> Case:
    """A pending case is worked again: its paused clocks resume with the time they had left."""
    now = now or timezone.now()
    with transaction.atomic():
        case = lock_case(case.pk)
        check_member(user=by, case=case)
        if case.status != CaseStatus.PENDING:
            raise TransitionError("Only a pending case can be resumed.")
        move_status(case=case, to=CaseStatus.OPEN, now=now, actor=by, reason=(reason or "").strip() or "Resumed.")
    return case


def mark_spam(*, case: Case, by, now: datetime | None = None) -> Case:
    """Spam or a troll: the latest post's spam label is set by a person (a training example for
    understanding), the case is tagged `spam`, its intent becomes spam/troll and it is resolved."""
    now = now or timezone.now()
    case = Case.objects.select_related("department").get(pk=case.pk)
    check_member(user=by, case=case)
    _open(case, "marked as spam")
    latest = case.mentions.order_by("-posted_at", "-id").first()
    if latest is not None and not latest.is_spam:
        # Its own transaction, before the case lock: correct_label locks the mention, and the
        # pipeline locks mentions before cases (never the other way round).
        correct_label(mention=latest, label=Label.SPAM, value=True, by=by, now=now)
    with transaction.atomic():
        case = lock_case(case.pk)
        check_member(user=by, case=case)
        _open(case, "marked as spam")
        before = {"intent": case.intent, "tags": list(case.tags or [])}
        case.tags = sorted({*(case.tags or []), SPAM_TAG})
        case.intent = Intent.SPAM_TROLL
        case.save(update_fields=["tags", "intent", "updated_at"])
        after = {"intent": case.intent, "tags": case.tags}
        move_status(case=case, to=CaseStatus.RESOLVED, now=now, actor=by, reason="Marked as spam or a troll.",
                    changes={name: {"from": before[name], "to": after[name]} for name in before
                             if before[name] != after[name]})
    return case


# --- Bulk ---------------------------------------------------------------------------------------


BULK_ACTIONS = {
    "take": "Take",
    "assign": "Assign",
    "priority": "Change priority",
    "pending": "Set pending",
    "resume": "Resume",
    "resolve": "Resolve",
    "handoff": "Hand off",
    "spam": "Mark spam",
}


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def _bulk_runner(action: str, *, by, assignee_id: int | None, priority: str, to_department_id: int | None,
                 note: str) -> Callable[[Case], object]:
    if action == "take":
        return lambda case: take_case(case=case, by=by)
    if action == "assign":
        assignee = None
        if assignee_id is not None:
            assignee = get_user_model().objects.filter(pk=assignee_id).first()
            if assignee is None:
                raise TransitionError("No such user.", code="invalid", fields={"assignee": ["Choose a member."]})
        return lambda case: assign_case(case=case, assignee=assignee, by=by)
    if action == "priority":
        if priority not in Priority.values:
            raise TransitionError("Choose a priority.", code="invalid", fields={"priority": ["Choose a priority."]})
        return lambda case: set_priority(case=case, priority=priority, by=by)
    if action == "pending":
        return lambda case: set_pending(case=case, by=by, reason=note)
    if action == "resume":
        return lambda case: resume_case(case=case, by=by, reason=note)
    if action == "resolve":
        return lambda case: case_services.resolve(case=case, by=by, note=note)
    if action == "handoff":
        department = Department.objects.filter(pk=to_department_id).first() if to_department_id else None
        if department is None:
            raise TransitionError("Choose the department to hand off to.", code="invalid",
                                  fields={"to_department": ["Choose a department."]})
        if not (note or "").strip():
            raise TransitionError("A handoff needs a note for the receiving team.", code="invalid",
                                  fields={"note": ["Say what the receiving team needs to know."]})
        return lambda case: case_services.hand_off(case=case, to_department=department, note=note, by=by)
    if action == "spam":
        return lambda case: mark_spam(case=case, by=by)
    raise TransitionError(f"Unknown action {action!r}.", code="invalid", fields={"action": ["Choose an action."]})


def bulk_apply(*, case_ids: Iterable[int], action: str, by, assignee_id: int | None = None, priority: str = "",
               to_department_id: int | None = None, note: str = "") -> BulkResult:
    """Run one action on several cases, each in its own transaction (in id order, so two people's
    bulk actions lock cases in the same order). Cases of departments `by` is not in are refused
    one by one, like any other case the action refuses; the others go ahead."""
    run = _bulk_runner(action, by=by, assignee_id=assignee_id, priority=priority,
                       to_department_id=to_department_id, note=note)
    ids = sorted(set(case_ids))
    result = BulkResult()
    mine = department_ids_for(user=by)
    visible = dict(Case.objects.filter(pk__in=ids, department_id__in=mine).values_list("pk", "department_id"))
    for case_id in ids:
        if case_id not in visible:
            result.failed[case_id] = "Not a case of your departments."
            continue
        try:
            run(Case(pk=case_id, department_id=visible[case_id]))
        except BatonError as exc:
            result.failed[case_id] = exc.message
        else:
            result.done.append(case_id)
    return result
