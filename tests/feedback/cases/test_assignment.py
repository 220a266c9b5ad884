"""Assignment inside a department (round robin, least open cases, away members, leads) and the
per-department reopen window."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.urls import reverse

from feedback.cases.models import Case
from feedback.cases.services import Attachment, attach_mentions, resolve
from feedback.choices import CaseStatus, Intent, Priority
from teams.models import Assignment, Department, Membership, Role
from teams.services import set_away
from tests.concurrency import run_at_once
from tests.factories import CaseFactory, CustomerFactory, MembershipFactory, MentionFactory, UserFactory, department

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _members(slug="service", n=3, role=Role.AGENT, prefix="agent"):
    return [MembershipFactory(user=UserFactory(username=f"{prefix}{i}-{slug}"), department=department(slug),
                              role=role).user for i in range(n)]


def _new_cases(n, slug="service", *, to_lead=False, now=NOW):
    """n new cases for n new customers, in one batch."""
    dept = Department.objects.get(slug=slug)
    items = [
        Attachment(mention=MentionFactory(text=f"@airline help {i}"), customer=CustomerFactory(), department=dept,
                   priority=Priority.NORMAL, intent=Intent.QUESTION, now=now, assign_to_lead=to_lead)
        for i in range(n)
    ]
    with transaction.atomic():
        attach_mentions(items)
    return [item.case for item in items]


def _set(slug, strategy):
    Department.objects.filter(slug=slug).update(assignment=strategy)


@pytest.mark.django_db
class TestRoundRobin:
    def test_in_turn_and_the_turn_survives_batches(self):
        a, b, c = _members()
        first = [case.assignee for case in _new_cases(4)]
        assert first == [a, b, c, a]
        assert [case.assignee for case in _new_cases(2)] == [b, c]
        assert Department.objects.get(slug="service").assignment_cursor == c.pk

    def test_away_agents_are_skipped_and_come_back(self):
        a, b, c = _members()
        set_away(user=b, away=True)
        assert [case.assignee for case in _new_cases(3)] == [a, c, a]
        set_away(user=b, away=False)
        assert [case.assignee for case in _new_cases(2)] == [b, c]

    def test_leads_heads_and_other_departments_get_no_turn(self):
        (agent,) = _members(n=1)
        _members(n=1, role=Role.LEAD, prefix="lead")
        _members(n=1, role=Role.HEAD, prefix="head")
        _members(slug="sales", n=1)
        assert {case.assignee for case in _new_cases(3)} == {agent}

    def test_nobody_available_leaves_the_case_unassigned(self):
        (a,) = _members(n=1)
        set_away(user=a, away=True)
        assert [case.assignee for case in _new_cases(2)] == [None, None]


@pytest.mark.django_db
def test_least_open_cases():
    _set("service", Assignment.LEAST_OPEN)
    a, b, c = _members()
    for _ in range(3):
        CaseFactory(assignee=a)
    CaseFactory(assignee=b)
    CaseFactory(assignee=c, status=CaseStatus.RESOLVED)  # closed work does not count
    CaseFactory(assignee=b, department=department("sales"))  # nor other departments'
    # open counts a=3, b=1, c=0: c, then c/b tie (1 each, lowest id first), ...
    assert [case.assignee for case in _new_cases(4)] == [c, b, c, b]


@pytest.mark.django_db
def test_strategy_none_leaves_new_cases_unassigned():
    _set("service", Assignment.NONE)
    _members()
    assert {case.assignee for case in _new_cases(2)} == {None}


@pytest.mark.django_db
def test_a_rule_can_assign_to_the_least_busy_lead():
    _members(n=2)
    lead1, lead2 = _members(n=2, role=Role.LEAD, prefix="lead")
    CaseFactory(assignee=lead1)
    assert [case.assignee for case in _new_cases(3, to_lead=True)] == [lead2, lead1, lead2]
    Membership.objects.filter(role=Role.LEAD).update(away=True)
    (head,) = _members(n=1, role=Role.HEAD, prefix="head")
    assert [case.assignee for case in _new_cases(1, to_lead=True)] == [head]  # no lead available: the head


@pytest.mark.django_db
def test_existing_cases_keep_their_assignee():
    a, b = _members(n=2)
    case = CaseFactory(assignee=b, status=CaseStatus.OPEN)
    item = Attachment(mention=MentionFactory(), customer=case.customer, department=case.department,
                      priority=Priority.NORMAL, intent=Intent.QUESTION, now=NOW)
    with transaction.atomic():
        attach_mentions([item])
    assert item.case.pk == case.pk and not item.created
    case.refresh_from_db()
    assert case.assignee == b
    assert Department.objects.get(slug="service").assignment_cursor == 0


@pytest.mark.django_db(transaction=True)
def test_round_robin_is_fair_under_two_concurrent_workers():
    a, b = _members(n=2)
    per_thread = 15
    def worker():
        for _ in range(per_thread):
            _new_cases(1)

    _, errors = run_at_once(worker, 2)
    assert not errors
    counts = {user: Case.objects.filter(assignee=user).count() for user in (a, b)}
    assert counts == {a: per_thread, b: per_thread}  # no turn handed out twice


# --- Away toggle and department settings pages ----------------------------------------------


@pytest.mark.django_db
def test_an_agent_marks_themselves_away_and_back(client, service_agent):
    client.force_login(service_agent)
    assert "Mark me away" in client.get(reverse("inbox")).content.decode()
    response = client.post(reverse("toggle-away"), {"next": "/inbox/"})
    assert response.status_code == 302 and response.url == "/inbox/"
    assert Membership.objects.get(user=service_agent).away
    assert "I'm back" in client.get(reverse("inbox")).content.decode()
    client.post(reverse("toggle-away"), {"next": "https://evil.example/"})
    assert not Membership.objects.get(user=service_agent).away


@pytest.mark.django_db
def test_a_head_sets_assignment_and_reopen_window(client, service_agent):
    head = MembershipFactory(user=UserFactory(username="head"), department=department("service"), role=Role.HEAD).user
    client.force_login(head)
    dept = department("service")
    response = client.post(reverse("rule-list"), {"department": dept.pk, f"dept{dept.pk}-assignment": "least_open",
                                                  f"dept{dept.pk}-reopen_window_days": "2"})
    assert response.status_code == 302
    dept.refresh_from_db()
    assert (dept.assignment, dept.reopen_window) == ("least_open", timedelta(days=2))
    # not the head of sales
    sales = department("sales")
    response = client.post(reverse("rule-list"), {"department": sales.pk, f"dept{sales.pk}-assignment": "none",
                                                  f"dept{sales.pk}-reopen_window_days": "1"})
    assert response.status_code == 403
    client.force_login(service_agent)
    assert client.post(reverse("rule-list"), {"department": dept.pk}).status_code == 403


# --- Reopen window per department -----------------------------------------------------------


@pytest.mark.django_db
class TestReopenWindow:
    def _resolved(self, slug, service_user):
        case = CaseFactory(department=department(slug), status=CaseStatus.OPEN, created_at=NOW)
        resolve(case=case, by=service_user, now=NOW)
        return case

    def _attach(self, case, now):
        item = Attachment(mention=MentionFactory(customer=case.customer), customer=case.customer,
                          department=Department.objects.get(pk=case.department_id), priority=Priority.NORMAL,
                          intent=Intent.COMPLAINT, now=now)
        with transaction.atomic():
            attach_mentions([item])
        return item

    def test_each_department_has_its_own_window(self, service_agent, sales_agent):
        Department.objects.filter(slug="service").update(reopen_window=timedelta(days=2))
        service_case = self._resolved("service", service_agent)
        sales_case = self._resolved("sales", sales_agent)
        three_days = NOW + timedelta(days=3)
        service_item = self._attach(service_case, three_days)
        sales_item = self._attach(sales_case, three_days)
        assert service_item.created and service_item.case.pk != service_case.pk  # past service's 2 days
        assert not sales_item.created and sales_item.case.pk == sales_case.pk  # within the 7-day default
        sales_case.refresh_from_db()
        assert sales_case.status == CaseStatus.OPEN

    def test_default_is_seven_days(self, service_agent):
        assert department("service").reopen_window == timedelta(days=7)
        case = self._resolved("service", service_agent)
        assert self._attach(case, NOW + timedelta(days=7, minutes=1)).created

    def test_in_one_batch_each_post_uses_its_departments_window(self, service_agent, sales_agent):
        Department.objects.filter(slug="sales").update(reopen_window=timedelta(days=30))
        service_case = self._resolved("service", service_agent)
        sales_case = CaseFactory(customer=service_case.customer, department=department("sales"),
                                 status=CaseStatus.OPEN, created_at=NOW)
        resolve(case=sales_case, by=sales_agent, now=NOW)
        later = NOW + timedelta(days=10)
        items = [
            Attachment(mention=MentionFactory(customer=service_case.customer), customer=service_case.customer,
                       department=Department.objects.get(slug=slug), priority=Priority.NORMAL,
                       intent=Intent.COMPLAINT, now=later)
            for slug in ("service", "sales")
        ]
        with transaction.atomic():
            attach_mentions(items)
        assert items[0].created
        assert items[1].case.pk == sales_case.pk and not items[1].created
