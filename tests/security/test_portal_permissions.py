"""Every portal URL, resolved from the URLconf (not a hand-written list), walked as an anonymous
visitor, a member of another department and a board member, for GET and POST.

- Anonymous: always a redirect to sign-in.
- Another department and the board, on a URL naming the service department's object (a case, a
  mention, a handoff, feedback, a saved view...): 403 or 404 (a GET to a POST-only URL: 405, the
  same for every object).
- The same users on the other pages (their own inbox, notifications, settings...): never a 500,
  never the service department's data on the page, and nothing of the service department's
  changes, whatever they POST (the ids of its case and notification are in every form).

A URL added later is walked too: its parameters are filled by name (unknown ones with the case's id).
"""

from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from feedback.cases import journey
from feedback.cases import services as case_services
from feedback.cases.models import CaseEvent, FeedbackNote, Handoff, Problem, SavedView
from feedback.choices import CaseStatus
from feedback.routing.models import RoutingRule
from feedback.sla import clocks as sla
from feedback.sla.models import Notification
from feedback.understanding.models import Promise
from tests.factories import (
    BoardSeatFactory,
    CaseFactory,
    CustomerFactory,
    MembershipFactory,
    MentionFactory,
    UserFactory,
    department,
)

pytestmark = pytest.mark.django_db

# Not the portal: Django admin (its own staff checks), the API and webhooks (token or signature,
# their own tests), and signing in and out, which anybody may open.
SKIPPED_PREFIXES = ("admin/", "api/", "hooks/", "login/", "logout/")
SECRET_NAME = "Zebediah Quartermaine"
SECRET_TEXT = "secret-bag-story-7731"


