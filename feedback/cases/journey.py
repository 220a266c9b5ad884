"""The customer's journey between departments: handoff decisions, feedback up, customer stage.

`cases.hand_off` moves a case to the receiving department with a pending Handoff; here that
department accepts it or sends it back. Feedback up is a note to another department that does
not move the case. The customer's lifecycle stage has its rules in `STAGE_TRANSITIONS`.

Locks follow `feedback.cases.locks`: customer row first, then case row, then the row being decided.
"""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from config.errors import NotAllowed, TransitionError
from customers import timeline
from customers.models import Customer, Stage
from customers.sync import customer_data
from customers.webhooks.events import EventType
from customers.webhooks.services import emit_event
from feedback.cases import events
from feedback.cases.assignment import assign
from feedback.cases.locks import lock_case, lock_cases, lock_customers
from feedback.cases.models import Case, FeedbackNote, Handoff
from feedback.cases.services import change_status
from feedback.cases.transitions import check_member
from feedback.choices import OPEN_STATUSES, CaseStatus, ClockMetric, HandoffStatus
from feedback.sla import clocks as sla
from feedback.sla import notifications
from feedback.sla.models import Notification
from teams.models import Department
from teams.selectors import department_ids_for

# The customer lifecycle, in one place: prospect -> lead -> customer -> former. A prospect who buys
# straight away becomes a customer; a former customer who buys again comes back.
STAGE_TRANSITIONS: dict[str, set[str]] = {
    Stage.PROSPECT: {Stage.LEAD, Stage.CUSTOMER},
    Stage.LEAD: {Stage.CUSTOMER},
    Stage.CUSTOMER: {Stage.FORMER},
    Stage.FORMER: {Stage.CUSTOMER},
}

# A case resolved with a purchase: the customer's first purchase makes them a customer.
OUTCOME_PURCHASE = "purchase"
OUTCOMES = [("", "Resolved"), (OUTCOME_PURCHASE, "Resolved with a purchase")]
# Departments whose cases can end in a purchase (by slug: departments are seeded by slug).
PURCHASE_DEPARTMENTS = {"sales"}


def _require(text: str | None, *, field: str, message: str, hint: str) -> str:
    text = (text or "").strip()
    if not text:
        raise TransitionError(message, code="invalid", fields={field: [hint]})
    return text


def _check_in(*, user, department: Department, action: str) -> None:
    if user is not None and department.pk not in department_ids_for(user=user):
        raise NotAllowed(f"Only members of {department} can {action}.")


def _lock_handoff(handoff: Handoff) -> tuple[Case, Handoff]:
    case = lock_case(handoff.case_id)
    handoff = Handoff.objects.select_for_update(of=("self",)).select_related("from_department", "to_department").get(pk=handoff.pk)
    if handoff.status != HandoffStatus.PENDING:
        raise TransitionError(f"This handoff was already {handoff.get_status_display().lower()}.")
    return case, handoff


def accept_handoff(*, handoff: Handoff, by, now: datetime | None = None, take: bool = False) -> Handoff:
    """The receiving department takes the case: its people may work it from now on. It is assigned by
    the department's strategy, or to the accepting user with `take`."""
    now = now or timezone.now()
    with transaction.atomic():
        case, handoff = _lock_handoff(handoff)
        _check_in(user=by, department=handoff.to_department, action="accept this handoff")
        handoff.status = HandoffStatus.ACCEPTED
        handoff.decided_by, handoff.decided_at = by, now
        handoff.save(update_fields=["status", "decided_by", "decided_at"])
        sla.stop_clocks(case=case, metrics=[ClockMetric.HANDOFF_ACCEPTANCE], now=now)
        # The receiving department's assignment strategy picks who works it (as for a new case),
        # unless the accepting person takes it.
        if take and by is not None:
            case.assignee = by
        else:
            assign(cases=[case])
        if case.assignee_id is not None:
            case.save(update_fields=["assignee", "updated_at"])
        events.add(events.handoff_accepted(case=case, handoff=handoff, actor=by, now=now,
                                           assignee=case.assignee if case.assignee_id else None))
    return handoff


