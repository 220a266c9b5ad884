"""The identity-resolution cascade (customers/matching.py): each step, its method and confidence,
the thresholds, suggestions, and the cost per batch."""

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from customers.matching import (
    Author,
    Outcome,
    emails_in,
    name_keys,
    name_similarity,
    normalize_name,
    phones_in,
    refresh_keys,
    resolve_authors,
)
from customers.models import Customer, Identity, LinkMethod, MatchKey, MatchSuggestion, Stage, SuggestionStatus
from customers.suggestions import pending_for, reject
from tests.factories import CustomerFactory, IdentityFactory, UserFactory


def crm_customer(**fields) -> Customer:
    customer = CustomerFactory(**fields)
    refresh_keys(customer_ids=[customer.pk])
    return customer


def resolve_one(author: Author):
    return resolve_authors(authors=[author])[(author.channel, author.handle.strip().lstrip("@").lower())]


class TestNormalising:
    def test_names_lose_accents_punctuation_and_honorifics(self):
        assert normalize_name("Dr. Zoë O'Neil-Smith") == "zoe o neil smith"

    def test_emails_in_text_are_normalised_and_deduplicated(self):
        assert emails_in("Write to Dana.K@Example.COM or dana.k@example.com. Not @airline.") == {"dana.k@example.com"}

    def test_a_national_phone_number_becomes_e164(self, settings):
        settings.BATON_PHONE_REGION = "US"
        assert phones_in("call me on (212) 555-0172 please") == {"+12125550172"}
        assert phones_in("flight 1234 was late") == set()

    def test_name_similarity_ignores_order_and_survives_a_typo(self):
        assert name_similarity("Kowalski Dana", "Dana Kowalski") == 1.0
        assert name_similarity("Dana Kowalsky", "Dana Kowalski") > 0.9
        assert name_similarity("Dana Kowalski", "Peter Jones") < 0.5


# Any single edit (substitution, deletion, insertion, transposition) in either token of a name
# whose tokens have at least five letters leaves at least one blocking key in common.
_token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=5, max_size=12)


def _edit(word: str, operation: str, position: int, letter: str) -> str:
    position %= len(word)
    if operation == "substitute":
        return word[:position] + letter + word[position + 1:]
    if operation == "delete":
        return word[:position] + word[position + 1:]
    if operation == "insert":
        return word[:position] + letter + word[position:]
    position = min(position, len(word) - 2)
    return word[:position] + word[position + 1] + word[position] + word[position + 2:]


@settings(max_examples=300, deadline=None)
@given(first=_token, last=_token, which=st.sampled_from([0, 1]),
       operation=st.sampled_from(["substitute", "delete", "insert", "transpose"]),
       position=st.integers(min_value=0, max_value=20), letter=st.sampled_from("abcdefghijklmnopqrstuvwxyz"))
def test_one_typo_keeps_a_blocking_key(first, last, which, operation, position, letter):
    tokens = [first, last]
    tokens[which] = _edit(tokens[which], operation, position, letter)
    stored = name_keys(f"{first} {last}")
    assert stored & name_keys(" ".join(tokens))
    assert stored & name_keys(f"{last} {first}")  # swapped order


