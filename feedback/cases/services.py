"""Writes on cases. Every state change goes through here, in a transaction, with a timeline event.

Locks are always taken in the same order (customer, then case) through `feedback.cases.locks`;
status changes go through `transitions.move_status`; timeline entries are built by
`feedback.cases.events`.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.errors import TransitionError
from customers.models import Customer
from customers.webhooks.events import EventType
from feedback.cases import events
from feedback.cases.assignment import assign
from feedback.cases.crm_events import emit_case_events
from feedback.cases.floods import flag_floods, hold_floods
from feedback.cases.locks import lock_case, lock_cases
from feedback.cases.models import Case, CaseEvent, Handoff
from feedback.cases.transitions import check_member, move_status
from feedback.choices import OPEN_STATUSES, CaseStatus, ClockMetric, HandoffStatus
from feedback.intake.models import Mention
from feedback.sla import clocks as sla
from feedback.sla import notifications
from feedback.sla.models import Notification, SlaClock
from teams.models import Department

# A post within this long after a case was resolved reopens it instead of opening a new one:
# the default of `Department.reopen_window`, which each department sets.
REOPEN_WINDOW = timedelta(days=7)


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
    earliest = min(item.now for item in attachments)
    widest = max(item.department.reopen_window for item in attachments)  # each department has its own window
    # The customers are locked even when they have no case yet: creating their case needs it.
    locked = lock_cases(
        Case.objects.filter(customer_id__in=customer_ids, department_id__in=department_ids).filter(
            Q(status__in=OPEN_STATUSES) | Q(status=CaseStatus.RESOLVED, resolved_at__gte=earliest - widest)
        ),
        customer_ids=customer_ids,
    )
    open_cases: dict[tuple[int, int], Case] = {}
    for case in sorted((case for case in locked if case.status in OPEN_STATUSES), key=lambda c: (c.created_at, c.pk)):
        open_cases[(case.customer_id, case.department_id)] = case  # the newest wins
    resolved: dict[tuple[int, int], Case] = {}
    for case in sorted((case for case in locked if case.status == CaseStatus.RESOLVED),
                       key=lambda c: (c.resolved_at, c.pk)):
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
            move_status(case=case, to=CaseStatus.OPEN, now=item.now, reason="The customer wrote again after resolution.")
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
    timeline, clocks = [], []
    for item in new_cases:
        timeline.append(events.created(case=item.case, department=item.department, priority=item.priority,
                                       now=item.now))
        clocks.extend(sla.new_clocks(case=item.case, now=item.now, policies=policies))
    for item in attachments_in:
        item.mention.case = item.case
        timeline.append(events.mention_attached(case=item.case, mention=item.mention, now=item.now))
    events.add_many(timeline)
    SlaClock.objects.bulk_create(clocks)
    sla.refresh_next_due(case_ids=[item.case.pk for item in new_cases])
    emit_case_events(event_type=EventType.CASE_CREATED, cases=[item.case for item in new_cases])
    if held:
        flag_floods(held, {**resolved, **open_cases})
    for case, now in woken.values():
        move_status(case=case, to=CaseStatus.OPEN, now=now, reason="The customer wrote again.")
    sla.start_next_reply_clocks(cases=list(awaiting.values()), policies=policies)
    return attachments


def attach_mention(*, mention: Mention, customer: Customer, department: Department, priority: str, intent: str,
                   now: datetime) -> tuple[Case, bool]:
    """Attach one mention (see `attach_mentions`). Returns (case, created)."""
    [item] = attach_mentions([Attachment(mention=mention, customer=customer, department=department,
                                         priority=priority, intent=intent, now=now)])
    return item.case, item.created


def record_reply(*, case: Case, by, text: str, now: datetime | None = None,
                 channel: events.ChannelPost | None = None) -> CaseEvent:
    """Record a reply that was posted outside Baton's composer: `channel`, the reply was seen on
    the channel (the brand posted it outside Baton); it is recorded even on a closed case, which
    stays closed. Replies written in Baton go through `feedback.replies.services.compose_reply`,
    which sends them and then calls `record_sent_reply`.
    """
    now = now or timezone.now()
    text = (text or "").strip()
    if not text:
        raise TransitionError("A reply needs some text.", code="invalid", fields={"text": ["Write the reply."]})
    with transaction.atomic():
        case = lock_case(case.pk)
        check_member(user=by, case=case)
        if case.status == CaseStatus.CLOSED and channel is None:
            raise TransitionError("This case is closed; open a new case to write to the customer.")
        return _record_reply(case=case, event=events.reply(case=case, text=text, actor=by, now=now, channel=channel),
                             actor=by, now=now)


def record_sent_reply(*, case_id: int, author, text: str, delivery: events.Delivery,
                      now: datetime | None = None) -> CaseEvent:
    """A reply Baton sent (feedback.replies) reached the platform: its timeline entry, and the
    clocks it meets. No member check: the author was checked when they wrote it, and the case may
    have moved since (a handoff); a closed case only records it."""
    now = now or timezone.now()
    with transaction.atomic():
        case = lock_case(case_id)
        event = events.reply(case=case, text=text, actor=author, now=now, delivery=delivery)
        # The platform may have told us of this very post first (its webhook echoes the brand's own posts: when
        # the worker that posted died and the stuck-sending sweep found the post later, or was only slower than
        # the webhook). Under the case lock, as `record_channel_reply` checks: the entry it made becomes this
        # one (its author, Baton's delivery), so the timeline shows the reply once; its clocks were met then.
        echoed = events.channel_reply(case=case, source=delivery.source, external_id=delivery.platform_id)
        if echoed is not None:
            return events.adopt_channel_reply(echoed, event)
        return _record_reply(case=case, event=event, actor=author, now=now)


def _record_reply(*, case: Case, event: CaseEvent, actor, now: datetime) -> CaseEvent:
    """On a locked case: the reply's event, then the clocks it meets and new -> open."""
    events.add(event)
    if case.status == CaseStatus.CLOSED:
        return event
    if case.first_replied_at is None:
        case.first_replied_at = now
        case.save(update_fields=["first_replied_at", "updated_at"])
        sla.stop_clocks(case=case, metrics=[ClockMetric.FIRST_REPLY], now=now)
    sla.stop_clocks(case=case, metrics=[ClockMetric.NEXT_REPLY], now=now)
    if case.status == CaseStatus.NEW:
        move_status(case=case, to=CaseStatus.OPEN, now=now, actor=actor, reason="First reply sent.")
    return event


