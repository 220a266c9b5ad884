"""Writes on cases. Every state change goes through here, in a transaction, with a timeline event.

Locks are always taken in the same order (customer, then case) through `_lock_case`.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from config.errors import NotAllowed, TransitionError
from customers.models import Customer
from feedback.cases.assignment import assign
from feedback.cases.floods import flag_floods, hold_floods
from feedback.cases.models import Case, CaseEvent, Handoff
from feedback.choices import CUSTOMER_CLOCKS, OPEN_STATUSES, CaseStatus, ClockMetric, EventKind, HandoffStatus
from feedback.intake.models import Mention
from feedback.sla import clocks as sla
from feedback.sla.models import SlaClock
from teams.models import Department
from teams.selectors import department_ids_for

# The case status machine of the domain guide, in one place.
TRANSITIONS: dict[str, set[str]] = {
    CaseStatus.NEW: {CaseStatus.OPEN, CaseStatus.PENDING, CaseStatus.RESOLVED},
    CaseStatus.OPEN: {CaseStatus.PENDING, CaseStatus.RESOLVED},
    CaseStatus.PENDING: {CaseStatus.OPEN, CaseStatus.RESOLVED},
    CaseStatus.RESOLVED: {CaseStatus.OPEN, CaseStatus.CLOSED},
    CaseStatus.CLOSED: set(),
}


# A post within this long after a case was resolved reopens it instead of opening a new one:
# the default of `Department.reopen_window`, which each department sets.
REOPEN_WINDOW = timedelta(days=7)


def _event(*, case: Case, kind: str, now: datetime, actor=None, **data) -> CaseEvent:
    return CaseEvent.objects.create(case=case, kind=kind, actor=actor, data=data, created_at=now)


def _lock_case(case_id: int) -> Case:
    return Case.objects.select_for_update().select_related("department").get(pk=case_id)


def _check_member(*, user, case: Case) -> None:
    if user is not None and case.department_id not in department_ids_for(user=user):
        raise NotAllowed(f"You are not a member of {case.department}, which owns this case.")
    # A handed-off case is worked only once the receiving department accepted it (the system,
    # e.g. a brand reply seen on the channel, still records what happens).
    if user is not None and case.handoffs.filter(status=HandoffStatus.PENDING).exists():
        raise TransitionError(
            f"This case waits for {case.department} to accept the handoff: accept it (or send it back) first.",
            code="handoff_pending",
        )


def _move(*, case: Case, to: str, now: datetime, actor=None, reason: str = "") -> None:
    if to not in TRANSITIONS[case.status]:
        raise TransitionError(
            f"A {case.get_status_display().lower()} case cannot become {CaseStatus(to).label.lower()}.",
            fields={"status": [f"Allowed from {case.status}: {', '.join(sorted(TRANSITIONS[case.status])) or 'none'}."]},
        )
    previous = case.status
    case.status = to
    if to == CaseStatus.RESOLVED:
        case.resolved_at = now
    elif to == CaseStatus.CLOSED:
        case.closed_at = now
    elif previous == CaseStatus.RESOLVED:
        case.resolved_at = None
    case.save(update_fields=["status", "resolved_at", "closed_at", "updated_at"])
    _event(case=case, kind=EventKind.STATUS, now=now, actor=actor, **{"from": previous, "to": to, "reason": reason})
    # Clocks follow the status, whoever moves it: resolving meets them, reopening restarts resolution,
    # pending (waiting on the customer) pauses them and leaving pending resumes them.
    if previous == CaseStatus.PENDING:
        sla.resume_clocks(case=case, now=now)
    if to == CaseStatus.RESOLVED:
        sla.stop_clocks(case=case, metrics=list(CUSTOMER_CLOCKS), now=now)
    elif to == CaseStatus.PENDING:
        sla.pause_clocks(case=case, now=now)
    elif previous == CaseStatus.RESOLVED and to == CaseStatus.OPEN:
        if not case.clocks.filter(metric=ClockMetric.RESOLUTION, stopped_at__isnull=True).exists():
            sla.start_clocks(case=case, now=now, metrics=[ClockMetric.RESOLUTION])


@dataclass
class Attachment:
    """One routed mention to attach: the input of `attach_mentions`."""

    mention: Mention
    customer: Customer
    department: Department
    priority: str
    intent: str
    now: datetime
    case: Case | None = None
    created: bool = False
    # From the routing rule that matched (feedback.routing.services.RouteDecision).
    rule_id: int | None = None
    tags: tuple[str, ...] = ()
    requires_approval: bool = False
    assign_to_lead: bool = False
    # Set by `attach_mentions` when the flood guard kept the mention off its case (feedback.cases.floods).
    held: bool = False


def attach_mentions(attachments: list[Attachment], *, policies: dict | None = None) -> list[Attachment]:
    """Attach each mention to its customer's open case in its department, reopen a recently
    resolved one, or open a new case with its clocks. A fixed number of queries per batch.

    Runs inside the caller's transaction. Customer rows are locked first (in id order), so two
    workers handling the same customer's posts never open two cases for one department.
    An author flooding one case has their posts past the limit held, not attached (`feedback.cases.floods`).
    """
    if not attachments:
        return attachments
    policies = sla.policy_targets() if policies is None else policies
    customer_ids = sorted({item.customer.pk for item in attachments})
    department_ids = {item.department.pk for item in attachments}
    list(Customer.objects.select_for_update().filter(pk__in=customer_ids).order_by("pk").values_list("pk"))
    candidates = Case.objects.select_for_update().filter(customer_id__in=customer_ids, department_id__in=department_ids)
    open_cases: dict[tuple[int, int], Case] = {}
    for case in candidates.filter(status__in=OPEN_STATUSES).order_by("created_at", "pk"):
        open_cases[(case.customer_id, case.department_id)] = case  # the newest wins
    earliest = min(item.now for item in attachments)
    resolved: dict[tuple[int, int], Case] = {}
    widest = max(item.department.reopen_window for item in attachments)  # each department has its own window
    for case in candidates.filter(status=CaseStatus.RESOLVED, resolved_at__gte=earliest - widest).order_by(
        "resolved_at", "pk"
    ):
        resolved[(case.customer_id, case.department_id)] = case
    hold_floods(attachments, {**resolved, **open_cases})
    held = [item for item in attachments if item.held]
    attachments_in = [item for item in attachments if not item.held]

    new_cases: list[Attachment] = []
    woken: dict[int, tuple[Case, datetime]] = {}  # pending cases the customer wrote to
    awaiting: dict[int, tuple[Case, datetime]] = {}  # cases that now wait for a next reply
    for item in sorted(attachments_in, key=lambda item: item.now):
        key = (item.customer.pk, item.department.pk)
        case = open_cases.get(key)
        if case is None and key in resolved and resolved[key].resolved_at >= item.now - item.department.reopen_window:
            case = resolved.pop(key)
            _move(case=case, to=CaseStatus.OPEN, now=item.now, reason="The customer wrote again after resolution.")
        if case is None:
            case = Case(customer=item.customer, department=item.department, priority=item.priority,
                        intent=item.intent, subject=item.mention.text[:200], created_at=item.now,
                        routed_by_id=item.rule_id, tags=list(item.tags), requires_approval=item.requires_approval)
            item.created = True
            new_cases.append(item)
        open_cases[key] = case
        item.case = case
        if case.pk and case.status == CaseStatus.PENDING:
            woken.setdefault(case.pk, (case, item.now))
        if case.pk and case.first_replied_at is not None:
            awaiting.setdefault(case.pk, (case, item.now))  # the customer wrote again after a reply

    assign(cases=[item.case for item in new_cases], to_lead=[item.assign_to_lead for item in new_cases])
    Case.objects.bulk_create([item.case for item in new_cases])
    events, clocks = [], []
    for item in new_cases:
        events.append(CaseEvent(case=item.case, kind=EventKind.CREATED, created_at=item.now,
                                data={"department": item.department.slug, "department_name": item.department.name,
                                      "priority": item.priority}))
        clocks.extend(sla.new_clocks(case=item.case, now=item.now, policies=policies))
    for item in attachments_in:
        item.mention.case = item.case
        events.append(CaseEvent(
            case=item.case, kind=EventKind.MENTION, created_at=item.now,
            data={"mention_id": item.mention.pk, "text": item.mention.text[:500],
                  "author": item.mention.author_handle, "source": item.mention.source},
        ))
    CaseEvent.objects.bulk_create(events)
    SlaClock.objects.bulk_create(clocks)
    if held:
        flag_floods(held, {**resolved, **open_cases})
    for case, now in woken.values():
        _move(case=case, to=CaseStatus.OPEN, now=now, reason="The customer wrote again.")
    sla.start_next_reply_clocks(cases=list(awaiting.values()), policies=policies)
    return attachments


def attach_mention(*, mention: Mention, customer: Customer, department: Department, priority: str, intent: str,
                   now: datetime) -> tuple[Case, bool]:
    """Attach one mention (see `attach_mentions`). Returns (case, created)."""
    [item] = attach_mentions([Attachment(mention=mention, customer=customer, department=department,
                                         priority=priority, intent=intent, now=now)])
    return item.case, item.created


def record_reply(*, case: Case, by, text: str, now: datetime | None = None) -> CaseEvent:
    """Record a public reply (sending it through a channel connector comes later)."""
    now = now or timezone.now()
    text = (text or "").strip()
    if not text:
        raise TransitionError("A reply needs some text.", code="invalid", fields={"text": ["Write the reply."]})
    with transaction.atomic():
        case = _lock_case(case.pk)
        _check_member(user=by, case=case)
        if case.status == CaseStatus.CLOSED:
            raise TransitionError("This case is closed; open a new case to write to the customer.")
        event = _event(case=case, kind=EventKind.REPLY, now=now, actor=by, text=text)
        if case.first_replied_at is None:
            case.first_replied_at = now
            case.save(update_fields=["first_replied_at", "updated_at"])
            sla.stop_clocks(case=case, metrics=[ClockMetric.FIRST_REPLY], now=now)
        sla.stop_clocks(case=case, metrics=[ClockMetric.NEXT_REPLY], now=now)
        if case.status == CaseStatus.NEW:
            _move(case=case, to=CaseStatus.OPEN, now=now, actor=by, reason="First reply sent.")
    return event


def add_note(*, case: Case, by, text: str, now: datetime | None = None) -> CaseEvent:
    now = now or timezone.now()
    text = (text or "").strip()
    if not text:
        raise TransitionError("A note needs some text.", code="invalid", fields={"text": ["Write the note."]})
    with transaction.atomic():
        case = _lock_case(case.pk)
        _check_member(user=by, case=case)
        return _event(case=case, kind=EventKind.NOTE, now=now, actor=by, text=text)


def hand_off(*, case: Case, to_department: Department, note: str, by, now: datetime | None = None) -> Handoff:
    """Pass the case to another department. A handoff always carries a note.

    The case moves to the receiving department at once, with a pending Handoff: that department
    sees it in its incoming list and must accept it (`journey.accept_handoff`) before working it,
    or send it back (`journey.return_handoff`). The handoff acceptance clock runs until then.
    The customer-facing clocks keep running: the customer does not care who holds the case.
    """
    now = now or timezone.now()
    note = (note or "").strip()
    if not note:
        raise TransitionError(
            "A handoff needs a note for the receiving team.", code="invalid",
            fields={"note": ["Say what the receiving team needs to know."]},
        )
    with transaction.atomic():
        case = _lock_case(case.pk)
        _check_member(user=by, case=case)
        if not case.is_open:
            raise TransitionError(f"A {case.status} case cannot be handed off; reopen it first.")
        if to_department.pk == case.department_id:
            raise TransitionError(
                f"The case is already with {to_department}.", code="invalid",
                fields={"to_department": ["Choose another department."]},
            )
        from_department = case.department
        # `_check_member` refused a pending handoff for people; the system is held to it too
        # (and the partial unique constraint `handoff_one_pending_per_case` backs this up).
        if case.handoffs.filter(status=HandoffStatus.PENDING).exists():
            raise TransitionError("This case already waits for a department to accept a handoff.")
        handoff = Handoff.objects.create(case=case, from_department=from_department, to_department=to_department,
                                         note=note, by=by, created_at=now)
        case.department = to_department
        case.assignee = None
        case.save(update_fields=["department", "assignee", "updated_at"])
        _event(
            case=case, kind=EventKind.HANDOFF, now=now, actor=by, note=note, handoff_id=handoff.pk,
            **{"from": from_department.slug, "to": to_department.slug,
               "from_name": from_department.name, "to_name": to_department.name},
        )
        sla.start_clocks(case=case, now=now, metrics=[ClockMetric.HANDOFF_ACCEPTANCE])
        return handoff


def change_status(*, case: Case, to: str, by, reason: str = "", now: datetime | None = None) -> Case:
    now = now or timezone.now()
    with transaction.atomic():
        case = _lock_case(case.pk)
        _check_member(user=by, case=case)
        _move(case=case, to=to, now=now, actor=by, reason=reason)
    return case


def resolve(*, case: Case, by, note: str = "", now: datetime | None = None) -> Case:
    return change_status(case=case, to=CaseStatus.RESOLVED, by=by, reason=note, now=now)