@pytest.mark.django_db
class TestCascade:
    def test_exact_handle_first(self):
        identity = IdentityFactory(channel="x", handle="dana_k", method=LinkMethod.EMAIL, confidence=0.98)
        resolution = resolve_one(Author(channel="x", handle="@Dana_K", name="Someone"))
        assert resolution.outcome == Outcome.LINKED
        assert resolution.customer == identity.customer
        assert (resolution.method, resolution.confidence) == (LinkMethod.EMAIL, 0.98)

    def test_email_in_the_profile_links_automatically(self):
        customer = crm_customer(name="Dana Kowalski", email="dana.k@example.com")
        resolution = resolve_one(Author(channel="instagram", handle="dk_travels", name="D",
                                        profile={"email": "Dana.K@EXAMPLE.com"}))
        assert resolution.outcome == Outcome.AUTO and resolution.customer == customer
        identity = Identity.objects.get(channel="instagram", handle="dk_travels")
        assert (identity.customer, identity.method, identity.confidence) == (customer, LinkMethod.EMAIL, 0.98)
        assert Customer.objects.count() == 1  # no prospect was made

    def test_email_in_the_post_links_automatically(self):
        customer = crm_customer(name="Dana Kowalski", email="dana.k@example.com")
        resolution = resolve_one(Author(channel="x", handle="newdana", text="No refund yet, mail me at dana.k@example.com"))
        assert resolution.customer == customer and resolution.method == LinkMethod.EMAIL

    def test_phone_in_the_post_links_automatically(self, settings):
        settings.BATON_PHONE_REGION = "US"
        customer = crm_customer(name="Ray Osei", phone="+1 212 555 0172")
        resolution = resolve_one(Author(channel="facebook", handle="ray.o", text="call me back on (212) 555-0172"))
        assert resolution.customer == customer
        assert (resolution.method, resolution.confidence) == (LinkMethod.PHONE, 0.95)

    def test_an_email_two_customers_share_is_only_a_suggestion(self):
        first = crm_customer(name="Ann Lee", email="family@example.com")
        second = crm_customer(name="Bo Lee", attributes={"emails": ["family@example.com"]})
        resolution = resolve_one(Author(channel="x", handle="lees", profile={"email": "family@example.com"}))
        assert resolution.outcome == Outcome.SUGGESTED
        assert {cid for cid, _ in resolution.candidates} == {first.pk, second.pk}
        assert resolution.customer.stage == Stage.PROSPECT

    def test_same_handle_and_name_on_another_channel(self):
        identity = IdentityFactory(channel="x", handle="dana_k", display_name="Dana Kowalski",
                                   customer=CustomerFactory(name="Dana Kowalski"))
        resolution = resolve_one(Author(channel="instagram", handle="dana_k", name="DANA KOWALSKI"))
        assert resolution.customer == identity.customer
        assert (resolution.method, resolution.confidence) == (LinkMethod.CROSS_CHANNEL, 0.92)

    def test_same_handle_with_another_name_is_another_person(self):
        identity = IdentityFactory(channel="x", handle="dana_k", display_name="Dana Kowalski")
        resolution = resolve_one(Author(channel="instagram", handle="dana_k", name="Dan Keller"))
        assert resolution.customer != identity.customer
        assert resolution.outcome == Outcome.PROSPECT

    def test_a_fuzzy_name_in_the_same_region_is_a_suggestion_not_a_link(self):
        customer = crm_customer(name="Margaret Okonkwo", region="Lagos")
        resolution = resolve_one(Author(channel="x", handle="maggie_new", name="Margaret Okonkow",
                                        profile={"location": "Lagos, Nigeria"}))
        assert resolution.outcome == Outcome.SUGGESTED
        assert resolution.customer.stage == Stage.PROSPECT and resolution.customer != customer
        suggestion = MatchSuggestion.objects.get()
        assert (suggestion.prospect, suggestion.candidate, suggestion.method) == (
            resolution.customer, customer, LinkMethod.FUZZY_NAME)
        assert 0.6 <= suggestion.confidence < 0.9

    def test_another_region_lowers_the_confidence(self):
        customer = crm_customer(name="Margaret Okonkwo", region="Lagos")
        same, other, unknown = (
            Author(channel="x", handle="m1", name="Margaret Okonkwo", profile={"location": "Lagos"}),
            Author(channel="x", handle="m2", name="Margaret Okonkwo", profile={"location": "Oslo"}),
            Author(channel="x", handle="m3", name="Margaret Okonkwo"),
        )
        resolved = resolve_authors(authors=[same, other, unknown])
        confidence = {handle: dict(resolved[("x", handle)].candidates)[customer.pk] for handle in ("m1", "m2", "m3")}
        assert confidence["m1"] > confidence["m3"] > confidence["m2"] >= 0.6

    def test_a_shared_name_suggests_both_with_less_confidence(self):
        one = crm_customer(name="John Smith", region="Leeds")
        two = crm_customer(name="John Smith", region="Leeds")
        alone = crm_customer(name="Priya Raman", region="Leeds")
        shared = resolve_one(Author(channel="x", handle="js", name="John Smith", profile={"location": "Leeds"}))
        unique = resolve_one(Author(channel="x", handle="pr", name="Priya Raman", profile={"location": "Leeds"}))
        assert {cid for cid, _ in shared.candidates} == {one.pk, two.pk}
        assert unique.candidates[0][0] == alone.pk
        assert max(c for _, c in shared.candidates) < unique.candidates[0][1]

    def test_a_stranger_becomes_a_prospect_without_suggestions(self):
        crm_customer(name="Dana Kowalski")
        resolution = resolve_one(Author(channel="x", handle="zz", name="Olufemi Brandt",
                                        text="write to olu@example.org", profile={"location": "Oslo"}))
        assert resolution.outcome == Outcome.PROSPECT and resolution.candidates == []
        prospect = resolution.customer
        assert (prospect.name, prospect.region, prospect.email) == ("Olufemi Brandt", "Oslo", "olu@example.org")
        # Its contact is a key now: the next post with that address from another handle finds it.
        again = resolve_one(Author(channel="facebook", handle="olu.b", profile={"email": "olu@example.org"}))
        assert again.customer == prospect and again.method == LinkMethod.EMAIL

    def test_merged_and_erased_records_are_never_candidates(self):
        gone = crm_customer(name="Dana Kowalski", email="dana@example.com")
        Customer.objects.filter(pk=gone.pk).update(erased_at="2026-01-01T00:00:00Z")
        resolution = resolve_one(Author(channel="x", handle="d", profile={"email": "dana@example.com"}))
        assert resolution.customer != gone and resolution.outcome == Outcome.PROSPECT

    def test_the_thresholds_are_settings(self, settings):
        settings.BATON_MATCH_AUTO = 0.8
        customer = crm_customer(name="Margaret Okonkwo", region="Lagos")
        resolution = resolve_one(Author(channel="x", handle="mo", name="Margaret Okonkwo", profile={"location": "Lagos"}))
        assert resolution.outcome == Outcome.AUTO and resolution.customer == customer
        assert Identity.objects.get(handle="mo").method == LinkMethod.FUZZY_NAME


