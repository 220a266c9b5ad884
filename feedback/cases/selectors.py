"""Reads, always scoped to what the asking user may see."""


from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404

from feedback.cases.models import Case, CaseEvent
from feedback.choices import OPEN_STATUSES, EventKind, HandoffStatus
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
    mentions = list(reversed(posts.object_list))
    return {
        "mentions": mentions,
        "conversation": conversation(case=case, mentions=mentions, posts=posts),
        "posts_page": posts,
        "events": list(events.object_list),
        "events_page": events,
        "clocks": list(case.clocks.order_by("started_at", "metric")),
        "customer_mentions": case.customer.mentions.count(),
        "customer_cases": case.customer.cases.count(),
    }


def conversation(*, case: Case, mentions: list, posts) -> list[tuple[str, object]]:
    """The page of posts with the replies between them, in time order: ("mention", Mention) and
    ("reply", CaseEvent) items. The replies are those from the page's oldest post (from the start, on
    the oldest page) up to its newest (to now, on the latest page)."""
    replies = CaseEvent.objects.filter(case=case, kind=EventKind.REPLY).select_related("actor")
    if mentions and posts.has_next():
        replies = replies.filter(created_at__gte=mentions[0].posted_at)
    if mentions and posts.has_previous():
        replies = replies.filter(created_at__lt=mentions[-1].posted_at)
    replies = list(replies.order_by("-created_at", "-id")[:50])
    items = [(mention.posted_at, 0, "mention", mention) for mention in mentions]
    items += [(event.created_at, 1, "reply", event) for event in replies]
    return [(kind, item) for _at, _order, kind, item in sorted(items, key=lambda entry: (entry[0], entry[1]))]


def other_open_cases(*, case: Case, department_ids: set[int], limit: int = 10) -> list[dict]:
    """The customer's other open cases, in any department: the user may open those of their departments
    (`department_ids`)."""
    mine = department_ids
    rows = (Case.objects.filter(customer_id=case.customer_id, status__in=OPEN_STATUSES).exclude(pk=case.pk)
            .select_related("department").order_by("-created_at", "-id")[:limit])
    return [{"case": other, "visible": other.department_id in mine} for other in rows]

