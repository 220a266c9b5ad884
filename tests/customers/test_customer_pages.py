"""The customer list and the customer 360 page: who may see them, the profile, the timeline (written
by the feedback side), its filters, pages and speed."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from customers.matching import refresh_keys
from customers.models import LinkMethod, TimelineEntry, TimelineKind
from feedback.cases import services as case_services
from feedback.cases.journey import move_stage, resolve_case
from feedback.intake.ingest import store_mention
from feedback.pipeline import process_mention
from tests.factories import (
    BoardSeatFactory,
    CaseFactory,
    CustomerFactory,
    IdentityFactory,
    MembershipFactory,
    UserFactory,
    department,
)

pytestmark = pytest.mark.django_db
POSTED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def worked_with(customer, slug="service"):
    """A line on the customer's timeline in that department: its members may open the record."""
    TimelineEntry.objects.create(customer=customer, at=POSTED, kind=TimelineKind.NOTE, summary="worked",
                                 department=department(slug))
    return customer


@pytest.fixture
def member_client(client, service_agent):
    client.force_login(service_agent)
    return client


class TestAccess:
    def test_board_only_users_and_outsiders_get_403(self, client):
        customer = CustomerFactory()
        for user in (BoardSeatFactory().user, UserFactory()):
            client.force_login(user)
            assert client.get(reverse("customer-detail", args=[customer.pk])).status_code == 403
            assert client.get(reverse("customer-list")).status_code == 403

    def test_anonymous_users_go_to_the_login_page(self, client):
        assert client.get(reverse("customer-list")).status_code == 302

    def test_unknown_customer_is_404(self, member_client):
        assert member_client.get(reverse("customer-detail", args=[999_999])).status_code == 404


class TestProfile:
    def test_shows_crm_fields_and_identities_with_method_and_confidence(self, member_client):
        customer = CustomerFactory(name="Dana Kowalski", email="dana@example.com", stage="customer", value=1234,
                                   region="Leeds", owner_department=department("sales"),
                                   attributes={"tier": "gold"})
        worked_with(customer)
        IdentityFactory(customer=customer, channel="instagram", handle="dana_k", method=LinkMethod.EMAIL,
                        confidence=0.98)
        html = member_client.get(reverse("customer-detail", args=[customer.pk])).content.decode()
        for text in ("Dana Kowalski", "dana@example.com", "Sales", "Leeds", "tier", "gold", "@dana_k", "Email", "0.98"):
            assert text in html

    def test_a_merged_record_points_at_its_survivor(self, member_client):
        survivor = worked_with(CustomerFactory(name="Survivor"))
        merged = worked_with(CustomerFactory(name="Old", merged_into=survivor))
        html = member_client.get(reverse("customer-detail", args=[merged.pk])).content.decode()
        assert "was merged into" in html and reverse("customer-detail", args=[survivor.pk]) in html