@pytest.mark.django_db
class TestSuggestions:
    def test_a_rejected_pair_is_not_suggested_again(self):
        customer = crm_customer(name="Margaret Okonkwo", region="Lagos")
        author = Author(channel="x", handle="maggie", name="Margaret Okonkwo", profile={"location": "Lagos"})
        prospect = resolve_one(author).customer
        suggestion = MatchSuggestion.objects.get(prospect=prospect, candidate=customer)
        reject(suggestion_id=suggestion.pk, by=UserFactory())
        assert pending_for(customer_id=prospect.pk) == []
        again = resolve_one(author)
        assert again.outcome == Outcome.LINKED and again.customer == prospect
        assert MatchSuggestion.objects.get().status == SuggestionStatus.REJECTED
        # Even resolving the same pair from scratch keeps the rejection (the pair is unique).
        Identity.objects.filter(handle="maggie").delete()
        resolve_one(author)
        assert MatchSuggestion.objects.count() == 1 and MatchSuggestion.objects.get().status == SuggestionStatus.REJECTED


@pytest.mark.django_db
def test_the_cost_of_a_batch_does_not_grow_with_its_size():
    def tag(i):  # names lose their digits when normalised: tell them apart with letters
        return "abcdefghijklmnopqrstuvwxyz"[i // 26] + "abcdefghijklmnopqrstuvwxyz"[i % 26]

    for i in range(30):
        crm_customer(name=f"Person{tag(i)} Surname{tag(i)}", email=f"p{i}@example.com", region="Leeds")
    IdentityFactory(channel="x", handle="known")

    def batch(n, offset):
        return [Author(channel="x", handle=f"h{offset + i}", name=f"Person{tag(i)} Surnam{tag(i)}",
                       text=f"mail p{i}@example.com" if i % 3 == 0 else "", profile={"location": "Leeds"})
                for i in range(n)] + [Author(channel="x", handle="known")]

    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        resolve_authors(authors=batch(3, 0))
    with CaptureQueriesContext(connection) as large:
        resolve_authors(authors=batch(30, 100))
    # identities + their customers, contact keys + customers, other channels, name keys + customers,
    # prospects (insert, ids), their keys, identities, suggestions, read back (identities, customers)
    assert len(large.captured_queries) == len(small.captured_queries) <= 14


@pytest.mark.django_db
def test_the_key_lookup_uses_the_index():
    for i in range(200):
        MatchKey.objects.create(customer=CustomerFactory(), key=f"name:k{i}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_matchkey")
        cursor.execute("SET LOCAL enable_seqscan = off")  # small table: ask whether an index can serve it
        cursor.execute("EXPLAIN SELECT customer_id FROM customers_matchkey WHERE key IN ('name:k1', 'name:k2')")
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "matchkey_unique_key_customer" in plan


@pytest.mark.django_db
def test_refresh_keys_follows_the_fields():
    customer = crm_customer(name="Dana Kowalski", email="old@example.com")
    assert MatchKey.objects.filter(customer=customer, key="email:old@example.com").exists()
    Customer.objects.filter(pk=customer.pk).update(email="new@example.com")
    IdentityFactory(customer=customer, display_name="Dee Kay")
    refresh_keys(customer_ids=[customer.pk])
    keys = set(MatchKey.objects.filter(customer=customer).values_list("key", flat=True))
    assert "email:new@example.com" in keys and "email:old@example.com" not in keys
    assert name_keys("Dee Kay") <= keys and name_keys("Dana Kowalski") <= keys
