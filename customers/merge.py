"""Merging two customer records that turn out to be one person: the customers side.

`merge_customers` moves what customers owns (identities, match keys, suggestions, timeline) to the
survivor, fills the survivor's blank fields from the other record, adds the lifetime values, keeps
the higher stage, and leaves the other record as "merged into" the survivor. Mentions and cases
are feedback's rows, which customers never touches: always merge through
`feedback.linking.services.merge_customers`, which locks both customers (`lock_customers`), calls
this, then moves its own rows in the same transaction.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.errors import TransitionError

from . import timeline
from .matching import refresh_keys
from .models import AuditEntry, Customer, MatchSuggestion, PrivacyAction, Stage, SuggestionStatus, TimelineEntry

STAGE_RANK = {Stage.PROSPECT: 0, Stage.LEAD: 1, Stage.FORMER: 2, Stage.CUSTOMER: 3}
FILLED_FIELDS = ("name", "email", "phone", "region", "owner_department_id")


def _fill(survivor: Customer, merged: Customer) -> list[str]:
    changed = []
    for name in FILLED_FIELDS:
        if not getattr(survivor, name) and getattr(merged, name):
            setattr(survivor, name, getattr(merged, name))
            changed.append(name)
    if STAGE_RANK.get(merged.stage, 0) > STAGE_RANK.get(survivor.stage, 0):
        survivor.stage = merged.stage
        changed.append("stage")
    if merged.value:
        survivor.value += merged.value
        changed.append("value")
    attributes = dict(merged.attributes or {}) if isinstance(merged.attributes, dict) else {}
    if attributes:
        survivor.attributes = {**attributes, **(survivor.attributes or {})}
        changed.append("attributes")
    return changed


def _move_suggestions(survivor: Customer, merged: Customer, *, by, now: datetime) -> None:
    # The pair itself is settled by the merge.
    MatchSuggestion.objects.filter(
        Q(prospect=merged, candidate=survivor) | Q(prospect=survivor, candidate=merged), status=SuggestionStatus.PENDING,
    ).update(status=SuggestionStatus.CONFIRMED, decided_by=by, decided_at=now)
    for suggestion in MatchSuggestion.objects.filter(Q(prospect=merged) | Q(candidate=merged)).exclude(
        Q(prospect=survivor) | Q(candidate=survivor)
    ):
        prospect_id = survivor.pk if suggestion.prospect_id == merged.pk else suggestion.prospect_id
        candidate_id = survivor.pk if suggestion.candidate_id == merged.pk else suggestion.candidate_id
        if MatchSuggestion.objects.filter(prospect_id=prospect_id, candidate_id=candidate_id).exists():
            suggestion.delete()  # the survivor already has this pair (and its decision)
        else:
            suggestion.prospect_id, suggestion.candidate_id = prospect_id, candidate_id
            suggestion.save(update_fields=["prospect", "candidate"])


def merge_customers(*, survivor: Customer, merged: Customer, by=None, now: datetime | None = None,
                    via: str = "") -> Customer:
    """Merge `merged` into `survivor` (customers' rows only; see the module docstring). Returns the
    survivor as saved. Raises TransitionError for a record merged into itself, already merged, or erased.
    `via` names who asked when `by` is no person (an API integration): the timeline and the audit say so."""
    now = now or timezone.now()
    if survivor.pk == merged.pk:
        raise TransitionError("A record cannot be merged into itself.", fields={"merged": ["Choose another record."]})
    with transaction.atomic():
        # Both rows locked in id order (as feedback.cases.locks.lock_customers does; re-locking is free).
        locked = {customer.pk: customer for customer in
                  Customer.objects.select_for_update().filter(pk__in=[survivor.pk, merged.pk]).order_by("pk")}
        survivor, merged = locked[survivor.pk], locked[merged.pk]
        for customer in (survivor, merged):
            if customer.merged_into_id is not None:
                raise TransitionError(f"{customer} was already merged into record #{customer.merged_into_id}.",
                                      fields={"merged": ["Merge into the record it was merged into."]})
            if customer.erased_at is not None:
                raise TransitionError(f"The data of record #{customer.pk} was erased.",
                                      fields={"merged": ["An erased record cannot be merged."]})
        changed = _fill(survivor, merged)
        survivor.save()
        merged.identities.update(customer=survivor)
        TimelineEntry.objects.filter(customer=merged).update(customer=survivor)
        _move_suggestions(survivor, merged, by=by, now=now)
        Customer.objects.filter(merged_into=merged).update(merged_into=survivor)  # no chains
        merged.merged_into, merged.merged_at, merged.value = survivor, now, 0
        merged.save(update_fields=["merged_into", "merged_at", "value", "updated_at"])
        refresh_keys(customer_ids=[survivor.pk, merged.pk])
        timeline.record(entries=[timeline.merged(survivor_id=survivor.pk, merged_id=merged.pk,
                                                 merged_name=merged.name or merged.external_id,
                                                 actor=str(by) if by else via, at=now)])
        AuditEntry.objects.create(action=PrivacyAction.MERGE, customer_id_ref=survivor.pk, actor=by, at=now,
                                  details={"survivor": survivor.pk, "merged": merged.pk,
                                           "merged_external_id": merged.external_id, "filled": changed,
                                           **({"via": via} if via else {})})
    return survivor
