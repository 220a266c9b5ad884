"""Reads, always scoped to what the asking user may see."""


from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404

from feedback.cases.models import Case, CaseEvent
from feedback.choices import OPEN_STATUSES, HandoffStatus
from feedback.sla.models import SlaClock
from teams.selectors import department_ids_for


def inbox_cases(*, user, department_id: int | None = None):
    """Open cases of the user's departments, newest first, with running clocks prefetched.

    A case handed off to the department is in its incoming list until accepted, not here."""
    departments = department_ids_for(user=user)
    if department_id is not None:
        departments &= {department_id}
    return (
        Case.objects.filter(department_id__in=departments, status__in=OPEN_STATUSES)
        .exclude(handoffs__status=HandoffStatus.PENDING)
        .select_related("customer", "department", "assignee")
        .prefetch_related(
            Prefetch("clocks", queryset=SlaClock.objects.filter(stopped_at__isnull=True).order_by("due_at"),
                     to_attr="running_clocks")
        )
        .order_by("-created_at", "-id")
    )


def case_for_user(*, user, case_id: int) -> Case:
    """The case, if one of the user's departments owns it; 404 otherwise (no hint that it exists)."""
    case = (
        Case.objects.select_related("customer", "department", "assignee")
        .filter(pk=case_id, department_id__in=department_ids_for(user=user))
        .first()
    )
    if case is None:
        raise Http404("No such case in your departments.")
    return case


def case_detail(*, case: Case, posts_page: int | None = None, events_page: int | None = None) -> dict:
    """The case page: one page of its posts (the latest BATON_CASE_PAGE_POSTS first, oldest first on the page)
    and of its timeline (the latest BATON_CASE_PAGE_EVENTS, newest first). Page 2 is the ones before; a page
    past the last is the last. A case can collect thousands of posts: the page stays the same size."""
    posts = Paginator(case.mentions.order_by("-posted_at", "-id"), settings.BATON_CASE_PAGE_POSTS).get_page(
        posts_page or 1)
    events = Paginator(CaseEvent.objects.filter(case=case).select_related("actor").order_by("-created_at", "-id"),
                       settings.BATON_CASE_PAGE_EVENTS).get_page(events_page or 1)
    return {
        "mentions": list(reversed(posts.object_list)),
        "posts_page": posts,
        "events": list(events.object_list),
        "events_page": events,
        "clocks": list(case.clocks.order_by("started_at", "metric")),
        "customer_mentions": case.customer.mentions.count(),
        "customer_cases": case.customer.cases.count(),
    }