def return_handoff(*, handoff: Handoff, by, reason: str, now: datetime | None = None) -> Handoff:
    """The receiving department sends the case back to the sending one, saying why."""
    now = now or timezone.now()
    reason = _require(reason, field="reason", message="Sending a handoff back needs a reason.",
                      hint="Say why the case is not for your department.")
    with transaction.atomic():
        case, handoff = _lock_handoff(handoff)
        _check_in(user=by, department=handoff.to_department, action="send this handoff back")
        handoff.status = HandoffStatus.RETURNED
        handoff.decided_by, handoff.decided_at, handoff.reason = by, now, reason
        handoff.save(update_fields=["status", "decided_by", "decided_at", "reason"])
        assignee_before = case.assignee
        case.department = handoff.from_department
        case.assignee = None
        case.save(update_fields=["department", "assignee", "updated_at"])
        events.add(events.handoff_returned(case=case, handoff=handoff, actor=by, now=now,
                                           assignee_before=assignee_before))
        sla.stop_clocks(case=case, metrics=[ClockMetric.HANDOFF_ACCEPTANCE], now=now)
    return handoff


def send_feedback(*, case: Case, to_department: Department, text: str, by, now: datetime | None = None) -> FeedbackNote:
    """Feedback up the journey (for example service to sales: "the promise in this sale was wrong").

    Sent by the department that holds the case; the case does not move.
    """
    now = now or timezone.now()
    text = _require(text, field="text", message="Feedback needs some text.",
                    hint="Say what the other department should know or change.")
    with transaction.atomic():
        case = lock_case(case.pk)
        check_member(user=by, case=case)
        if to_department.pk == case.department_id:
            raise TransitionError(
                "Feedback goes to another department; use an internal note for your own.", code="invalid",
                fields={"to_department": ["Choose another department."]},
            )
        note = FeedbackNote.objects.create(case=case, from_department=case.department, to_department=to_department,
                                           text=text, by=by, created_at=now)
        events.add(events.feedback_sent(case=case, feedback=note, actor=by, now=now))
        notifications.notify_department(
            department=to_department, case=case, kind=Notification.Kind.FEEDBACK, by=by, now=now,
            text=f"Feedback from {case.department} on case #{case.pk}: {text}",
        )
    return note


def acknowledge_feedback(*, feedback: FeedbackNote, by, now: datetime | None = None) -> FeedbackNote:
    """The target department says it has read the feedback."""
    now = now or timezone.now()
    with transaction.atomic():
        case = lock_case(feedback.case_id)
        feedback = FeedbackNote.objects.select_for_update(of=("self",)).select_related("to_department").get(pk=feedback.pk)
        _check_in(user=by, department=feedback.to_department, action="acknowledge this feedback")
        if feedback.acknowledged_at is not None:
            raise TransitionError("This feedback was already acknowledged.")
        feedback.acknowledged_by, feedback.acknowledged_at = by, now
        feedback.save(update_fields=["acknowledged_by", "acknowledged_at"])
        events.add(events.feedback_acknowledged(case=case, feedback=feedback, actor=by, now=now))
    return feedback


