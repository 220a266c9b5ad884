"""Pages of the journey: incoming handoffs, feedback up, customer stage, problems, and who may act."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import Stage
from feedback.cases.journey import send_feedback
from feedback.cases.models import CaseEvent, FeedbackNote, Handoff, Problem
from feedback.cases.problems import link_case
from feedback.cases.services import hand_off
from feedback.choices import CaseStatus, ClockMetric, EventKind, HandoffStatus, Intent, ProblemStatus
from feedback.sla import clocks as sla
from feedback.sla.models import SlaClock
from tests.factories import CaseFactory, CustomerFactory, MembershipFactory, MentionFactory, UserFactory, department

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def service(client, service_agent):
    client.force_login(service_agent)
    return client


@pytest.fixture
def sales(sales_agent):
    return _client(sales_agent)


@pytest.fixture
def marketing(db):
    user = MembershipFactory(user=UserFactory(username="marketing-agent"), department=department("marketing")).user
    return _client(user)


def _case(slug="service", **kwargs):
    now = timezone.now()
    case = CaseFactory(department=department(slug), created_at=now - timedelta(minutes=30), intent=Intent.COMPLAINT,
                       subject=kwargs.pop("subject", "Bag lost in Frankfurt"), **kwargs)
    MentionFactory(case=case, customer=case.customer, text="@airline lost my bag in Frankfurt")
    sla.start_clocks(case=case, now=case.created_at)
    return case


@pytest.fixture
def handed_off(service_agent):
    case = _case()
    handoff = hand_off(case=case, to_department=department("sales"), note="Wants a business upgrade.",
                       by=service_agent)
    return case, handoff


def _detail(case):
    return reverse("case-detail", args=[case.pk])


def _action(case, action):
    return reverse("case-action", args=[case.pk, action])


class TestLoginRequired:
    @pytest.mark.parametrize("name", ["incoming", "feedback-list", "problems"])
    def test_pages_redirect_to_login(self, client, name):
        assert client.get(reverse(name))["Location"].startswith(reverse("login"))

    @pytest.mark.parametrize("name", ["incoming", "feedback-list", "problems"])
    def test_a_user_without_department_is_refused(self, client, name):
        client.force_login(UserFactory())
        assert client.get(reverse(name)).status_code == 403


class TestIncoming:
    def test_the_receiving_department_sees_it_incoming_not_in_the_inbox(self, sales, handed_off):
        case, handoff = handed_off
        other = _case(subject="Refund please")
        hand_off(case=other, to_department=department("after-sales"), note="Refund", by=None)
        response = sales.get(reverse("incoming"))
        assert response.status_code == 200
        assert [handoff for handoff, _ in response.context["handoffs"]] == [handoff]
        html = response.content.decode()
        assert "Wants a business upgrade." in html
        assert reverse("handoff-accept", args=[handoff.pk]) in html
        assert "Refund please" not in html
        inbox = sales.get(reverse("inbox"))
        assert case not in inbox.context["cases"]
        assert inbox.context["journey_counts"] == {"incoming": 1, "feedback": 0}
        assert "Incoming handoffs: 1" in inbox.content.decode()

    def test_the_sender_sees_it_as_sent_awaiting_acceptance(self, service, handed_off):
        _, handoff = handed_off
        response = service.get(reverse("incoming"))
        assert response.context["handoffs"] == []
        assert response.context["sent"] == [handoff]
        assert 'id="sent-rows"' in response.content.decode()

    def test_the_receiver_sees_the_note_and_timeline_and_the_decision_forms_only(self, sales, handed_off):
        case, handoff = handed_off
        response = sales.get(_detail(case))
        assert response.status_code == 200
        html = response.content.decode()
        assert "accept it or send it back" in html
        assert reverse("handoff-accept", args=[handoff.pk]) in html
        assert reverse("handoff-return", args=[handoff.pk]) in html
        assert 'class="event event-handoff"' in html
        assert not response.context["can_act"]
        assert 'id="reply"' not in html and 'id="feedback"' not in html

    def test_accept(self, sales, handed_off, sales_agent):
        case, handoff = handed_off
        response = sales.post(reverse("handoff-accept", args=[handoff.pk]))
        assert response["Location"] == _detail(case)
        handoff.refresh_from_db()
        assert (handoff.status, handoff.decided_by) == (HandoffStatus.ACCEPTED, sales_agent)
        assert handoff.created_at < handoff.decided_at <= timezone.now()
        assert SlaClock.objects.get(case=case, metric=ClockMetric.HANDOFF_ACCEPTANCE).stopped_at == handoff.decided_at
        page = sales.get(_detail(case))
        assert page.context["can_act"]
        assert "Handoff accepted" in page.content.decode()
        assert case in sales.get(reverse("inbox")).context["cases"]
        again = sales.post(reverse("handoff-accept", args=[handoff.pk]))
        assert again["Location"] == reverse("incoming")

    def test_return_needs_a_reason(self, sales, handed_off):
        case, handoff = handed_off
        response = sales.post(reverse("handoff-return", args=[handoff.pk]), {"reason": ""})
        assert response.status_code == 400
        assert "reason" in response.context["return_form"].errors
        assert "The handoff was not sent back." in response.content.decode()
        handoff.refresh_from_db()
        assert handoff.status == HandoffStatus.PENDING

    def test_return(self, sales, service, handed_off):
        case, handoff = handed_off
        response = sales.post(reverse("handoff-return", args=[handoff.pk]), {"reason": "A refund, not a sale."})
        assert response["Location"] == reverse("incoming")
        case.refresh_from_db()
        assert case.department.slug == "service"
        assert CaseEvent.objects.filter(case=case).last().data["reason"] == "A refund, not a sale."
        assert sales.get(_detail(case)).status_code == 404
        page = service.get(_detail(case))
        assert page.context["can_act"]
        assert "A refund, not a sale." in page.content.decode()

    def test_the_sender_may_not_decide_403_and_others_get_404(self, service, marketing, handed_off):
        _, handoff = handed_off
        for name in ("handoff-accept", "handoff-return"):
            url = reverse(name, args=[handoff.pk])
            assert service.post(url, {"reason": "Mine again"}).status_code == 403
            assert marketing.post(url, {"reason": "Whatever"}).status_code == 404
        handoff.refresh_from_db()
        assert handoff.status == HandoffStatus.PENDING

    def test_a_case_waiting_for_acceptance_refuses_work_from_its_page(self, sales, handed_off):
        case, _ = handed_off
        response = sales.post(_action(case, "note"), {"text": "Called the customer"})
        assert response.status_code == 400
        assert "waits for Sales to accept the handoff" in response.content.decode()
        assert not CaseEvent.objects.filter(case=case, kind=EventKind.NOTE).exists()

    def test_another_department_cannot_see_the_case(self, marketing, handed_off):
        case, _ = handed_off
        assert marketing.get(_detail(case)).status_code == 404


class TestFeedbackUp:
    def test_send_from_the_case_page_and_acknowledge_from_the_list(self, service, sales, sales_agent):
        case = _case()
        response = service.post(_action(case, "feedback"), {
            "to_department": department("sales").pk, "text": "The promise in this sale was wrong.",
        })
        assert response["Location"] == _detail(case)
        note = FeedbackNote.objects.get()
        assert (note.from_department.slug, note.to_department.slug) == ("service", "sales")
        case.refresh_from_db()
        assert case.department.slug == "service"

        listing = sales.get(reverse("feedback-list"))
        assert listing.context["waiting"] == [note]
        assert "The promise in this sale was wrong." in listing.content.decode()
        assert sales.get(reverse("inbox")).context["journey_counts"]["feedback"] == 1
        # The target department may read the case, not work it.
        page = sales.get(_detail(case))
        assert page.status_code == 200 and not page.context["can_act"]
        assert sales.post(_action(case, "note"), {"text": "x"}).status_code == 404

        response = sales.post(reverse("feedback-acknowledge", args=[note.pk]))
        assert response["Location"] == reverse("feedback-list")
        note.refresh_from_db()
        assert note.acknowledged_by == sales_agent
        assert "Feedback acknowledged" in service.get(_detail(case)).content.decode()

    def test_feedback_without_text_is_400(self, service):
        case = _case()
        response = service.post(_action(case, "feedback"), {"to_department": department("sales").pk, "text": ""})
        assert response.status_code == 400
        assert "The feedback was not sent." in response.content.decode()
        assert not FeedbackNote.objects.exists()

    def test_only_the_target_acknowledges_403_others_404(self, service, marketing, service_agent):
        note = send_feedback(case=_case(), to_department=department("sales"), text="Wrong promise", by=service_agent)
        url = reverse("feedback-acknowledge", args=[note.pk])
        assert service.post(url).status_code == 403
        assert marketing.post(url).status_code == 404
        note.refresh_from_db()
        assert note.acknowledged_at is None


class TestStageAndPurchase:
    def test_stage_form_on_the_case_page(self, service):
        customer = CustomerFactory(stage=Stage.PROSPECT)
        case = _case(customer=customer)
        page = service.get(_detail(case)).content.decode()
        assert 'id="stage"' in page and "Prospect" in page
        response = service.post(_action(case, "stage"), {"to": Stage.LEAD, "reason": "Asked for a quote"})
        assert response.status_code == 302
        customer.refresh_from_db()
        assert customer.stage == Stage.LEAD
        assert "Customer stage" in service.get(_detail(case)).content.decode()

    def test_an_illegal_stage_is_400(self, service):
        customer = CustomerFactory(stage=Stage.CUSTOMER)
        case = _case(customer=customer)
        response = service.post(_action(case, "stage"), {"to": Stage.PROSPECT, "reason": "Oops"})
        assert response.status_code == 400
        customer.refresh_from_db()
        assert customer.stage == Stage.CUSTOMER

    def test_a_sales_case_resolves_with_a_purchase(self, sales):
        customer = CustomerFactory(stage=Stage.LEAD)
        case = _case("sales", customer=customer)
        assert "outcome" in sales.get(_detail(case)).context["resolve_form"].fields
        response = sales.post(_action(case, "resolve"), {"note": "Upgrade sold", "outcome": "purchase"})
        assert response.status_code == 302
        customer.refresh_from_db()
        case.refresh_from_db()
        assert (customer.stage, case.status) == (Stage.CUSTOMER, CaseStatus.RESOLVED)

    def test_other_cases_have_no_outcome(self, service):
        customer = CustomerFactory(stage=Stage.LEAD)
        case = _case(customer=customer)
        assert "outcome" not in service.get(_detail(case)).context["resolve_form"].fields
        response = service.post(_action(case, "resolve"), {"note": "done", "outcome": "purchase"})
        assert response.status_code == 302  # the field is not offered, so it is ignored
        customer.refresh_from_db()
        assert customer.stage == Stage.LEAD


class TestProblems:
    def test_link_a_new_problem_then_an_existing_one(self, service, sales):
        case = _case()
        response = service.post(_action(case, "problem"), {"title": "Belt 4 broken", "description": "Frankfurt"})
        assert response.status_code == 302
        problem = Problem.objects.get()
        assert problem.owner_department.slug == "service"
        other = _case("sales", subject="Bag lost too")
        page = sales.get(_detail(other))
        assert problem in page.context["problem_form"].fields["problem"].queryset
        assert sales.post(_action(other, "problem"), {"problem": problem.pk}).status_code == 302
        other.refresh_from_db()
        assert other.problem == problem
        assert f"#{problem.pk} Belt 4 broken" in sales.get(_detail(other)).content.decode()

    def test_link_without_a_choice_is_400(self, service):
        case = _case()
        response = service.post(_action(case, "problem"), {"problem": "", "title": ""})
        assert response.status_code == 400
        assert "The case was not linked to a problem." in response.content.decode()

    def test_list_and_detail(self, service, sales, service_agent):
        problem = Problem.objects.create(title="Belt 4 broken", owner_department=department("service"))
        mine, theirs = _case(), _case("sales", subject="Secret sales case")
        for case in (mine, theirs):
            link_case(case=case, by=None, problem=problem)
        Problem.objects.create(title="Overbooking", owner_department=department("sales"))
        listing = service.get(reverse("problems"), {"department": department("service").pk})
        [row] = listing.context["problems"]
        assert (row, row.open_cases, row.total_cases) == (problem, 2, 2)
        assert len(service.get(reverse("problems")).context["problems"]) == 2
        assert len(service.get(reverse("problems"), {"status": "resolved"}).context["problems"]) == 0
        detail = service.get(reverse("problem-detail", args=[problem.pk]))
        html = detail.content.decode()
        assert detail.status_code == 200
        assert _detail(mine) in html and _detail(theirs) not in html  # only cases the user may open
        assert "Secret sales case" not in html
        assert 'id="resolve-problem"' in html
        assert 'id="resolve-problem"' not in sales.get(reverse("problem-detail", args=[problem.pk])).content.decode()
        assert service.get(reverse("problem-detail", args=[999999])).status_code == 404

    def test_resolve_from_the_detail_page(self, service, sales):
        problem = Problem.objects.create(title="Belt 4 broken", owner_department=department("service"))
        case = _case()
        link_case(case=case, by=None, problem=problem)
        url = reverse("problem-resolve", args=[problem.pk])
        assert sales.post(url, {"note": "Fixed", "resolve_cases": "on"}).status_code == 403
        assert sales.post(url, {}).status_code == 403  # refused before its form is read, not a 400
        assert service.post(url, {"note": ""}).status_code == 400
        response = service.post(url, {"note": "Belt replaced", "resolve_cases": "on"})
        assert response["Location"] == reverse("problem-detail", args=[problem.pk])
        problem.refresh_from_db()
        case.refresh_from_db()
        assert (problem.status, case.status) == (ProblemStatus.RESOLVED, CaseStatus.RESOLVED)
        assert "Problem resolved" in service.get(_detail(case)).content.decode()


def test_handoff_from_the_page_starts_the_acceptance_clock(service, handed_off):
    case, _ = handed_off
    assert Handoff.objects.filter(case=case, status=HandoffStatus.PENDING).exists()
    assert SlaClock.objects.filter(case=case, metric=ClockMetric.HANDOFF_ACCEPTANCE, stopped_at__isnull=True).exists()
