"""The case page: the conversation in order, the customer panel, other open cases, full names,
and the header's actions (take, assign, priority, pending, resume)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from feedback.cases import events, journey
from feedback.cases.models import CaseEvent
from feedback.cases.services import hand_off
from feedback.choices import CaseStatus, EventKind, Priority
from feedback.sla import clocks as sla
from feedback.sla.models import SlaClock
from teams.models import Role
from tests.factories import CaseFactory, CustomerFactory, MembershipFactory, MentionFactory, UserFactory, department

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(service_agent):
    service_agent.first_name, service_agent.last_name = "Dana", "Ortiz"
    service_agent.save()
    return service_agent


@pytest.fixture
def case():
    now = timezone.now()
    case = CaseFactory(customer=CustomerFactory(name="Rita Flies"), created_at=now - timedelta(hours=2))
    MentionFactory(case=case, customer=case.customer, text="First: my bag is lost", posted_at=now - timedelta(hours=2))
    MentionFactory(case=case, customer=case.customer, text="Third: still nothing?", posted_at=now - timedelta(minutes=10))
    sla.start_clocks(case=case, now=case.created_at)
    return case


@pytest.fixture
def client_of(client, agent):
    client.force_login(agent)
    return client


def page(client, case):
    response = client.get(reverse("case-detail", args=[case.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_conversation_interleaves_posts_and_replies_in_time_order(client_of, case, agent):
    events.add(events.reply(case=case, text="Second: we are on it, Rita.", actor=agent,
                            now=timezone.now() - timedelta(hours=1)))
    html = page(client_of, case)
    first, second, third = (html.index(text) for text in ("First: my bag", "Second: we are on it", "Third: still"))
    assert first < second < third
    assert "Reply</strong> by Dana Ortiz" in html


def test_the_timeline_shows_full_names(client_of, case, agent):
    events.add(events.note(case=case, text="Gold member", actor=agent, now=timezone.now()))
    assert "by Dana Ortiz" in page(client_of, case)


def test_other_open_cases_of_the_customer_link_only_where_the_user_may_look(client_of, case):
    mine = CaseFactory(customer=case.customer, subject="Refund for the seat")
    theirs = CaseFactory(customer=case.customer, department=department("sales"), subject="Upgrade quote")
    CaseFactory(customer=case.customer, status=CaseStatus.CLOSED, subject="Old and closed")
    html = page(client_of, case)
    assert f'href="/cases/{mine.pk}/"' in html and "Refund for the seat" in html
    assert f"#{theirs.pk}" in html and f'href="/cases/{theirs.pk}/"' not in html and "Upgrade quote" in html
    assert "Old and closed" not in html


def test_the_customer_name_links_to_the_customer_page_only_once_it_exists(client_of, case):
    from django.urls import NoReverseMatch

    try:
        url = reverse("customer-detail", args=[case.customer.pk])
    except NoReverseMatch:
        url = None
    html = page(client_of, case)
    if url is None:
        assert '<p class="customer-name">Rita Flies</p>' in html
    else:
        assert f'<a href="{url}">Rita Flies</a>' in html


def test_take_priority_pending_and_resume_from_the_page(client_of, case, agent):
    action = lambda name: reverse("case-action", args=[case.pk, name])  # noqa: E731
    assert client_of.post(action("take")).status_code == 302
    assert client_of.post(action("priority"), {"priority": Priority.HIGH}).status_code == 302
    assert client_of.post(action("priority"), {"priority": "soon"}).status_code == 400
    assert client_of.post(action("pending"), {"note": "Waiting for the bag tag"}).status_code == 302
    case.refresh_from_db()
    assert (case.assignee, case.priority, case.status) == (agent, Priority.HIGH, CaseStatus.PENDING)
    assert SlaClock.objects.filter(case=case, paused_at__isnull=False).count() == 2
    html = page(client_of, case)
    assert "Resume (clocks run again)" in html and "Taken" in html
    assert client_of.post(action("resume")).status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    assert not SlaClock.objects.filter(case=case, paused_at__isnull=False).exists()
    # Already mine: taking it again changes nothing and writes no second timeline entry (the service
    # is the one the inbox's bulk "take" calls, where a case already yours is not an error).
    assert client_of.post(action("take")).status_code == 302
    assert CaseEvent.objects.filter(case=case, kind=EventKind.ASSIGNED).count() == 1


def test_an_agent_may_not_assign_to_a_colleague_a_lead_may(client, client_of, case):
    colleague = MembershipFactory(user=UserFactory(username="kim", first_name="Kim", last_name="Park"),
                                  department=department("service")).user
    assert client_of.post(reverse("case-action", args=[case.pk, "assign"]), {"assignee": colleague.pk}).status_code == 403
    lead = MembershipFactory(user=UserFactory(username="lee"), department=department("service"), role=Role.LEAD).user
    client.force_login(lead)
    assert client.post(reverse("case-action", args=[case.pk, "assign"]), {"assignee": colleague.pk}).status_code == 302
    case.refresh_from_db()
    assert case.assignee == colleague
    assert "Assigned</strong> to Kim Park" in page(client, case)


def test_accepting_a_handoff_can_assign_it_to_the_accepting_user(client, case, agent):
    receiver = MembershipFactory(user=UserFactory(username="alex"), department=department("after-sales")).user
    MembershipFactory(user=UserFactory(username="other"), department=department("after-sales"))
    handoff = hand_off(case=case, to_department=department("after-sales"), note="Compensation", by=agent)
    client.force_login(receiver)
    assert 'name="take"' in page(client, case)
    response = client.post(reverse("handoff-accept", args=[handoff.pk]), {"take": "1"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.assignee == receiver


def test_accepting_without_taking_assigns_by_the_departments_rule(case, agent):
    first = MembershipFactory(user=UserFactory(username="a1"), department=department("after-sales")).user
    handoff = hand_off(case=case, to_department=department("after-sales"), note="Compensation", by=agent)
    journey.accept_handoff(handoff=handoff, by=first)
    case.refresh_from_db()
    assert case.assignee == first  # round robin among its one available agent
    assert not CaseEvent.objects.filter(case=case, kind=EventKind.ASSIGNED).exists()


def test_the_case_page_has_a_fixed_query_budget(client_of, case, agent):
    """Replies, outbox messages, other cases and timeline entries do not add queries (no N+1)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from feedback.replies import services as replies
    from feedback.replies.models import Reply, ReplyStatus

    def add(n):
        CaseFactory(customer=case.customer, subject=f"Other {n}")
        reply = replies.compose_reply(case=case, by=agent, text=f"Reply {n}", considerations=[
            "transparency", "sourcing", "timeliness", "tone", "influence"])
        replies.deliver_reply(reply_id=reply.pk)
        Reply.objects.create(case=case, text=f"Waiting {n}", author=agent, status=ReplyStatus.AWAITING_APPROVAL)

    def count():
        with CaptureQueriesContext(connection) as queries:
            html = page(client_of, case)
        return len(queries), html

    add(0)
    once, _ = count()
    add(1)
    add(2)
    thrice, html = count()
    assert html.count('class="brand-reply"') == 3 and "Waiting 2" in html and "Other 2" in html
    assert thrice == once <= 30  # 29, and one for the matcher's pending suggestions (customers.suggestions)


def test_an_agent_sees_take_and_give_back_not_the_assign_menu_a_lead_sees_it(client, client_of, case, agent):
    html = page(client_of, case)
    assert 'id="assign"' not in html and "Take it" in html and "Give it back" not in html
    client_of.post(reverse("case-action", args=[case.pk, "take"]))
    html = page(client_of, case)
    assert 'id="give-back"' in html and 'id="assign"' not in html
    assert client_of.post(reverse("case-action", args=[case.pk, "assign"]), {"assignee": ""}).status_code == 302
    case.refresh_from_db()
    assert case.assignee is None
    lead = MembershipFactory(user=UserFactory(username="lee"), department=department("service"), role=Role.LEAD).user
    client.force_login(lead)
    assert 'id="assign"' in page(client, case)