def move_stage(*, customer: Customer, to: str, by, reason: str, case: Case | None = None,
               now: datetime | None = None) -> Customer:
    """Move the customer along the lifecycle (`STAGE_TRANSITIONS`), recorded on the timeline of
    each of their open cases (and of `case`, the case it was done from, whatever its status).

    `by` must belong to a department that holds one of the customer's cases (None: the system).
    """
    now = now or timezone.now()
    reason = _require(reason, field="reason", message="A stage change needs a reason.",
                      hint="Say why the customer's stage changes.")
    with transaction.atomic():
        lock_customers([customer.pk])
        customer = Customer.objects.get(pk=customer.pk)
        previous = customer.stage
        if to not in STAGE_TRANSITIONS.get(previous, set()):
            allowed = ", ".join(sorted(STAGE_TRANSITIONS.get(previous, set()))) or "none"
            raise TransitionError(
                f"A {Stage(previous).label.lower()} cannot become a {Stage(to).label.lower()}."
                if to in Stage.values else f"Unknown stage {to!r}.",
                fields={"to": [f"Allowed from {previous}: {allowed}."]},
            )
        if by is not None and not Case.objects.filter(
            customer=customer, department_id__in=department_ids_for(user=by)
        ).exists():
            raise NotAllowed("Only a department that holds one of this customer's cases can change their stage.")
        customer.stage = to
        customer.save(update_fields=["stage", "updated_at"])
        cases = Q(customer=customer, status__in=OPEN_STATUSES)
        if case is not None:
            cases |= Q(pk=case.pk)
        events.add_many([
            events.stage_changed(case=each, from_=previous, to=to, reason=reason, actor=by, now=now)
            for each in lock_cases(Case.objects.filter(cases))
        ])
        timeline.record(entries=[timeline.stage_changed(
            customer_id=customer.pk, from_=previous, to=to, reason=reason, actor=str(by) if by else "", at=now,
            case_id=case.pk if case else None, department_id=case.department_id if case else None,
        )])
    return customer


def resolve_case(*, case: Case, by, note: str = "", outcome: str = "", amount: Decimal | None = None,
                 now: datetime | None = None) -> Case:
    """Resolve a case, optionally with an outcome. A purchase (sales cases) makes a prospect, a lead
    or a former customer a customer, in the same transaction; its `amount`, when given, is added to
    the customer's lifetime value (and shown on their timeline)."""
    now = now or timezone.now()
    if outcome not in dict(OUTCOMES):
        raise TransitionError(f"Unknown outcome {outcome!r}.", code="invalid", fields={"outcome": ["Choose an outcome."]})
    if amount is not None and outcome != OUTCOME_PURCHASE:
        raise TransitionError("An amount goes with a purchase.", code="invalid",
                              fields={"amount": ["Leave it empty, or choose the purchase outcome."]})
    if amount is not None and amount <= 0:
        raise TransitionError("A purchase amount is more than zero.", code="invalid",
                              fields={"amount": ["Enter the amount of the purchase."]})
    if outcome != OUTCOME_PURCHASE:
        return change_status(case=case, to=CaseStatus.RESOLVED, by=by, reason=note, now=now)
    note = (note or "").strip()
    with transaction.atomic():
        case = lock_case(case.pk)  # the customer, then the case
        customer = Customer.objects.get(pk=case.customer_id)
        if case.department.slug not in PURCHASE_DEPARTMENTS:
            raise TransitionError(
                "Only a sales case can end in a purchase.", code="invalid",
                fields={"outcome": ["Resolve without an outcome, or hand the case to sales."]},
            )
        case = change_status(case=case, to=CaseStatus.RESOLVED, by=by, now=now,
                             reason=f"Purchase. {note}".strip())
        if Stage.CUSTOMER in STAGE_TRANSITIONS[customer.stage]:
            move_stage(customer=customer, to=Stage.CUSTOMER, by=by, case=case, now=now,
                       reason=f"First purchase (case #{case.pk})." if customer.stage != Stage.FORMER
                       else f"Bought again (case #{case.pk}).")
        if amount is not None:
            Customer.objects.filter(pk=customer.pk).update(value=F("value") + amount, updated_at=now)
            timeline.record(entries=[timeline.purchase(customer_id=customer.pk, amount=amount, at=now,
                                                       actor=str(by) if by else "", case_id=case.pk,
                                                       department_id=case.department_id)])
            emit_event(event_type=EventType.CUSTOMER_UPDATED, payload=customer_data(Customer.objects.get(pk=customer.pk)))
    return case
