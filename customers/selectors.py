"""Reads for the customer pages (the list and the 360 page). Personal data: department members and
admins only, never board-only users (`can_view_customers`)."""

from django.core.paginator import Page, Paginator
from django.db.models import Q
from django.db.models.functions import Lower

from teams.selectors import department_ids_for

from .matching import normalize_email, normalize_handle, normalize_phone
from .models import Customer, Identity, MatchKey, MatchSuggestion, SuggestionStatus, TimelineEntry, TimelineKind

LIST_PAGE_SIZE = 50
TIMELINE_PAGE_SIZE = 50


def can_view_customers(*, user) -> bool:
    """Members of a department and admins; the board sees aggregates only."""
    if not user.is_authenticated:
        return False
    return bool(user.is_staff or user.is_superuser or department_ids_for(user=user))


def visible_customers(*, user):
    """The records this user may open: admins all of them; a member those their departments own or
    have worked with (a line of the record's timeline in one of their departments: a case, a post
    attached to one, a handoff...). Another department's customers stay out of sight."""
    customers = Customer.objects.all()
    if user.is_staff or user.is_superuser:
        return customers
    ids = department_ids_for(user=user)
    return customers.filter(
        Q(owner_department_id__in=ids)
        | Q(pk__in=TimelineEntry.objects.filter(department_id__in=ids).values("customer_id"))
    )


def search_customers(*, user, query: str = "", stage: str = "", page: int = 1) -> Page:
    """The customers the user may see (not the records merged into others), by name order; `query`
    finds a name prefix, an external id, an email, a phone number or a handle, each through an index."""
    customers = visible_customers(user=user).filter(merged_into__isnull=True).select_related("owner_department")
    query = query.strip()
    if query:
        # The exact matches first, each an index lookup (a handful of ids), then one condition the
        # planner can serve from two indexes (the primary key, customer_name_prefix), never a scan.
        exact = set(Identity.objects.filter(handle=normalize_handle(query)).values_list("customer_id", flat=True))
        exact |= set(Customer.objects.filter(external_id=query).values_list("pk", flat=True))
        contact_keys = [f"email:{email}" for email in [normalize_email(query)] if email]
        contact_keys += [f"phone:{phone}" for phone in [normalize_phone(query)] if phone]
        if contact_keys:
            exact |= set(MatchKey.objects.filter(key__in=contact_keys).values_list("customer_id", flat=True))
        customers = customers.annotate(lower_name=Lower("name"))
        customers = customers.filter(Q(pk__in=sorted(exact)) | Q(lower_name__startswith=query.lower()))
    if stage:
        customers = customers.filter(stage=stage)
    return Paginator(customers.order_by("name", "pk"), LIST_PAGE_SIZE).get_page(page)


def customer_profile(*, user, customer_id: int) -> Customer | None:
    """The record, if the user may see it (None otherwise: the page answers 404)."""
    return (visible_customers(user=user).select_related("owner_department", "merged_into")
            .prefetch_related("identities").filter(pk=customer_id).first())


def identities_of(*, customer: Customer) -> list[Identity]:
    return sorted(customer.identities.all(), key=lambda identity: (identity.channel, identity.handle))


def timeline_page(*, customer_id: int, kind: str = "", department_id: int | None = None, page: int = 1) -> Page:
    """The customer's timeline, newest first, one index range (kind filter: its own index)."""
    entries = TimelineEntry.objects.filter(customer_id=customer_id)
    if kind in TimelineKind.values:
        entries = entries.filter(kind=kind)
    if department_id is not None:
        entries = entries.filter(department_id=department_id)
    entries = entries.select_related("department").order_by("-at", "-pk")
    return Paginator(entries, TIMELINE_PAGE_SIZE).get_page(page)


def suggestions_about(*, customer_id: int) -> dict:
    """Pending suggestions where this record is the prospect (who it may be) or the candidate (who may be it)."""
    pending = MatchSuggestion.objects.filter(status=SuggestionStatus.PENDING)
    return {
        "may_be": list(pending.filter(prospect_id=customer_id, candidate__merged_into__isnull=True)
                       .select_related("candidate").order_by("-confidence", "pk")),
        "may_be_them": list(pending.filter(candidate_id=customer_id, prospect__merged_into__isnull=True)
                            .select_related("prospect").order_by("-confidence", "pk")[:20]),
    }
