"""Where customers and feedback meet: merging records, confirming suggestions, privacy.

Customers never reads or writes feedback's tables, so every operation that moves or anonymises
both sides lives here: it locks the customers (`cases.locks.lock_customers`, id order), calls the
customers service for customers' rows, then moves or anonymises its own rows (mentions, cases,
case events; replies and notifications through their rooms' services) in the same transaction. The
portal's views and the API's (`feedback.api.crm_views`) call the same functions.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from config.errors import NotAllowed, TransitionError
from customers import merge as customer_merge
from customers import privacy as customer_privacy
from customers import suggestions, timeline
from customers.models import AuditEntry, Customer, PrivacyAction, TimelineEntry
from customers.sync import customer_data
from customers.webhooks.events import EventType
from customers.webhooks.services import emit_event
from feedback.board import upkeep
from feedback.board.days import day_of
from feedback.cases import events as case_events
from feedback.cases.locks import lock_customers
from feedback.cases.models import Case, CaseEvent, FeedbackNote, Handoff
from feedback.choices import EventKind
from feedback.intake.models import Mention
from feedback.replies import services as replies_services
from feedback.sla import notifications as sla_notifications
from teams.models import Membership, Role
from teams.selectors import department_ids_for

ERASED = "[erased]"
ANONYMISED = "[removed by the retention policy]"
# Keys of CaseEvent.data that can hold what a person wrote (or their handle).
PERSONAL_EVENT_KEYS = ("text", "note", "reason", "author", "quote")


# --- Who may ------------------------------------------------------------------------------------


def is_admin(user) -> bool:
    return bool(user is not None and user.is_authenticated and (user.is_staff or user.is_superuser))


def can_merge(*, user) -> bool:
    """Admins, and leads and heads of any department."""
    if is_admin(user):
        return True
    return Membership.objects.filter(user=user, role__in=[Role.LEAD, Role.HEAD]).exists()


def _check_holds_case(*, user, customer_id: int) -> None:
    if user is None or is_admin(user):
        return
    if not Case.objects.filter(customer_id=customer_id, department_id__in=department_ids_for(user=user)).exists():
        raise NotAllowed("Only a department that holds one of this person's cases can decide this.")


# --- Merge --------------------------------------------------------------------------------------


def merge_customers(*, survivor: Customer, merged: Customer, by=None, now: datetime | None = None,
                    check: bool = True, via: str = "") -> Customer:
    """Merge `merged` into `survivor`: identities, timeline and suggestions (customers), then mentions
    and cases (here) move to the survivor; `merged` stays as "merged into". `by` None: the system or
    an API integration (its own checks; `via` names it on the timeline and in the audit log). The CRM is
    told through the `customer.merged` webhook. Returns the survivor."""
    now = now or timezone.now()
    if check and by is not None and not can_merge(user=by):
        raise NotAllowed("Only admins, leads and heads can merge customer records.")
    with transaction.atomic():
        lock_customers([survivor.pk, merged.pk])
        regions = set(Customer.objects.filter(pk__in=[survivor.pk, merged.pk]).values_list("region", flat=True))
        survivor = customer_merge.merge_customers(survivor=survivor, merged=merged, by=by, now=now, via=via)
        Mention.objects.filter(customer_id=merged.pk).update(customer_id=survivor.pk)
        if regions != {survivor.region}:  # the board counts the posts by their customer's region: it moved
            upkeep.touch_customers(customer_ids=[survivor.pk])
        Case.objects.filter(customer_id=merged.pk).update(customer_id=survivor.pk)
        # The CRM learns which record is gone and which one now holds everything.
        emit_event(event_type=EventType.CUSTOMER_MERGED, payload={
            "survivor": customer_data(survivor), "merged": {"id": merged.pk, "external_id": merged.external_id}})
    return survivor


def confirm_suggestion(*, suggestion_id: int, by, now: datetime | None = None) -> Customer:
    """An agent confirms that the prospect is the suggested customer: the prospect is merged into it."""
    now = now or timezone.now()
    with transaction.atomic():
        suggestion = suggestions.lock_pending(suggestion_id=suggestion_id)
        _check_holds_case(user=by, customer_id=suggestion.prospect_id)
        survivor = suggestion.candidate
        if survivor.merged_into_id is not None:  # the candidate was merged since: into its survivor
            survivor = survivor.merged_into
        survivor = merge_customers(survivor=survivor, merged=suggestion.prospect, by=by, now=now, check=False)
        suggestions.mark_confirmed(suggestion=suggestion, by=by, now=now)
    return survivor


def reject_suggestion(*, suggestion_id: int, by, now: datetime | None = None):
    """An agent says the prospect is not that customer; the pair is not suggested again."""
    with transaction.atomic():
        suggestion = suggestions.lock_pending(suggestion_id=suggestion_id)
        _check_holds_case(user=by, customer_id=suggestion.prospect_id)
        return suggestions.reject(suggestion_id=suggestion.pk, by=by, now=now)


# --- Privacy ------------------------------------------------------------------------------------


def _check_admin(by) -> None:
    if by is not None and not is_admin(by):
        raise NotAllowed("Only admins can export or erase a person's data.")


def export_customer(*, customer: Customer, by=None, now: datetime | None = None, via: str = "") -> dict:
    """Everything Baton holds about a person, as JSON-ready data; the export is audited (`via`: who asked when
    `by` is no person, an API integration)."""
    _check_admin(by)
    now = now or timezone.now()
    data = customer_privacy.export_record(customer=customer)
    ids = customer_privacy.record_ids(customer=customer)  # the record and those merged into it
    data["mentions"] = list(
        Mention.objects.filter(customer_id__in=ids).order_by("posted_at", "pk").values(
            "id", "source", "external_id", "author_handle", "author_name", "author_followers", "text", "url",
            "posted_at", "received_at", "language", "sentiment", "intent", "raw", "case_id",
        )
    )
    cases = list(Case.objects.filter(customer_id__in=ids).order_by("pk").values(
        "id", "department__slug", "status", "priority", "intent", "subject", "created_at", "resolved_at", "closed_at",
    ))
    events = {}
    for event in CaseEvent.objects.filter(case_id__in=[case["id"] for case in cases]).order_by("created_at", "pk"):
        events.setdefault(event.case_id, []).append({"kind": event.kind, "at": event.created_at, "data": event.data})
    for case in cases:
        case["events"] = events.get(case["id"], [])
    data["cases"] = cases
    AuditEntry.objects.create(action=PrivacyAction.EXPORT, customer_id_ref=customer.pk, actor=by, at=now,
                              details={"mentions": len(data["mentions"]), "cases": len(cases),
                                       **({"via": via} if via else {})})
    return data


def _scrub_events(case_ids: list[int], *, mention_ids: list[int] | None = None, placeholder: str) -> int:
    """Blank what people wrote in case events (all of these cases', or only the copies of these mentions)."""
    query = CaseEvent.objects.filter(case_id__in=case_ids)
    if mention_ids is not None:
        query = query.filter(kind=EventKind.MENTION, data__mention_id__in=mention_ids)
    changed = []
    for event in query.only("id", "data"):
        data = dict(event.data or {})
        if any(data.get(key) for key in PERSONAL_EVENT_KEYS):
            data.update({key: placeholder for key in PERSONAL_EVENT_KEYS if data.get(key)})
            event.data = data
            changed.append(event)
    CaseEvent.objects.bulk_update(changed, ["data"], batch_size=1000)
    return len(changed)


def _anonymise_mentions(query, *, placeholder: str, now: datetime) -> list[int]:
    ids = list(query.values_list("pk", flat=True))
    Mention.objects.filter(pk__in=ids).update(author_handle="", author_name="", author_followers=None, text=placeholder,
                                              url="", raw={}, anonymised_at=now)
    return ids


def erase_customer(*, customer: Customer, by=None, now: datetime | None = None, via: str = "") -> dict:
    """Remove the person's data: the record's personal fields, identities and match keys, the text of
    their mentions, cases, case events, handoff and feedback notes, the replies written to them (and the
    outbox's copies), the notifications that quote their cases, their timeline's words. The fact stays in
    the audit log (counts, no personal data; `via` names an API integration). Idempotent: erasing again
    blanks whatever came since and keeps the first erasure's time. A record merged into another holds no
    data (it moved to the survivor): TransitionError names the record to erase. Returns the counts."""
    _check_admin(by)
    now = now or timezone.now()
    with transaction.atomic():
        ids = customer_privacy.record_ids(customer=customer)
        lock_customers(ids)
        customer = Customer.objects.get(pk=customer.pk)
        if customer.merged_into_id is not None:
            raise TransitionError(
                f"Record #{customer.pk} was merged into #{customer.merged_into_id}, which holds the person's data: "
                f"erase #{customer.merged_into_id}.", fields={"id": [f"Erase record #{customer.merged_into_id}."]})
        case_ids = list(Case.objects.filter(customer_id__in=ids).values_list("pk", flat=True))
        upkeep.touch_customers(customer_ids=ids)  # their posts lose the region and the author's location
        mention_ids = _anonymise_mentions(Mention.objects.filter(customer_id__in=ids), placeholder=ERASED, now=now)
        Case.objects.filter(pk__in=case_ids).update(subject=ERASED)
        Handoff.objects.filter(case_id__in=case_ids).update(note=ERASED)
        FeedbackNote.objects.filter(case_id__in=case_ids).update(text=ERASED)
        events = _scrub_events(case_ids, placeholder=ERASED)
        replies = replies_services.erase_customer_data(customer=customer, placeholder=ERASED)
        notifications = sla_notifications.erase_customer_data(customer=customer, placeholder=ERASED)
        counts = customer_privacy.erase_record(customer=customer, by=by, now=now, via=via, extra={
            "mentions": len(mention_ids), "cases": len(case_ids), "case_events": events, **replies,
            "notifications": notifications,
        })
        emit_event(event_type=EventType.CUSTOMER_UPDATED,
                   payload={**customer_data(Customer.objects.get(pk=customer.pk)), "erased": True})
    return counts


def anonymise_old_mentions(*, now: datetime | None = None, limit: int = 1000) -> int:
    """The retention policy: anonymise up to `limit` mentions posted more than
    BATON_MENTION_RETENTION_DAYS ago (0: keep them). Labels (intent, sentiment, promise) stay for the
    aggregates. Returns how many; the task re-queues itself while a batch is full."""
    days = settings.BATON_MENTION_RETENTION_DAYS
    if days <= 0:
        return 0
    now = now or timezone.now()
    with transaction.atomic():
        query = (Mention.objects.filter(anonymised_at__isnull=True, posted_at__lt=now - timedelta(days=days))
                 .order_by("posted_at").select_for_update(skip_locked=True)[:limit])
        rows = list(query.values_list("pk", "case_id", "text", "posted_at"))
        if not rows:
            return 0
        ids = [pk for pk, _, _, _ in rows]
        upkeep.touch_days({day_of(posted) for _, _, _, posted in rows})  # the author's location goes
        Mention.objects.filter(pk__in=ids).update(author_handle="", author_name="", author_followers=None,
                                                  text=ANONYMISED, url="", raw={}, anonymised_at=now)
        _scrub_events(sorted({case_id for _, case_id, _, _ in rows if case_id}), mention_ids=ids,
                      placeholder=ANONYMISED)
        # A case's subject is its first post's words: those go too.
        subjects = Q()
        for _, case_id, text, _ in rows:
            if case_id:
                subjects |= Q(pk=case_id, subject=text[:200])
        if subjects:
            Case.objects.filter(subjects).update(subject=ANONYMISED)
        timeline.anonymise(ref_type="mention", ref_ids=ids, summary="Posted (anonymised by the retention policy)")
        AuditEntry.objects.create(action=PrivacyAction.RETENTION, at=now,
                                  details={"mentions": len(ids), "older_than_days": days})
    return len(ids)


# --- Timeline backfill -----------------------------------------------------------------------------


def backfill_timeline(*, batch: int = 2000, out=None) -> int:
    """Write the customer-timeline lines of mentions and case events that have none (rows from
    before the timeline existed). Idempotent; stage changes made before it are not recovered (their
    case events repeat per case). Returns how many lines were written."""
    written = 0
    mentions = (Mention.objects.filter(customer__isnull=False)
                .exclude(Exists(TimelineEntry.objects.filter(ref_type="mention", ref_id=OuterRef("pk"))))
                .select_related("case").order_by("pk"))
    while chunk := list(mentions[:batch]):
        written += timeline.record(entries=[
            timeline.mention_posted(customer_id=mention.customer_id, mention_id=mention.pk, at=mention.posted_at,
                                    source=mention.get_source_display(), handle=mention.author_handle,
                                    text=mention.text, case_id=mention.case_id,
                                    department_id=mention.case.department_id if mention.case_id else None)
            for mention in chunk
        ])
        if out:
            out(f"  {written:,} lines")
    shown = (CaseEvent.objects.filter(kind__in=list(case_events.TIMELINE_KINDS))
             .exclude(Exists(TimelineEntry.objects.filter(ref_type="caseevent", ref_id=OuterRef("pk"))))
             .select_related("case", "actor").order_by("pk"))
    while chunk := list(shown[:batch]):
        written += timeline.record(entries=case_events.timeline_entries(chunk))
        if out:
            out(f"  {written:,} lines")
    return written