class TestTimeline:
    def test_the_pipeline_and_case_services_write_it_newest_first(self, member_client, service_agent):
        mention, _ = store_mention(source="x", external_id="1", text="@airline my bag is lost again",
                                   posted_at=POSTED, author_handle="dana", enqueue=False)
        process_mention(mention_id=mention.pk)
        mention.refresh_from_db()
        case = mention.case
        case_services.add_note(case=case, by=service_agent, text="Called the airport")
        case_services.record_reply(case=case, by=service_agent, text="We are on it")
        entries = list(TimelineEntry.objects.filter(customer=mention.customer).order_by("-at", "-pk"))
        kinds = [entry.kind for entry in entries]
        assert set(kinds) >= {TimelineKind.MENTION, TimelineKind.CASE, TimelineKind.NOTE, TimelineKind.REPLY}
        mention_entry = next(entry for entry in entries if entry.kind == TimelineKind.MENTION)
        assert (mention_entry.ref_type, mention_entry.ref_id, mention_entry.case_id) == ("mention", mention.pk, case.pk)
        assert mention_entry.department_id == case.department_id
        response = member_client.get(reverse("customer-detail", args=[mention.customer.pk]))
        shown = list(response.context["entries"])
        assert [entry.pk for entry in shown] == [entry.pk for entry in entries]
        assert "Called the airport" in response.content.decode()

    def test_a_stage_change_is_one_entry_whatever_the_open_cases(self, sales_agent):
        customer = CustomerFactory(stage="prospect")
        for _ in range(3):
            CaseFactory(customer=customer, department=department("sales"))
        move_stage(customer=customer, to="lead", by=sales_agent, reason="Asked for a quote")
        assert TimelineEntry.objects.filter(customer=customer, kind=TimelineKind.STAGE).count() == 1

    def test_a_purchase_with_an_amount_adds_to_the_lifetime_value(self, sales_agent):
        customer = CustomerFactory(stage="lead", value=100)
        case = CaseFactory(customer=customer, department=department("sales"))
        resolve_case(case=case, by=sales_agent, outcome="purchase", amount=250)
        customer.refresh_from_db()
        assert customer.value == 350 and customer.stage == "customer"
        assert TimelineEntry.objects.filter(customer=customer, kind=TimelineKind.CRM,
                                            summary__contains="Purchase of 250").exists()

    def test_filters_by_kind_and_department(self, member_client):
        customer = CustomerFactory()
        sales, service = department("sales"), department("service")
        TimelineEntry.objects.bulk_create([
            TimelineEntry(customer=customer, at=POSTED + timedelta(minutes=i), kind=kind, summary=f"entry {i}",
                          department=dept)
            for i, (kind, dept) in enumerate([(TimelineKind.NOTE, sales), (TimelineKind.REPLY, sales),
                                              (TimelineKind.NOTE, service)])
        ])
        url = reverse("customer-detail", args=[customer.pk])
        notes = member_client.get(url, {"kind": "note"}).context["entries"]
        assert [entry.summary for entry in notes] == ["entry 2", "entry 0"]
        in_sales = member_client.get(url, {"department": sales.pk}).context["entries"]
        assert [entry.summary for entry in in_sales] == ["entry 1", "entry 0"]
        assert member_client.get(url, {"kind": "nonsense", "department": "x", "page": "²"}).status_code == 200

    def test_5000_events_page_fast_with_few_queries(self, member_client, django_assert_max_num_queries):
        customer = CustomerFactory()
        TimelineEntry.objects.bulk_create([
            TimelineEntry(customer=customer, at=POSTED + timedelta(minutes=i), kind=TimelineKind.MENTION,
                          summary=f"post {i}", text="words " * 20, department=department("service"), case_id=1)
            for i in range(5000)
        ])
        url = reverse("customer-detail", args=[customer.pk])
        member_client.get(url)  # warm the template cache
        timings = []
        for page in (1, 50, 100):
            with django_assert_max_num_queries(14):
                started = time.perf_counter()
                response = member_client.get(url, {"page": page})
                timings.append(time.perf_counter() - started)
            assert response.status_code == 200
        entries = list(response.context["entries"])
        assert [entry.summary for entry in entries][:2] == ["post 49", "post 48"]
        print(f"customer page with 5,000 events: {', '.join(f'{t * 1000:.0f} ms' for t in timings)}")
        assert max(timings) < 0.3


class TestVisibility:
    def test_another_departments_customer_is_out_of_sight(self, member_client, client):
        theirs = worked_with(CustomerFactory(name="Sales Only Person"), "sales")
        owned = CustomerFactory(name="Owned By Service", owner_department=department("service"))
        mine = worked_with(CustomerFactory(name="Service Person"))
        assert member_client.get(reverse("customer-detail", args=[theirs.pk])).status_code == 404
        assert member_client.get(reverse("customer-detail", args=[owned.pk])).status_code == 200
        assert set(member_client.get(reverse("customer-list")).context["customers"]) == {owned, mine}
        client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
        assert client.get(reverse("customer-detail", args=[theirs.pk])).status_code == 200


class TestList:
    def test_search_by_name_prefix_email_phone_handle_and_crm_id(self, member_client, settings):
        settings.BATON_PHONE_REGION = "US"
        dana = CustomerFactory(name="Dana Kowalski", email="dana@example.com", phone="+1 212 555 0172",
                               external_id="crm-77")
        other = CustomerFactory(name="Peter Jones")
        worked_with(dana), worked_with(other)
        refresh_keys(customer_ids=[dana.pk, other.pk])
        IdentityFactory(customer=dana, channel="x", handle="dk_flies")
        url = reverse("customer-list")
        for query in ("dana", "DANA KOW", "Dana@Example.com", "(212) 555-0172", "@DK_flies", "crm-77"):
            customers = list(member_client.get(url, {"q": query}).context["customers"])
            assert customers == [dana], query
        assert set(member_client.get(url).context["customers"]) == {dana, other}

    def test_case_page_links_to_the_customer(self, client):
        case = CaseFactory()
        user = MembershipFactory(department=case.department).user
        client.force_login(user)
        html = client.get(reverse("case-detail", args=[case.pk])).content.decode()
        assert reverse("customer-detail", args=[case.customer.pk]) in html
