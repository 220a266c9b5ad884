"""Linking a post's author to a CRM record (customers/services.py: link_author)."""


import pytest

from customers.models import Customer, Identity, LinkMethod, Stage
from customers.services import link_author, normalize_handle
from tests.concurrency import run_at_once
from tests.factories import CustomerFactory, IdentityFactory


@pytest.mark.django_db
class TestExactHandleMatch:
    def test_known_handle_returns_its_customer(self):
        identity = IdentityFactory(channel="x", handle="dana_k", customer=CustomerFactory(name="Dana K"))
        assert link_author(channel="x", handle="dana_k") == identity.customer
        assert Customer.objects.count() == 1

    @pytest.mark.parametrize("written", ["@Dana_K", "DANA_K", "  @dana_k  ", "@@dana_k"])
    def test_match_ignores_case_leading_at_and_whitespace(self, written):
        identity = IdentityFactory(channel="x", handle="dana_k")
        assert link_author(channel="x", handle=written) == identity.customer
        assert Identity.objects.count() == 1

    def test_same_handle_on_another_channel_is_another_person(self):
        on_x = IdentityFactory(channel="x", handle="dana_k")
        on_instagram = link_author(channel="instagram", handle="dana_k")
        assert on_instagram != on_x.customer
        assert set(Identity.objects.values_list("channel", "handle")) == {("x", "dana_k"), ("instagram", "dana_k")}


@pytest.mark.django_db
class TestUnknownAuthor:
    def test_becomes_a_prospect_with_an_identity(self):
        customer = link_author(channel="x", handle="@NewFlyer", name="New Flyer")
        assert customer.stage == Stage.PROSPECT
        assert customer.name == "New Flyer"
        assert customer.external_id == "baton:x:newflyer"
        identity = customer.identities.get()
        assert (identity.channel, identity.handle, identity.method, identity.confidence) == (
            "x", "newflyer", LinkMethod.HANDLE, 1.0,
        )

    def test_without_a_name_the_handle_is_the_name(self):
        assert link_author(channel="x", handle="@quietone").name == "@quietone"

    def test_same_handle_twice_is_one_customer(self):
        first = link_author(channel="x", handle="@NewFlyer", name="New Flyer")
        second = link_author(channel="x", handle="newflyer")
        assert first == second
        assert Customer.objects.count() == 1
        assert Identity.objects.count() == 1

    @pytest.mark.parametrize("handle", ["", "   ", "@", " @ "])
    def test_empty_handle_links_nobody(self, handle):
        assert link_author(channel="x", handle=handle) is None
        assert not Customer.objects.exists()
        assert not Identity.objects.exists()


def test_normalize_handle():
    assert normalize_handle("  @Dana_K ") == "dana_k"


@pytest.mark.django_db(transaction=True)
def test_two_workers_linking_the_same_new_handle_get_one_customer():
    workers = 6
    results, errors = run_at_once(
        lambda: link_author(channel="x", handle="@RaceCondition", name="Racer").pk, workers
    )

    assert errors == []
    assert len(results) == workers
    assert len(set(results)) == 1
    assert Customer.objects.count() == 1
    assert Identity.objects.filter(channel="x", handle="racecondition").count() == 1


def test_a_mixed_case_handle_cannot_be_stored(db):
    from django.db import IntegrityError, transaction

    from customers.models import Identity
    from tests.factories import CustomerFactory

    with pytest.raises(IntegrityError), transaction.atomic():
        Identity.objects.create(channel="x", handle="MixedCase", customer=CustomerFactory())


def test_admin_form_lowers_the_handle(db):
    from customers.admin import IdentityForm
    from tests.factories import CustomerFactory

    form = IdentityForm(data={"channel": "x", "handle": " @Dana_Flies ", "customer": CustomerFactory().pk,
                              "method": "manual", "confidence": 1.0})
    assert form.is_valid(), form.errors
    assert form.save().handle == "dana_flies"
