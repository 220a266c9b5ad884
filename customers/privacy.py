"""A person's data on the customers side: export and erasure (feedback's side, mentions and cases,
is `feedback.linking.services`, which calls these in the same transaction)."""

from datetime import datetime

from django.db.models import F, Value
from django.db.models.functions import Coalesce

from .models import AuditEntry, Customer, MatchKey, MatchSuggestion, PrivacyAction, TimelineEntry

ERASED_NAME = "Erased person"
PROSPECT_PREFIX = "baton:"


def record_ids(*, customer: Customer) -> list[int]:
    """The record and every record merged into it (their rows moved, but the pointers remain)."""
    return sorted({customer.pk, *Customer.objects.filter(merged_into=customer).values_list("pk", flat=True)})


def export_record(*, customer: Customer) -> dict:
    ids = record_ids(customer=customer)
    fields = ("id", "external_id", "name", "email", "phone", "stage", "value", "region", "owner_department_id",
              "attributes", "merged_into_id", "merged_at", "erased_at", "created_at", "updated_at")
    return {
        "customer": Customer.objects.filter(pk=customer.pk).values(*fields).get(),
        "merged_records": list(Customer.objects.filter(pk__in=ids).exclude(pk=customer.pk).values(*fields)),
        "identities": list(customer.identities.order_by("pk").values(
            "channel", "handle", "display_name", "method", "confidence", "created_at")),
        "suggestions": list(MatchSuggestion.objects.filter(prospect_id__in=ids).order_by("pk").values(
            "candidate_id", "channel", "handle", "method", "confidence", "status", "created_at", "decided_at")),
        "timeline": list(TimelineEntry.objects.filter(customer_id__in=ids).order_by("-at", "-pk").values(
            "at", "kind", "summary", "text", "department_id", "case_id", "ref_type", "ref_id", "actor")),
        "audit": list(AuditEntry.objects.filter(customer_id_ref__in=ids).order_by("at", "pk").values(
            "action", "at", "details")),
    }


def erase_record(*, customer: Customer, by, now: datetime, extra: dict | None = None, via: str = "") -> dict:
    """Blank the personal fields of the record (and of those merged into it), delete its identities,
    match keys and suggestions, blank its timeline's words; write the audit entry (`via`: who asked when `by`
    is no person, an API integration). The row and its external id stay, so the CRM and the aggregates still
    line up. Erasing again blanks again (whatever came since) and keeps the first erasure's time."""
    ids = record_ids(customer=customer)
    identities = customer.identities.count()
    customer.identities.all().delete()
    MatchKey.objects.filter(customer_id__in=ids).delete()
    MatchSuggestion.objects.filter(prospect_id__in=ids).delete()
    MatchSuggestion.objects.filter(candidate_id__in=ids).delete()
    entries = TimelineEntry.objects.filter(customer_id__in=ids).update(summary="(erased)", text="", actor="")
    Customer.objects.filter(pk__in=ids).update(name=ERASED_NAME, email="", phone="", region="", attributes={},
                                               erased_at=Coalesce(F("erased_at"), Value(now)), updated_at=now)
    # A prospect's Baton-made external id holds the handle: replace it, so the id says nothing about
    # the person and a later post from that handle makes a new prospect (not a link to this record).
    for prospect_id in Customer.objects.filter(pk__in=ids, external_id__startswith=PROSPECT_PREFIX).values_list(
        "pk", flat=True
    ):
        Customer.objects.filter(pk=prospect_id).update(external_id=f"{PROSPECT_PREFIX}erased:{prospect_id}")
    counts = {"identities": identities, "timeline_entries": entries, **(extra or {})}
    AuditEntry.objects.create(action=PrivacyAction.ERASE, customer_id_ref=customer.pk, actor=by, at=now,
                              details={**counts, "via": via} if via else counts)
    return counts