def record_channel_reply(*, case_id: int, text: str, posted_at: datetime, source: str, external_id: str,
                         in_reply_to: str = "", url: str = "", inbound_payload_id: int | None = None) -> bool:
    """Record the brand's own post answering on a channel (a webhook delivered it) as a reply on the
    case: the same path as a reply written in Baton (first-reply clock, new -> open; a closed case
    only records it). Returns False when that post is already on the case's timeline (a repeated
    delivery waits for the case lock, then records nothing)."""
    channel = events.ChannelPost(source=source, external_id=external_id, in_reply_to=in_reply_to, url=url,
                                 inbound_payload_id=inbound_payload_id)
    with transaction.atomic():
        case = lock_case(case_id)
        if events.channel_reply_recorded(case=case, source=source, external_id=external_id):
            return False
        record_reply(case=case, by=None, text=text, now=posted_at, channel=channel)
    return True


def add_note(*, case: Case, by, text: str, now: datetime | None = None) -> CaseEvent:
    now = now or timezone.now()
    text = (text or "").strip()
    if not text:
        raise TransitionError("A note needs some text.", code="invalid", fields={"text": ["Write the note."]})
    with transaction.atomic():
        case = lock_case(case.pk)
        check_member(user=by, case=case)
        return events.add(events.note(case=case, text=text, actor=by, now=now))


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
        case = lock_case(case.pk)
        check_member(user=by, case=case)
        if not case.is_open:
            raise TransitionError(f"A {case.status} case cannot be handed off; reopen it first.")
        if to_department.pk == case.department_id:
            raise TransitionError(
                f"The case is already with {to_department}.", code="invalid",
                fields={"to_department": ["Choose another department."]},
            )
        from_department, assignee_before = case.department, case.assignee
        # `check_member` refused a pending handoff for people; the system is held to it too
        # (and the partial unique constraint `handoff_one_pending_per_case` backs this up).
        if case.handoffs.filter(status=HandoffStatus.PENDING).exists():
            raise TransitionError("This case already waits for a department to accept a handoff.")
        handoff = Handoff.objects.create(case=case, from_department=from_department, to_department=to_department,
                                         note=note, by=by, created_at=now)
        case.department = to_department
        case.assignee = None
        case.save(update_fields=["department", "assignee", "updated_at"])
        events.add(events.handed_off(case=case, handoff=handoff, actor=by, now=now, assignee_before=assignee_before))
        emit_case_events(event_type=EventType.CASE_HANDED_OFF, cases=[case], extra=lambda case: {"handoff": {
            "id": handoff.pk, "from_department": from_department.slug, "to_department": to_department.slug,
            "note": note, "created_at": now}})
        sla.start_clocks(case=case, now=now, metrics=[ClockMetric.HANDOFF_ACCEPTANCE])
        notifications.notify_department(
            department=to_department, case=case, kind=Notification.Kind.HANDOFF, by=by, now=now,
            text=f"Case #{case.pk} handed to {to_department} by {from_department}: {note}",
        )
        return handoff


def change_status(*, case: Case, to: str, by, reason: str = "", now: datetime | None = None) -> Case:
    now = now or timezone.now()
    with transaction.atomic():
        case = lock_case(case.pk)
        check_member(user=by, case=case)
        move_status(case=case, to=to, now=now, actor=by, reason=reason)
    return case


def resolve(*, case: Case, by, note: str = "", now: datetime | None = None) -> Case:
    return change_status(case=case, to=CaseStatus.RESOLVED, by=by, reason=note, now=now)


def close_resolved(*, case_ids: list[int], by, reason: str = "", now: datetime | None = None) -> int:
    """Close the resolved cases among `case_ids` (housekeeping by staff, e.g. the admin's action:
    its caller checks that `by` may, as it is not a member check). Each case is locked and moved
    through the status machine, so its timeline says who closed it. Returns how many were closed."""
    now = now or timezone.now()
    closed = 0
    for case_id in sorted(case_ids):
        with transaction.atomic():
            case = lock_case(case_id)
            if case.status != CaseStatus.RESOLVED:
                continue
            move_status(case=case, to=CaseStatus.CLOSED, now=now, actor=by, reason=reason)
            closed += 1
    return closed
