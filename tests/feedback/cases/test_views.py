"""Pages: inbox, case detail and its actions, board, and the admin."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from feedback.cases.models import Case, CaseEvent, Handoff
from feedback.choices import CaseStatus, ClockMetric, EventKind, HandoffStatus, Intent
from feedback.sla import clocks as sla
from feedback.sla.models import SlaClock
from tests.factories import (
    BoardSeatFactory,
    CaseFactory,
    CustomerFactory,
    IdentityFactory,
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


@pytest.fixture
def sales_client(client, sales_agent):
    client.force_login(sales_agent)
    return client


@pytest.fixture
def service_case():
    now = timezone.now()
    case = CaseFactory(subject="Bag lost in Frankfurt", created_at=now - timedelta(minutes=30), intent=Intent.COMPLAINT)
    MentionFactory(case=case, customer=case.customer, text="@airline lost my bag in Frankfurt, still waiting")
    sla.start_clocks(case=case, now=case.created_at)
    return case


def _action(case, action):
    return reverse("case-action", args=[case.pk, action])



class TestLoginRequired:
    @pytest.mark.parametrize("name", ["home", "inbox", "board"])
    def test_pages_redirect_to_login(self, client, name):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next={reverse(name)}"

    def test_case_page_and_actions_redirect_to_login(self, client, service_case):
        page = reverse("case-detail", args=[service_case.pk])
        assert client.get(page)["Location"] == f"{reverse('login')}?next={page}"
        response = client.post(_action(service_case, "reply"), {"text": "hi"})
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
        assert not CaseEvent.objects.filter(case=service_case, kind=EventKind.REPLY).exists()

    def test_login_page_renders(self, client):
        response = client.get(reverse("login"))
        assert response.status_code == 200
        assert b"Log in to Baton" in response.content


class TestHome:
    def test_a_member_goes_to_the_inbox(self, service_client):
        assert service_client.get(reverse("home"))["Location"] == reverse("inbox")

    def test_a_board_member_goes_to_the_board(self, client):
        client.force_login(BoardSeatFactory().user)
        assert client.get(reverse("home"))["Location"] == reverse("board")

    def test_nobody_yet_is_told_to_ask_for_a_department(self, client):
        client.force_login(UserFactory())
        response = client.get(reverse("home"))
        assert response.status_code == 403
        assert b"No department yet" in response.content


class TestInbox:
    def test_lists_only_my_departments_open_cases(self, service_client, service_case):
        CaseFactory(department=department("sales"), subject="Wants a business upgrade")
        CaseFactory(status=CaseStatus.CLOSED, subject="An old closed case")
        response = service_client.get(reverse("inbox"))
        assert response.status_code == 200
        assert list(response.context["cases"]) == [service_case]
        html = response.content.decode()
        assert "Bag lost in Frankfurt" in html
        assert reverse("case-detail", args=[service_case.pk]) in html
        assert "Wants a business upgrade" not in html
        assert "An old closed case" not in html

    def test_htmx_request_gets_only_the_rows(self, service_client, service_case):
        response = service_client.get(reverse("inbox"), HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        html = response.content.decode()
        assert "Bag lost in Frankfurt" in html
        assert "<html" not in html

    def test_no_n_plus_one_with_30_cases(self, service_client, django_assert_max_num_queries):
        now = timezone.now()
        for i in range(30):
            case = CaseFactory(customer=CustomerFactory(), created_at=now - timedelta(minutes=i), subject=f"Case {i}",
                               assignee=UserFactory())
            SlaClockFactory(case=case, metric=ClockMetric.FIRST_REPLY)
            SlaClockFactory(case=case, metric=ClockMetric.RESOLUTION, due_at=case.created_at + timedelta(days=3))
        # session, user, the context processors' three, department ids, the filters' members and promises,
        # the count, the page's ids, its rows, their clocks, the journey counts, the saved views
        with django_assert_max_num_queries(16):
            response = service_client.get(reverse("inbox"))
        assert response.status_code == 200
        assert len(response.context["cases"]) == 30
        html = response.content.decode()
        for case in Case.objects.all():
            assert reverse("case-detail", args=[case.pk]) in html


class TestCasePage:
    def test_shows_the_case_and_its_timeline(self, service_client, service_case):
        response = service_client.get(reverse("case-detail", args=[service_case.pk]))
        assert response.status_code == 200
        html = response.content.decode()
        assert f"Case #{service_case.pk}" in html
        assert "lost my bag in Frankfurt" in html
        assert {clock.metric for clock in response.context["clocks"]} == {ClockMetric.FIRST_REPLY, ClockMetric.RESOLUTION}
        assert [event.kind for event in response.context["events"]] == []

    def test_another_department_gets_404(self, sales_client, service_case):
        assert sales_client.get(reverse("case-detail", args=[service_case.pk])).status_code == 404

    @pytest.mark.parametrize(
        ("action", "data"),
        [
            ("reply", {"text": "Hi"}),
            ("note", {"text": "Hi"}),
            ("handoff", {"to_department": "", "note": "Mine now"}),
            ("resolve", {"note": "done"}),
        ],
    )
    def test_another_department_gets_404_for_every_action(self, sales_client, service_case, action, data):
        if action == "handoff":
            data["to_department"] = department("sales").pk
        response = sales_client.post(_action(service_case, action), data)
        assert response.status_code == 404
        service_case.refresh_from_db()
        assert (service_case.status, service_case.department.slug) == (CaseStatus.NEW, "service")
        assert not CaseEvent.objects.filter(case=service_case).exists()

    def test_actions_only_accept_post(self, service_client, service_case):
        assert service_client.get(_action(service_case, "reply")).status_code == 405


class TestCaseActions:
    def test_reply(self, service_client, service_case, service_agent, task_queue, django_capture_on_commit_callbacks):
        """The reply goes out through the replies room (feedback.replies): queued, sent by the task (the
        outbox connector: no account connected), then on the timeline with the clock stopped."""
        with django_capture_on_commit_callbacks(execute=True):
            response = service_client.post(_action(service_case, "reply"), {
                "text": "So sorry, Dana: tracing it now.", "kind": "public",
                "considerations": ["transparency", "sourcing", "timeliness", "tone", "influence"]})
        assert response.status_code == 302
        assert response["Location"] == reverse("case-detail", args=[service_case.pk])
        assert "Reply queued" in service_client.get(response["Location"]).content.decode()
        task_queue.run()
        service_case.refresh_from_db()
        assert service_case.status == CaseStatus.OPEN
        reply = CaseEvent.objects.get(case=service_case, kind=EventKind.REPLY)
        assert (reply.actor, reply.data["text"], reply.data["connector"]) == (
            service_agent, "So sorry, Dana: tracing it now.", "outbox")
        assert service_case.created_at < reply.created_at <= timezone.now()
        assert service_case.first_replied_at == reply.created_at
        assert SlaClock.objects.get(case=service_case, metric=ClockMetric.FIRST_REPLY).stopped_at == reply.created_at
        assert SlaClock.objects.get(case=service_case, metric=ClockMetric.RESOLUTION).stopped_at is None
        page = service_client.get(response["Location"]).content.decode()
        assert "So sorry, Dana: tracing it now." in page
        assert "in the outbox (no connected account)" in page

    def test_empty_reply_is_400_with_the_form_error(self, service_client, service_case):
        response = service_client.post(_action(service_case, "reply"), {"text": ""})
        assert response.status_code == 400
        assert "Write the reply the customer will see." in response.content.decode()
        assert not CaseEvent.objects.filter(case=service_case).exists()

    def test_note(self, service_client, service_case):
        response = service_client.post(_action(service_case, "note"), {"text": "Frequent flyer, gold tier."})
        assert response.status_code == 302
        assert CaseEvent.objects.get(case=service_case, kind=EventKind.NOTE).data == {"text": "Frequent flyer, gold tier."}

    def test_handoff(self, service_client, service_case, sales_agent, client):
        response = service_client.post(
            _action(service_case, "handoff"),
            {"to_department": department("after-sales").pk, "note": "Asks for compensation for the delay."},
        )
        assert response.status_code == 302
        assert response["Location"] == reverse("inbox")
        service_case.refresh_from_db()
        assert service_case.department.slug == "after-sales"
        event = CaseEvent.objects.get(case=service_case, kind=EventKind.HANDOFF)
        handoff = Handoff.objects.get(case=service_case)
        assert (handoff.status, handoff.from_department.slug) == (HandoffStatus.PENDING, "service")
        assert event.data == {
            "from": "service", "to": "after-sales", "from_name": "Customer service", "to_name": "After-sales",
            "note": "Asks for compensation for the delay.", "handoff_id": handoff.pk,
        }
        # Gone from the sender's inbox; its page is read-only for the sender until after-sales decides.
        assert service_case not in service_client.get(reverse("inbox")).context["cases"]
        page = service_client.get(reverse("case-detail", args=[service_case.pk]))
        assert page.status_code == 200
        assert "Sent to After-sales, awaiting acceptance" in page.content.decode()
        assert 'id="reply"' not in page.content.decode()
        response = service_client.post(_action(service_case, "note"), {"text": "One more thing"})
        assert response.status_code == 404

    def test_handoff_without_a_note_is_400_with_the_form_error(self, service_client, service_case):
        response = service_client.post(
            _action(service_case, "handoff"), {"to_department": department("sales").pk, "note": ""}
        )
        assert response.status_code == 400
        form = response.context["handoff_form"]
        message = "Write a note for the receiving team: what happened and what they should do next."
        assert form.errors == {"note": [message]}
        assert message in response.content.decode()
        service_case.refresh_from_db()
        assert service_case.department.slug == "service"
        assert not CaseEvent.objects.filter(case=service_case).exists()

    def test_handoff_to_the_own_department_is_not_offered(self, service_client, service_case):
        response = service_client.post(
            _action(service_case, "handoff"), {"to_department": department("service").pk, "note": "To us"}
        )
        assert response.status_code == 400
        assert "to_department" in response.context["handoff_form"].errors
        assert not CaseEvent.objects.filter(case=service_case).exists()

    def test_resolve(self, service_client, service_case):
        response = service_client.post(_action(service_case, "resolve"), {"note": "Bag delivered to the hotel."})
        assert response.status_code == 302
        service_case.refresh_from_db()
        assert service_case.status == CaseStatus.RESOLVED
        moved = CaseEvent.objects.get(case=service_case, kind=EventKind.STATUS)
        assert moved.data == {"from": CaseStatus.NEW, "to": CaseStatus.RESOLVED, "reason": "Bag delivered to the hotel."}
        assert service_case.resolved_at == moved.created_at
        assert set(SlaClock.objects.filter(case=service_case).values_list("stopped_at", flat=True)) == {
            service_case.resolved_at
        }
        assert service_case not in service_client.get(reverse("inbox")).context["cases"]

    def test_a_refused_transition_is_400_with_the_message(self, service_client, service_case, service_agent):
        Case.objects.filter(pk=service_case.pk).update(status=CaseStatus.RESOLVED)
        response = service_client.post(_action(service_case, "resolve"), {"note": "again"})
        assert response.status_code == 400
        assert "A resolved case cannot become resolved." in response.content.decode()
        service_case.refresh_from_db()
        assert service_case.status == CaseStatus.RESOLVED

    def test_a_reply_to_a_closed_case_is_400_with_the_message(self, service_client, service_case):
        Case.objects.filter(pk=service_case.pk).update(status=CaseStatus.CLOSED)
        response = service_client.post(_action(service_case, "reply"), {
            "text": "Hello again", "kind": "public",
            "considerations": ["transparency", "sourcing", "timeliness", "tone", "influence"]})
        assert response.status_code == 400
        assert "This case is closed; open a new case to write to the customer." in response.content.decode()
        assert not CaseEvent.objects.filter(case=service_case, kind=EventKind.REPLY).exists()

    def test_unknown_action_is_not_found(self, service_client, service_case):
        assert service_client.post(_action(service_case, "delete"), {}).status_code == 404


class TestAdmin:
    @pytest.fixture
    def some_of_everything(self, service_agent):
        BoardSeatFactory()
        case = CaseFactory(assignee=service_agent, subject="Wheelchair damaged in Lisbon",
                           customer=CustomerFactory(name="Ines Carvalho"))
        IdentityFactory(customer=case.customer, handle="ines_travels")
        MentionFactory(case=case, customer=case.customer, text="@airline my wheelchair came back broken")
        clock = SlaClockFactory(case=case, due_at=case.created_at + timedelta(hours=1),
                                warn_at=case.created_at + timedelta(minutes=45))
        sla.escalate_due(now=clock.due_at)
        CaseEvent.objects.create(case=case, kind=EventKind.NOTE, actor=service_agent, data={"text": "x"},
                                 created_at=case.created_at)
        return case

    def test_every_changelist_lists_every_row(self, admin_client, some_of_everything):
        models = list(admin.site._registry)
        assert len(models) >= 11
        counts = {}
        for model in models:
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
            response = admin_client.get(url)
            assert response.status_code == 200, url
            counts[model._meta.label] = count = model._default_manager.count()
            assert response.context["cl"].result_count == count, url
            name = model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural
            assert f"{count} {name}" in response.content.decode(), url
        # The fixture's rows are among them (departments, rules and policies come from the data migrations).
        assert {label: counts[label] for label in (
            "feedback.Case", "feedback.Mention", "feedback.SlaClock", "feedback.Escalation", "customers.Customer",
            "customers.Identity", "teams.BoardSeat", "teams.Department",
        )} == {
            "feedback.Case": 1, "feedback.Mention": 1, "feedback.SlaClock": 1, "feedback.Escalation": 1,
            "customers.Customer": 1, "customers.Identity": 1, "teams.BoardSeat": 1, "teams.Department": 7,
        }

    def test_case_change_page_with_its_inlines(self, admin_client, some_of_everything):
        response = admin_client.get(reverse("admin:feedback_case_change", args=[some_of_everything.pk]))
        assert response.status_code == 200
        assert [form.instance.metric for form in response.context["inline_admin_formsets"][0].formset.forms] == [
            ClockMetric.FIRST_REPLY
        ]

    def test_searches_find_the_matching_rows(self, admin_client, some_of_everything):
        case = some_of_everything
        mention, identity = case.mentions.get(), case.customer.identities.get()
        searches = [
            ("feedback_case", "WHEELCHAIR", [case.pk]),  # subject
            ("feedback_case", "carvalho", [case.pk]),  # customer name
            ("feedback_mention", "came back broken", [mention.pk]),
            ("customers_customer", "Ines", [case.customer.pk]),
            ("customers_customer", "ines_travels", [case.customer.pk]),  # one of the customer's handles
            ("customers_identity", "ines_travels", [identity.pk]),
            ("customers_identity", "Carvalho", [identity.pk]),  # the customer's name
        ]
        for name, term, expected in searches:
            response = admin_client.get(reverse(f"admin:{name}_changelist"), {"q": term})
            assert response.status_code == 200, name
            assert [row.pk for row in response.context["cl"].result_list] == expected, (name, term)
            nothing = admin_client.get(reverse(f"admin:{name}_changelist"), {"q": "zeppelin"})
            assert nothing.context["cl"].result_count == 0, name
