"""Reads, always scoped to what the asking user may see."""

import re
from datetime import datetime

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone
from django.utils.functional import cached_property

from customers.models import Customer
from feedback.cases.models import Case, CaseEvent, FeedbackNote, Handoff, SavedView
from feedback.choices import OPEN_STATUSES, EventKind, HandoffStatus
from feedback.intake.models import Mention
from feedback.sla.models import SlaClock
from teams.selectors import department_ids_for

# The inbox's tabs: (value, label). "all" is every open case of the user's departments.
INBOX_TABS = [
    ("all", "All open"),
    ("mine", "Mine"),
    ("unassigned", "Unassigned"),
    ("incoming", "Incoming handoffs"),
    ("feedback", "Feedback up"),
    ("pending", "Pending"),
    ("breached", "Breached"),
]
INBOX_PAGE_SIZE = 50
# The inbox counts its cases up to this many ("more than 1,000" past it, 20 pages): counting every one of
# 50,000 open cases costs more than the rest of the page (a 10,000 cap still cost 5-17 ms a request), and nobody
# pages further than filters and search take them.
INBOX_COUNT_CAP = 1_000


class CappedPaginator(Paginator):
    """A Paginator whose count stops at `cap` (`capped` says it did): one bounded COUNT."""

    def __init__(self, object_list, per_page, *, cap: int = INBOX_COUNT_CAP, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.cap = cap
        self.capped = False

    @cached_property
    def count(self) -> int:
        found = self.object_list.order_by()[: self.cap + 1].count()
        self.capped = found > self.cap
        return min(found, self.cap)


def inbox_page(cases: QuerySet, *, number) -> Page:
    """One page of `cases` (a queryset of ids, in order), counted up to INBOX_COUNT_CAP."""
    return CappedPaginator(cases, INBOX_PAGE_SIZE).get_page(number)


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


def inbox_base(*, user, tab: str = "all", department_id: int | None = None, now: datetime | None = None,
               department_ids: set[int] | None = None) -> QuerySet:
    """The cases of one inbox tab, before filters and sorting, scoped to the user's departments.

    Open cases of the user's departments (`department_id`: one of them), without those waiting for
    a handoff to be accepted; "incoming" is exactly those, waiting for the user's departments;
    "feedback" is the cases (of other departments) with feedback to the user's departments not
    acknowledged yet. `department_ids`: the user's departments, when the caller has them."""
    now = now or timezone.now()
    departments = set(department_ids if department_ids is not None else department_ids_for(user=user))
    if department_id is not None:
        departments &= {department_id}
    waiting = Handoff.objects.filter(status=HandoffStatus.PENDING)
    if tab == "incoming":
        return Case.objects.filter(department_id__in=departments, status__in=OPEN_STATUSES,
                                   pk__in=waiting.filter(to_department_id__in=departments).values("case_id"))
    if tab == "feedback":
        return Case.objects.filter(pk__in=FeedbackNote.objects.filter(
            to_department_id__in=departments, acknowledged_at__isnull=True).values("case_id"))
    cases = Case.objects.filter(department_id__in=departments, status__in=OPEN_STATUSES).exclude(
        pk__in=waiting.values("case_id"))
    if tab == "mine":
        cases = cases.filter(assignee=user)
    elif tab == "unassigned":
        cases = cases.filter(assignee__isnull=True)
    elif tab == "pending":
        cases = cases.filter(status="pending")
    elif tab == "breached":
        cases = cases.filter(next_due_at__lte=now)
    return cases


_WORD = re.compile(r"\w+", re.UNICODE)


def search_cases(cases: QuerySet, text: str) -> QuerySet:
    """Cases whose posts or customer name match `text`. PostgreSQL: full-text search, every word
    a prefix (`bag delay` finds "bags delayed"), through GIN indexes on the posts' text ('english')
    and the customers' names ('simple'); elsewhere (SQLite): every word a substring."""
    words = _WORD.findall(text or "")[:8]
    if not words:
        return cases
    if connection.vendor == "postgresql":
        query = " & ".join(f"{word}:*" for word in words)  # only \w+ words: a valid tsquery
        posts = RawSQL(
            f"SELECT case_id FROM {Mention._meta.db_table} WHERE case_id IS NOT NULL AND "
            "to_tsvector('english'::regconfig, text) @@ to_tsquery('english'::regconfig, %s)", [query])
        names = RawSQL(
            f"SELECT id FROM {Customer._meta.db_table} WHERE "
            "to_tsvector('simple'::regconfig, name) @@ to_tsquery('simple'::regconfig, %s)", [query])
        return cases.filter(Q(pk__in=posts) | Q(customer_id__in=names))
    posts, names = Mention.objects.filter(case__isnull=False), Customer.objects.all()
    for word in words:
        posts = posts.filter(text__icontains=word)
        names = names.filter(name__icontains=word)
    return cases.filter(Q(pk__in=posts.values("case_id")) | Q(customer_id__in=names.values("pk")))


def inbox_rows(*, case_ids: list[int]) -> list[Case]:
    """One page of the inbox, in the order of `case_ids`: each case with its customer, assignee,
    department, running clocks (nearest first) and the sentiment of its latest post. Four queries."""
    latest = Mention.objects.filter(case_id=OuterRef("pk")).order_by("-posted_at", "-id")
    rows = {
        case.pk: case
        for case in Case.objects.filter(pk__in=case_ids)
        .select_related("customer", "department", "assignee")
        .annotate(latest_sentiment=Subquery(latest.values("sentiment_label")[:1]))
        .prefetch_related(
            Prefetch("clocks", queryset=SlaClock.objects.filter(stopped_at__isnull=True).order_by("due_at"),
                     to_attr="running_clocks")
        )
    }
    return [rows[pk] for pk in case_ids if pk in rows]


def saved_views(*, user) -> list[SavedView]:
    return list(SavedView.objects.filter(user=user).order_by("name"))


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
        **_customer_counts(customer_id=case.customer_id),
    }


def _customer_counts(*, customer_id: int) -> dict:
    """How many posts and cases the customer has, in one query (the case page stays under 25)."""
    def count(queryset):
        return Coalesce(Subquery(queryset.order_by().values("customer_id").annotate(n=Count("id")).values("n")), 0)

    counts = Customer.objects.filter(pk=customer_id).values(
        customer_mentions=count(Mention.objects.filter(customer_id=OuterRef("pk"))),
        customer_cases=count(Case.objects.filter(customer_id=OuterRef("pk"))),
    ).first()
    return counts or {"customer_mentions": 0, "customer_cases": 0}


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

