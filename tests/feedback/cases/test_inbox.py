"""The department inbox: tabs, filters, search, sort, paging, bulk actions, saved views."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Stage
from feedback.cases import journey
from feedback.cases import services as case_services
from feedback.cases.models import Case, CaseEvent, SavedView
from feedback.choices import CaseStatus, ClockMetric, EventKind, Intent, Priority
from feedback.sla import clocks as sla
from feedback.understanding.models import Promise
from teams.models import Role
from tests.factories import (
    BoardSeatFactory,
    CaseFactory,
    CustomerFactory,
    MembershipFactory,
    MentionFactory,
    SlaClockFactory,
    UserFactory,
    department,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def service_client(client, service_agent):
    client.force_login(service_agent)
    return client


def _case(*, due_in: timedelta | None, now=None, **fields) -> Case:
    """An open service case whose nearest running clock is due `due_in` from now (None: no clock)."""
    now = now or timezone.now()
    fields.setdefault("status", CaseStatus.OPEN)
    case = CaseFactory(created_at=fields.pop("created_at", now - timedelta(hours=1)), **fields)
    if due_in is not None:
        SlaClockFactory(case=case, metric=ClockMetric.FIRST_REPLY, due_at=now + due_in,
                        started_at=min(now, now + due_in) - timedelta(hours=2),
                        warn_at=now + due_in - timedelta(hours=1))
        sla.refresh_next_due(case_ids=[case.pk])
    return case


def _ids(response) -> list[int]:
    return [case.pk for case in response.context["cases"]]


class TestOrderAndTabs:
    def test_most_urgent_clock_first(self, service_client):
        later = _case(due_in=timedelta(hours=5))
        overdue_long = _case(due_in=timedelta(hours=-3))
        soon = _case(due_in=timedelta(minutes=20))
        overdue = _case(due_in=timedelta(minutes=-10))
        no_clock = _case(due_in=None)
        response = service_client.get(reverse("inbox"))
        assert response.status_code == 200
        assert _ids(response) == [overdue_long.pk, overdue.pk, soon.pk, later.pk, no_clock.pk]

    def test_other_sorts(self, service_client):
        now = timezone.now()
        old = _case(due_in=timedelta(hours=5), created_at=now - timedelta(days=2), priority=Priority.LOW)
        new = _case(due_in=timedelta(hours=1), created_at=now - timedelta(minutes=5), priority=Priority.URGENT)
        mid = _case(due_in=timedelta(hours=2), created_at=now - timedelta(hours=5), priority=Priority.HIGH)
        assert _ids(service_client.get(reverse("inbox"), {"sort": "oldest"})) == [old.pk, mid.pk, new.pk]
        assert _ids(service_client.get(reverse("inbox"), {"sort": "newest"})) == [new.pk, mid.pk, old.pk]
        assert _ids(service_client.get(reverse("inbox"), {"sort": "priority"})) == [new.pk, mid.pk, old.pk]
        # A sort that does not exist is the default order, not an error.
        assert _ids(service_client.get(reverse("inbox"), {"sort": "'; drop"})) == [new.pk, mid.pk, old.pk]

    def test_tabs(self, service_client, service_agent, sales_agent):
        mine = _case(due_in=timedelta(hours=1), assignee=service_agent)
        unassigned = _case(due_in=timedelta(hours=2))
        breached = _case(due_in=timedelta(minutes=-5), assignee=UserFactory())
        pending = _case(due_in=None, status=CaseStatus.PENDING, assignee=UserFactory())
        # A handoff from sales to service waits in service's incoming tab, not in its inbox.
        sales_case = _case(due_in=timedelta(hours=3), department=department("sales"))
        case_services.hand_off(case=sales_case, to_department=department("service"), note="Bag issue.", by=sales_agent)
        # Sales sends service feedback about a sales case: in service's feedback tab.
        fed_back = _case(due_in=timedelta(hours=3), department=department("sales"))
        journey.send_feedback(case=fed_back, to_department=department("service"), text="Wrong promise.",
                              by=sales_agent)

        def tab(name):
            return set(_ids(service_client.get(reverse("inbox"), {"tab": name})))

        assert tab("all") == {mine.pk, unassigned.pk, breached.pk, pending.pk}
        assert tab("mine") == {mine.pk}
        assert tab("unassigned") == {unassigned.pk}
        assert tab("breached") == {breached.pk}
        assert tab("pending") == {pending.pk}
        assert tab("incoming") == {sales_case.pk}
        assert tab("feedback") == {fed_back.pk}
        assert tab("nonsense") == tab("all")


class TestFiltersAndSearch:
    def test_filters(self, service_client, service_agent):
        promise = Promise.objects.create(name="On time", slug="on-time-test")
        complaint = _case(due_in=timedelta(hours=1), intent=Intent.COMPLAINT, priority=Priority.HIGH,
                          customer=CustomerFactory(stage=Stage.CUSTOMER), tags=["vip"])
        MentionFactory(case=complaint, source="facebook", promise=promise)
        question = _case(due_in=timedelta(hours=2), intent=Intent.QUESTION, assignee=service_agent)
        MentionFactory(case=question, source="x")
        breached = _case(due_in=timedelta(minutes=-1), intent=Intent.QUESTION)

        def ids(**params):
            response = service_client.get(reverse("inbox"), params)
            assert response.status_code == 200
            return set(_ids(response))

        assert ids(intent="complaint") == {complaint.pk}
        assert ids(priority="high") == {complaint.pk}
        assert ids(stage="customer") == {complaint.pk}
        assert ids(tag="vip") == {complaint.pk}
        assert ids(source="facebook") == {complaint.pk}
        assert ids(promise=promise.pk) == {complaint.pk}
        assert ids(assignee="me") == {question.pk}
        assert ids(assignee=str(service_agent.pk)) == {question.pk}
        assert ids(assignee="none") == {complaint.pk, breached.pk}
        assert ids(sla="breached") == {breached.pk}
        assert ids(intent="question", sla="ok") == {question.pk}
        # Values that are not choices are ignored, never a 500.
        assert ids(intent="nope", priority="²", promise="abc", assignee="999999999999") == {
            complaint.pk, question.pk, breached.pk}

    def test_search_posts_and_customer_names_of_my_departments_only(self, service_client):
        bag = _case(due_in=timedelta(hours=1), customer=CustomerFactory(name="Dana Whitfield"))
        MentionFactory(case=bag, text="@airline my bags were delayed in Denver")
        other = _case(due_in=timedelta(hours=1), customer=CustomerFactory(name="Omar Haddad"))
        MentionFactory(case=other, text="@airline thanks for the upgrade")
        hidden = _case(due_in=timedelta(hours=1), department=department("sales"),
                       customer=CustomerFactory(name="Dana Sales"))
        MentionFactory(case=hidden, text="@airline my bags were delayed too")

        def search(text):
            return set(_ids(service_client.get(reverse("inbox"), {"q": text})))

        assert search("delayed") == {bag.pk}
        assert search("bag delay") == {bag.pk}  # word prefixes, stems on PostgreSQL
        assert search("whitf") == {bag.pk}  # customer name prefix
        assert search("Omar") == {other.pk}
        assert search("dana") == {bag.pk}  # the sales case is not mine
        assert search("nothing-matches-this") == set()
        assert search("&|!():*'") == {bag.pk, other.pk}  # no words: no search, no error


class TestPagingAndRendering:
    def test_pages_of_fifty(self, service_client):
        now = timezone.now()
        for i in range(55):
            _case(due_in=timedelta(minutes=i + 1), now=now)
        first = service_client.get(reverse("inbox"))
        second = service_client.get(reverse("inbox"), {"page": 2})
        assert len(first.context["cases"]) == 50 and len(second.context["cases"]) == 5
        assert not set(_ids(first)) & set(_ids(second))
        assert "Cases 51–55 of 55" in second.content.decode()
        assert len(service_client.get(reverse("inbox"), {"page": "x"}).context["cases"]) == 50

    def test_row_shows_name_first_line_badges_clock_and_level(self, service_client):
        case = _case(due_in=timedelta(minutes=-30), intent=Intent.COMPLAINT, escalation_level=2,
                     customer=CustomerFactory(name="Dana Whitfield"), subject="My bag never arrived")
        MentionFactory(case=case, sentiment_label="negative")
        html = service_client.get(reverse("inbox")).content.decode()
        row = re.search(rf'<tr [^>]*id="case-{case.pk}".*?</tr>', html, re.S).group(0)
        for text in ("Dana Whitfield", "My bag never arrived", "Complaint", "Negative", "overdue", "L2"):
            assert text in row

    def test_a_row_escapes_what_people_wrote_and_shortens_the_first_line(self, service_client):
        case = _case(due_in=timedelta(hours=2), customer=CustomerFactory(name='<script>alert("x")</script> Kim'),
                     subject="<b>bold</b> " + "word " * 30, created_at=timezone.now() - timedelta(hours=3, minutes=5))
        html = service_client.get(reverse("inbox")).content.decode()
        row = re.search(rf'<tr [^>]*id="case-{case.pk}".*?</tr>', html, re.S).group(0)
        assert "<script>" not in row and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Kim" in row
        subject = re.search(r'<span class="subject">(.*?)</span>', row).group(1)
        assert subject.startswith("&lt;b&gt;bold&lt;/b&gt; word") and subject.endswith("…")
        assert len(subject.replace("&lt;", "<").replace("&gt;", ">")) == 120
        assert f'href="/cases/{case.pk}/"' in row and f'href="/customers/{case.customer_id}/"' in row
        assert re.search(r'<td class="opened" title="[\d-]+ [\d:]+">3h 0[45]m ago</td>', row)

    def test_htmx_refresh_gets_rows_and_the_pager_only(self, service_client):
        _case(due_in=timedelta(hours=1), subject="Refresh me")
        response = service_client.get(reverse("inbox"), {"tab": "all", "page": 1}, HTTP_HX_REQUEST="true")
        html = response.content.decode()
        assert "Refresh me" in html and "<html" not in html
        assert 'id="inbox-pager" hx-swap-oob="true"' in html

    def test_a_fixed_number_of_queries(self, service_client, django_assert_max_num_queries):
        now = timezone.now()
        for i in range(60):
            case = _case(due_in=timedelta(minutes=i), now=now, assignee=UserFactory(), customer=CustomerFactory())
            MentionFactory(case=case)
        with django_assert_max_num_queries(25):
            response = service_client.get(reverse("inbox"), {"q": "flight", "intent": "complaint"})
        assert response.status_code == 200
        with django_assert_max_num_queries(25):
            response = service_client.get(reverse("inbox"))
        assert len(response.context["cases"]) == 50

    def test_not_for_people_without_a_department(self, client):
        client.force_login(BoardSeatFactory().user)
        assert client.get(reverse("inbox")).status_code == 403


class TestBulkPage:
    def test_take_ticked_cases(self, service_client, service_agent):
        cases = [_case(due_in=timedelta(hours=1)) for _ in range(2)]
        other = _case(due_in=timedelta(hours=1), department=department("sales"))
        response = service_client.post(reverse("inbox-bulk"), {
            "case": [str(c.pk) for c in cases] + [str(other.pk), "junk"], "action": "take",
            "next": "/inbox/?tab=mine"})
        assert response.status_code == 302 and response["Location"] == "/inbox/?tab=mine"
        assert set(Case.objects.filter(assignee=service_agent).values_list("pk", flat=True)) == {c.pk for c in cases}
        page = service_client.get(response["Location"]).content.decode()
        assert "Take: done for 2 case(s)." in page
        assert f"case #{other.pk} not changed" in page

    def test_set_pending_from_the_inbox_pauses_clocks(self, service_client):
        case = _case(due_in=timedelta(hours=1))
        service_client.post(reverse("inbox-bulk"), {"case": [case.pk], "action": "pending", "note": "Asked by DM."})
        case.refresh_from_db()
        assert case.status == CaseStatus.PENDING and case.next_due_at is None
        assert CaseEvent.objects.filter(case=case, kind=EventKind.STATUS, data__reason="Asked by DM.").exists()

    def test_an_offsite_next_is_not_followed(self, service_client):
        case = _case(due_in=timedelta(hours=1))
        response = service_client.post(reverse("inbox-bulk"), {"case": [case.pk], "action": "take",
                                                               "next": "https://evil.example/inbox/"})
        assert response["Location"] == reverse("inbox")

    def test_no_action_or_no_case_is_a_message(self, service_client):
        case = _case(due_in=timedelta(hours=1))
        response = service_client.post(reverse("inbox-bulk"), {"case": [case.pk]}, follow=True)
        assert "Choose a bulk action." in response.content.decode()
        response = service_client.post(reverse("inbox-bulk"), {"action": "take"}, follow=True)
        assert "Tick the cases first" in response.content.decode()


class TestAssignControl:
    """Only a lead or head assigns cases to others: agents do not see the control, and the server refuses it."""

    def test_an_agent_sees_no_assign_action_and_a_bulk_assign_is_refused(self, service_client, service_agent):
        colleague = MembershipFactory(user=UserFactory(first_name="Kim", last_name="Park"),
                                      department=department("service")).user
        case = _case(due_in=timedelta(hours=1))
        html = service_client.get(reverse("inbox")).content.decode()
        assert '<option value="take">Take</option>' in html
        assert '<option value="assign">' not in html and 'name="assignee" id="bulk_assignee"' not in html
        assert "data-may-assign" not in html
        assert "Take the case (or the ticked ones)" in html  # the shortcut help: an agent's "a" takes
        response = service_client.post(reverse("inbox-bulk"), {"case": [case.pk], "action": "assign",
                                                               "assignee": colleague.pk}, follow=True)
        assert "Only a lead or head assigns cases to others" in response.content.decode()
        case.refresh_from_db()
        assert case.assignee is None

    def test_a_lead_sees_and_uses_it(self, client):
        lead = MembershipFactory(department=department("service"), role=Role.LEAD).user
        colleague = MembershipFactory(user=UserFactory(first_name="Kim", last_name="Park"),
                                      department=department("service")).user
        case = _case(due_in=timedelta(hours=1))
        client.force_login(lead)
        html = client.get(reverse("inbox")).content.decode()
        assert '<option value="assign">Assign</option>' in html and 'data-may-assign="true"' in html
        assert f'<option value="{colleague.pk}">Kim Park</option>' in html
        client.post(reverse("inbox-bulk"), {"case": [case.pk], "action": "assign", "assignee": colleague.pk})
        case.refresh_from_db()
        assert case.assignee == colleague

    def test_a_lead_of_another_department_is_refused_per_case(self, client):
        """Leading sales does not make one a lead of service: the menu shows, each service case is refused."""
        user = MembershipFactory(department=department("sales"), role=Role.LEAD).user
        MembershipFactory(user=user, department=department("service"))
        colleague = MembershipFactory(department=department("service")).user
        case = _case(due_in=timedelta(hours=1))
        client.force_login(user)
        response = client.post(reverse("inbox-bulk"), {"case": [case.pk], "action": "assign",
                                                       "assignee": colleague.pk}, follow=True)
        assert f"case #{case.pk} not changed: Only a lead or head of Customer service" in response.content.decode()
        case.refresh_from_db()
        assert case.assignee is None


class TestSavedViews:
    def test_save_open_and_delete(self, service_client, service_agent):
        response = service_client.post(reverse("saved-view-create"), {
            "name": "My breached complaints", "query": "tab=breached&intent=complaint&page=3&evil=1"})
        view = SavedView.objects.get(user=service_agent)
        assert view.query == "tab=breached&intent=complaint"
        assert response["Location"] == f"{reverse('inbox')}?{view.query}"
        page = service_client.get(reverse("inbox")).content.decode()
        assert "My breached complaints" in page
        intruder = MembershipFactory(department=department("service")).user
        service_client.force_login(intruder)
        assert service_client.post(reverse("saved-view-delete", args=[view.pk])).status_code == 404
        service_client.force_login(service_agent)
        service_client.post(reverse("saved-view-delete", args=[view.pk]))
        assert not SavedView.objects.exists()


def test_the_count_stops_at_the_cap(service_client):
    from feedback.cases.models import Case as CaseModel
    from feedback.cases.selectors import CappedPaginator

    for _ in range(7):
        _case(due_in=timedelta(hours=1))
    ids = CaseModel.objects.order_by("id").values_list("pk", flat=True)
    capped = CappedPaginator(ids, 2, cap=5)
    assert (capped.count, capped.capped, capped.num_pages) == (5, True, 3)
    exact = CappedPaginator(ids, 2, cap=10)
    assert (exact.count, exact.capped) == (7, False)


def test_the_filter_form_shows_what_is_chosen(service_client):
    html = service_client.get(reverse("inbox"), {"intent": "complaint", "sort": "oldest", "q": "bag"}).content.decode()
    assert '<select name="intent" id="id_intent"><option value="">Any intent</option>' in html
    assert '<option value="complaint" selected>Complaint</option>' in html
    assert '<option value="oldest" selected>Oldest first</option>' in html
    assert 'value="bag"' in html
    for label in ("Intent", "Priority", "Promise", "Source", "SLA", "Assignee", "Tag", "Customer stage", "Sort"):
        assert f'<span class="label-text">{label}</span>' in html
    assert "[invalid name]" not in html