def _walk(patterns, prefix=""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def portal_patterns() -> list[tuple[str, URLPattern]]:
    found = [(route, entry) for route, entry in _walk(get_resolver().url_patterns)
             if entry.name and not route.startswith(SKIPPED_PREFIXES)]
    assert len(found) > 20  # the portal is there
    return found


@pytest.fixture
def world():
    """The service department's things, and the people who must not reach them."""
    now = timezone.now()
    owner = MembershipFactory(user=UserFactory(username="service-owner"), department=department("service")).user
    case = CaseFactory(customer=CustomerFactory(name=SECRET_NAME), subject=SECRET_TEXT, status=CaseStatus.OPEN,
                       created_at=now - timedelta(hours=1))
    mention = MentionFactory(case=case, customer=case.customer, text=SECRET_TEXT)
    sla.start_clocks(case=case, now=case.created_at)
    # A handoff from after-sales to service, waiting; feedback from service to after-sales.
    handed = CaseFactory(department=department("after-sales"), customer=CustomerFactory(name=SECRET_NAME),
                         subject=SECRET_TEXT, status=CaseStatus.OPEN)
    after_sales = MembershipFactory(department=department("after-sales")).user
    handoff = case_services.hand_off(case=handed, to_department=department("service"), note=SECRET_TEXT,
                                     by=after_sales)
    feedback = journey.send_feedback(case=case, to_department=department("after-sales"), text=SECRET_TEXT, by=owner)
    problem = Problem.objects.create(title=SECRET_TEXT, owner_department=department("service"))
    view = SavedView.objects.create(user=owner, name=SECRET_TEXT, query="tab=mine")
    notification = Notification.objects.create(user=owner, case=case, kind=Notification.Kind.SLA_WARNING,
                                               text=SECRET_TEXT, created_at=now)
    rule = RoutingRule.objects.filter(department=department("service")).first()
    promise = Promise.objects.create(name="Bags arrive with you", slug="bags-arrive-test")
    return {
        "case": case, "mention": mention, "handoff": handoff, "feedback": feedback, "problem": problem,
        "view": view, "notification": notification, "rule": rule, "promise": promise, "owner": owner,
    }


def _kwargs(entry: URLPattern, world) -> dict:
    """Fill a URL's parameters by name with the service department's objects."""
    by_name = {
        "case_id": world["case"].pk, "mention_id": world["mention"].pk, "handoff_id": world["handoff"].pk,
        "feedback_id": world["feedback"].pk, "problem_id": world["problem"].pk, "view_id": world["view"].pk,
        "notification_id": world["notification"].pk, "rule_id": world["rule"].pk if world["rule"] else 1,
        "slug": world["promise"].slug, "action": "note", "direction": "up",
    }
    kwargs = {}
    for name, converter in entry.pattern.converters.items():
        if name in by_name:
            kwargs[name] = by_name[name]
        elif type(converter).__name__ == "IntConverter":
            kwargs[name] = world["case"].pk
        else:
            kwargs[name] = "x"
    return kwargs


# Parameters that name something of the service department: another department gets 403/404.
OWNED = {"case_id", "mention_id", "handoff_id", "feedback_id", "view_id", "notification_id"}
# Objects any member may read (problems are shared across departments, promises are the company's):
# the outsiders may see them, but not change them.
SHARED_READ = {"problem_id", "slug", "rule_id"}
# Lists of those shared things (every department's problems).
SHARED_PAGES = {"problems"}


def _post_data(world) -> dict:
    """A POST that tries to reach the service department's things through every form field there is."""
    case, notification = world["case"], world["notification"]
    return {
        "case": [case.pk], "id": [notification.pk], "all": "1", "action": "take", "text": "hijack",
        "note": "hijack", "reason": "hijack", "priority": "urgent", "to_department": department("sales").pk,
        "name": "hijack", "query": "", "to": "customer", "resolve_cases": "on", "label": "intent",
        "value": "praise", "away": "on",
    }


def _snapshot(world) -> tuple:
    case = world["case"]
    case.refresh_from_db()
    return (
        case.status, case.priority, case.assignee_id, case.department_id,
        CaseEvent.objects.filter(case=case).count(),
        Handoff.objects.get(pk=world["handoff"].pk).status,
        FeedbackNote.objects.get(pk=world["feedback"].pk).acknowledged_at,
        Problem.objects.get(pk=world["problem"].pk).status,
        SavedView.objects.filter(pk=world["view"].pk).exists(),
        Notification.objects.get(pk=world["notification"].pk).read_at,
        Promise.objects.get(pk=world["promise"].pk).is_active,
    )


def test_anonymous_visitors_are_sent_to_sign_in_everywhere(client, world):
    login = reverse("login")
    for route, entry in portal_patterns():
        url = reverse(entry.name, kwargs=_kwargs(entry, world))
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code == 302, f"{method.upper()} {url} ({route}): {response.status_code}"
            assert response["Location"].startswith(login), f"{method.upper()} {url}: {response['Location']}"


@pytest.mark.parametrize("who", ["other_department", "board"])
def test_outsiders_never_reach_the_service_departments_things(client, world, who):
    if who == "other_department":
        user = MembershipFactory(user=UserFactory(username="sales-outsider"), department=department("sales")).user
    else:
        user = BoardSeatFactory(user=UserFactory(username="board-outsider")).user
    client.force_login(user)
    before = _snapshot(world)
    walked = 0
    for route, entry in portal_patterns():
        kwargs = _kwargs(entry, world)
        url = reverse(entry.name, kwargs=kwargs)
        owned = OWNED & set(kwargs) or (set(kwargs) and not SHARED_READ & set(kwargs))
        for method in ("get", "post"):
            response = getattr(client, method)(url, _post_data(world) if method == "post" else None)
            label = f"{who} {method.upper()} {url} ({route})"
            assert response.status_code != 500, label
            if owned:
                # A GET to a POST-only URL is 405 whatever the object is: it tells nothing about it.
                allowed = (403, 404, 405) if method == "get" else (403, 404)
                assert response.status_code in allowed, f"{label}: {response.status_code}"
            else:
                assert response.status_code in (200, 302, 400, 403, 404, 405), f"{label}: {response.status_code}"
            body = response.content.decode(errors="replace")
            if who == "board" or not (SHARED_READ & set(kwargs) or entry.name in SHARED_PAGES):
                assert SECRET_NAME not in body and SECRET_TEXT not in body, f"{label} shows the service's data"
            walked += 1
    assert walked > 40
    assert _snapshot(world) == before, f"{who} changed something of the service department"
