"""Merging customer records (customers.merge + feedback.linking.services) and confirming or rejecting
the matcher's suggestions, from the services and the pages."""

import threading
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from config.errors import NotAllowed, TransitionError
from customers.matching import Author, refresh_keys, resolve_authors
from customers.models import (
    AuditEntry,
    Customer,
    Identity,
    LinkMethod,
    MatchKey,
    MatchSuggestion,
    SuggestionStatus,
    TimelineEntry,
    TimelineKind,
)
from feedback.cases.models import Case
from feedback.intake.models import Mention
from feedback.linking.services import confirm_suggestion, merge_customers, reject_suggestion
from teams.models import Role
from tests.concurrency import run_at_once
from tests.factories import (
    CaseFactory,
    CustomerFactory,
    IdentityFactory,
    MembershipFactory,
    MentionFactory,
    UserFactory,
    department,
)

pytestmark = pytest.mark.django_db
AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _lead():
    return MembershipFactory(role=Role.LEAD, department=department("service")).user


def test_merge_moves_everything_and_keeps_the_other_record_as_a_pointer():
    survivor = CustomerFactory(name="Dana Kowalski", email="", stage="lead", value=100)
    merged = CustomerFactory(name="Dana K", email="dana@example.com", phone="+12125550172", stage="customer",
                             value=50, region="Leeds")
    IdentityFactory(customer=merged, channel="instagram", handle="dana_k")
    mention = MentionFactory(customer=merged)
    case = CaseFactory(customer=merged)
    TimelineEntry.objects.create(customer=merged, at=AT, kind=TimelineKind.NOTE, summary="old note")
    refresh_keys(customer_ids=[merged.pk])
    lead = _lead()

    result = merge_customers(survivor=survivor, merged=merged, by=lead)

    merged.refresh_from_db()
    assert result.pk == survivor.pk and merged.merged_into_id == survivor.pk and merged.merged_at is not None
    survivor.refresh_from_db()
    assert (survivor.email, survivor.region, survivor.stage, survivor.value) == ("dana@example.com", "Leeds",
                                                                                 "customer", 150)
    assert Identity.objects.get(handle="dana_k").customer_id == survivor.pk
    assert Mention.objects.get(pk=mention.pk).customer_id == survivor.pk
    assert Case.objects.get(pk=case.pk).customer_id == survivor.pk
    assert set(TimelineEntry.objects.filter(customer=survivor).values_list("kind", flat=True)) == {
        TimelineKind.NOTE, TimelineKind.MERGE}
    assert not MatchKey.objects.filter(customer=merged).exists()
    assert MatchKey.objects.filter(customer=survivor, key="email:dana@example.com").exists()
    audit = AuditEntry.objects.get(action="merge")
    assert audit.details["merged"] == merged.pk and audit.actor == lead


def test_merge_refuses_itself_a_merged_record_and_agents():
    one, two = CustomerFactory(), CustomerFactory()
    with pytest.raises(TransitionError):
        merge_customers(survivor=one, merged=one, by=None)
    with pytest.raises(NotAllowed):
        merge_customers(survivor=one, merged=two, by=MembershipFactory(role=Role.AGENT).user)
    merge_customers(survivor=one, merged=two, by=None)
    with pytest.raises(TransitionError):
        merge_customers(survivor=CustomerFactory(), merged=two, by=None)


def test_merging_into_a_record_flattens_earlier_merges():
    first, second, third = CustomerFactory(), CustomerFactory(), CustomerFactory()
    merge_customers(survivor=second, merged=first)
    merge_customers(survivor=third, merged=second)
    assert Customer.objects.get(pk=first.pk).merged_into_id == third.pk


def _suggested():
    customer = CustomerFactory(name="Margaret Okonkwo", region="Lagos")
    refresh_keys(customer_ids=[customer.pk])
    author = Author(channel="x", handle="maggie", name="Margaret Okonkow", profile={"location": "Lagos"})
    prospect = resolve_authors(authors=[author])[("x", "maggie")].customer
    case = CaseFactory(customer=prospect)
    MentionFactory(customer=prospect, case=case, author_handle="maggie")
    return customer, prospect, case, MatchSuggestion.objects.get(prospect=prospect, candidate=customer)


def test_confirming_a_suggestion_merges_the_prospect_into_the_customer(service_agent):
    customer, prospect, case, suggestion = _suggested()
    confirm_suggestion(suggestion_id=suggestion.pk, by=service_agent)
    assert Case.objects.get(pk=case.pk).customer_id == customer.pk
    assert Customer.objects.get(pk=prospect.pk).merged_into_id == customer.pk
    identity = Identity.objects.get(channel="x", handle="maggie")
    assert (identity.customer_id, identity.method, identity.confidence) == (customer.pk, LinkMethod.MANUAL, 1.0)
    assert MatchSuggestion.objects.get(pk=suggestion.pk).status == SuggestionStatus.CONFIRMED
    # The next post of that handle goes straight to the customer.
    assert resolve_authors(authors=[Author(channel="x", handle="maggie")])[("x", "maggie")].customer == customer


def test_only_a_department_holding_a_case_decides(sales_agent):
    _, _, _, suggestion = _suggested()
    with pytest.raises(NotAllowed):
        reject_suggestion(suggestion_id=suggestion.pk, by=sales_agent)
    assert MatchSuggestion.objects.get(pk=suggestion.pk).status == SuggestionStatus.PENDING


def test_the_case_page_shows_the_suggestion_and_its_buttons_work(client, service_agent):
    customer, prospect, case, suggestion = _suggested()
    client.force_login(service_agent)
    page = reverse("case-detail", args=[case.pk])
    html = client.get(page).content.decode()
    assert "Possibly an existing customer" in html and "Margaret Okonkwo" in html
    confirm = reverse("suggestion-decide", args=[suggestion.pk, "reject"])
    assert confirm in html
    response = client.post(confirm, {"next": page})
    assert response.status_code == 302 and response["Location"] == page
    assert MatchSuggestion.objects.get(pk=suggestion.pk).status == SuggestionStatus.REJECTED
    assert "Possibly an existing customer" not in client.get(page).content.decode()
    # A decided suggestion cannot be decided again; an outsider gets 403.
    client.post(reverse("suggestion-decide", args=[suggestion.pk, "confirm"]), {"next": page})
    assert Customer.objects.get(pk=prospect.pk).merged_into_id is None
    client.force_login(UserFactory())
    assert client.post(reverse("suggestion-decide", args=[suggestion.pk, "confirm"])).status_code in (302, 403)


def test_the_merge_form_on_the_customer_page(client):
    survivor, other = CustomerFactory(), CustomerFactory()
    for customer in (survivor, other):  # records the service department has worked with
        TimelineEntry.objects.create(customer=customer, at=AT, kind=TimelineKind.NOTE, summary="worked",
                                     department=department("service"))
    client.force_login(_lead())
    url = reverse("customer-merge", args=[survivor.pk])
    assert client.post(url, {"other": "abc"}).status_code == 302
    assert Customer.objects.get(pk=other.pk).merged_into_id is None
    assert client.post(url, {"other": other.pk}).status_code == 302
    assert Customer.objects.get(pk=other.pk).merged_into_id == survivor.pk


@pytest.mark.django_db(transaction=True)
def test_two_opposite_merges_at_once_one_wins_without_deadlock():
    one, two = CustomerFactory(), CustomerFactory()
    MentionFactory(customer=one)
    MentionFactory(customer=two)
    pairs = iter([(one, two), (two, one)])
    lock = threading.Lock()

    def merge():
        with lock:
            survivor, merged = next(pairs)
        return merge_customers(survivor=survivor, merged=merged).pk

    results, errors = run_at_once(merge, 2)
    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], TransitionError)  # "already merged", never a deadlock
    winner = results[0]
    assert set(Mention.objects.values_list("customer_id", flat=True)) == {winner}
    assert Customer.objects.filter(merged_into_id=winner).count() == 1
