"""customers.sync: the CRM's writes, including two writers at once."""

import json
from datetime import timedelta

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from customers import matching
from customers.models import Customer, MatchKey, TimelineEntry
from customers.sync import (
    PreconditionFailed,
    clean_fields,
    customer_data,
    etag,
    update_customer,
    upsert_customers,
)
from customers.webhooks.models import WebhookPayload
from customers.webhooks.services import create_subscription
from feedback.integrations import idempotency
from feedback.integrations.models import IdempotencyRecord
from feedback.integrations.services import issue_token
from tests.concurrency import run_at_once
from tests.factories import CustomerFactory


@pytest.mark.django_db
def test_unchanged_rows_keep_their_updated_at_and_changes_are_told_to_subscribers():
    create_subscription(name="CRM", url="https://crm.example/hooks", event_types=["customer.created", "customer.updated"])
    upsert_customers(rows=[{"external_id": "a", "name": "Ann"}, {"external_id": "b", "name": "Bo"}])
    before = dict(Customer.objects.values_list("external_id", "updated_at"))
    result = upsert_customers(rows=[{"external_id": "a", "name": "Ann"}, {"external_id": "b", "name": "Bob"}])
    assert [row.outcome for row in result.results] == ["unchanged", "updated"]
    after = dict(Customer.objects.values_list("external_id", "updated_at"))
    assert after["a"] == before["a"] and after["b"] > before["b"]
    events = [(body["type"], body["data"]["external_id"], body["data"]["name"])
              for body in map(json.loads, WebhookPayload.objects.order_by("id").values_list("body", flat=True))]
    assert events == [("customer.created", "a", "Ann"), ("customer.created", "b", "Bo"),
                      ("customer.updated", "b", "Bob")]


def _stored(customer: Customer) -> dict:
    return {field.attname: getattr(customer, field.attname) for field in Customer._meta.concrete_fields
            if not field.primary_key}


def _payloads(event_type: str) -> dict[str, dict]:
    bodies = map(json.loads, WebhookPayload.objects.filter(event_type=event_type).values_list("body", flat=True))
    return {body["data"]["external_id"]: body["data"] for body in bodies}


def _as_sent(customer: Customer) -> dict:
    return json.loads(json.dumps(customer_data(customer), cls=DjangoJSONEncoder))


@pytest.mark.django_db
def test_an_upsert_stores_what_the_orm_would_with_keys_timeline_and_webhooks():
    """Every column of a created row as `Customer(**cleaned)` has it (defaults included), the matcher's keys of
    every row written, a timeline line per updated row, and webhook bodies equal to `customer_data` of the stored
    row: the fast paths of the upsert must not change any of them."""
    create_subscription(name="CRM", url="https://crm.example/hooks",
                        event_types=["customer.created", "customer.updated"])
    first = timezone.now() - timedelta(hours=1)
    rows = [
        {"external_id": "full", "name": "  Dr. Zoë O'Neil ", "email": "Zoe.ONeil@Example.COM",
         "phone": "+44 20 7946 0958", "stage": "customer", "value": 1234.565, "region": "Lisbon"},
        {"external_id": "bare"},
        {"external_id": "one-word", "name": "Madonna", "value": "10"},
        {"external_id": "tab\tin", "name": "Tab\tSeparated Name", "value": 0, "phone": "not a number"},
        {"external_id": "bad", "email": "nope"},
        {"external_id": "quote\"s", "name": "Back\\slash \"Quoted\"", "email": "a+b@sub.example.org",
         "stage": "former", "value": "99999999.99"},
    ]
    result = upsert_customers(rows=rows, now=first).as_dict()
    assert [row["outcome"] for row in result["results"]] == ["created"] * 4 + ["error", "created"]
    ids = [row["id"] for row in result["results"] if row["outcome"] == "created"]
    assert ids == sorted(ids)
    stored = {customer.external_id: customer for customer in Customer.objects.all()}
    for row in rows:
        if row["external_id"] == "bad":
            assert row["external_id"] not in stored
            continue
        cleaned, errors = clean_fields(row, partial=False)
        assert not errors
        expected = Customer(**cleaned, created_at=first, updated_at=first)
        assert _stored(stored[cleaned["external_id"]]) == _stored(expected)
    keys = set(MatchKey.objects.values_list("customer_id", "key"))
    assert keys == {(customer.pk, key) for customer in stored.values() for key in matching._customer_keys(customer)}
    assert len(keys) > len(stored)
    assert _payloads("customer.created") == {external_id: _as_sent(row) for external_id, row in stored.items()}
    assert not TimelineEntry.objects.exists()  # a creation shows as "Since" on the profile, not as a line

    later = first + timedelta(minutes=5)
    rows = [
        {"external_id": "full", "name": "Zoe Neil", "region": "Porto"},  # a matched field and the region
        {"external_id": "bare", "stage": "lead", "value": "5.5"},
        {"external_id": "one-word", "name": "Madonna", "value": 10},  # as stored: unchanged
        {"external_id": "new", "name": "Nia Long", "email": "nia@example.com"},
    ]
    result = upsert_customers(rows=rows, now=later).as_dict()
    assert [row["outcome"] for row in result["results"]] == ["updated", "updated", "unchanged", "created"]
    stored = {customer.external_id: customer for customer in Customer.objects.all()}
    assert (stored["full"].name, stored["full"].region, stored["full"].updated_at) == ("Zoe Neil", "Porto", later)
    assert (stored["bare"].stage, str(stored["bare"].value)) == ("lead", "5.50")
    assert stored["one-word"].updated_at == first and stored["tab\tin"].updated_at == first
    keys = set(MatchKey.objects.values_list("customer_id", "key"))
    assert keys == {(customer.pk, key) for customer in stored.values() for key in matching._customer_keys(customer)}
    lines = {(entry.customer_id, entry.kind, entry.summary, entry.actor, entry.ref_type, entry.ref_id, entry.at)
             for entry in TimelineEntry.objects.all()}
    assert lines == {
        (stored["full"].pk, "crm", "CRM updated name, region", "CRM", "customer", stored["full"].pk, later),
        (stored["bare"].pk, "crm", "CRM updated stage, value", "CRM", "customer", stored["bare"].pk, later),
    }
    assert _payloads("customer.updated") == {name: _as_sent(stored[name]) for name in ("full", "bare")}
    assert _payloads("customer.created")["new"] == _as_sent(stored["new"])


@pytest.mark.django_db
def test_update_customer_checks_the_etag_under_the_row_lock():
    customer = CustomerFactory(name="Ann")
    tag = etag(customer)
    changed, did = update_customer(customer_id=customer.pk, changes={"name": "Anna"}, if_match=tag)
    assert did and changed.name == "Anna" and etag(changed) != tag
    with pytest.raises(PreconditionFailed):
        update_customer(customer_id=customer.pk, changes={"name": "Anne"}, if_match=tag)
    same, did = update_customer(customer_id=customer.pk, changes={"name": "Anna"}, if_match="*")
    assert not did and etag(same) == etag(changed)


@pytest.mark.django_db(transaction=True)
def test_two_writers_upserting_the_same_new_rows_at_once():
    rows = [{"external_id": f"race-{n}", "name": f"R{n}"} for n in range(50)]
    results, errors = run_at_once(lambda: upsert_customers(rows=rows), threads=2)
    assert not errors
    assert Customer.objects.filter(external_id__startswith="race-").count() == 50
    outcomes = sorted(result.count("created") for result in results)
    # One writer created each row; the other found it (unchanged) or, when it lost the race to insert, redid its
    # batch as updates of the same values (unchanged again).
    assert sum(outcomes) == 50 and all(result.count("error") == 0 for result in results)


@pytest.mark.django_db(transaction=True)
def test_two_requests_with_one_idempotency_key_run_once():
    token, _ = issue_token(name="CRM", scopes=["customers:write"])
    rows = [{"external_id": "once", "name": "Once"}]

    def request():
        with transaction.atomic():
            claim = idempotency.begin(token=token, key="k-1", fingerprint="f")
            if claim.replay:
                return "replayed", claim.record.response
            body = upsert_customers(rows=rows).as_dict()
            idempotency.finish(claim=claim, status_code=200, response=body)
            return "ran", body

    results, errors = run_at_once(request, threads=2)
    assert not errors
    assert sorted(kind for kind, _ in results) == ["ran", "replayed"]
    assert results[0][1] == results[1][1]
    assert IdempotencyRecord.objects.count() == 1 and Customer.objects.filter(external_id="once").count() == 1


@pytest.mark.django_db
def test_kept_answers_expire(settings):
    from datetime import timedelta

    from django.utils import timezone

    token, _ = issue_token(name="CRM", scopes=["customers:write"])
    with transaction.atomic():
        claim = idempotency.begin(token=token, key="old", fingerprint="f")
        idempotency.finish(claim=claim, status_code=200, response={"a": 1})
    assert idempotency.purge_expired() == 0
    later = timezone.now() + timedelta(hours=settings.BATON_API_IDEMPOTENCY_HOURS, minutes=1)
    assert idempotency.purge_expired(now=later) == 1
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize("address", [
    "ann@example.com", "Ann.Lee+crm@Mail.Example.CO.uk", "a_b-c@x-y.example.io", "a@b.co", "1@2.io",
    "ann@localhost", "ann@[127.0.0.1]", "ann@[::1]", "\"quoted name\"@example.com", "o'neil@example.com",
    "ann@exämple.com", "ann@xn--exmple-cua.com", "ann@example.c0m", "ann@example.c", "ann@-example.com",
    "ann@example-.com", "ann@example..com", "ann..lee@example.com", ".ann@example.com", "ann.@example.com",
    "ann@example.com.", "ann@@example.com", "ann@", "@example.com", "ann example@example.com", "ann@exa_mple.com",
    "ann@" + "a" * 63 + ".com", "ann@" + "a" * 64 + ".com", "ann@example." + "c" * 63, "ann@example." + "c" * 64,
    "ann@1.2.3.4", "ann@example.123",
])
def test_the_plain_address_shortcut_takes_exactly_what_djangos_validator_takes(address):
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    try:
        validate_email(address)
        valid = True
    except ValidationError:
        valid = False
    cleaned, errors = clean_fields({"external_id": "x", "email": address}, partial=False)
    assert ("email" not in errors) is valid
    if valid:
        assert cleaned["email"] == address.lower()


@pytest.mark.django_db
def test_copy_writes_timeline_lines_and_keys_as_the_orm_does(monkeypatch):
    """Timeline lines and match keys by COPY (from bulk.COPY_MIN_ROWS rows) and by the ORM, from the same
    values: the same rows (texts with tabs, new lines, backslashes and non-ASCII; NULLs; aware times)."""
    from customers import bulk, timeline

    people = CustomerFactory.create_batch(3)
    at = timezone.now()
    entries = [timeline.Entry(customer_id=people[n % 2].pk, at=at - timedelta(seconds=n), kind="crm",
                              summary=f"Line {n}\tÿ \\N", text="two\nlines\\ and \r" if n % 3 else "",
                              department_id=None, case_id=n if n % 2 else None, ref_type="customer",
                              ref_id=n * 10**12 if n % 4 else None, actor="Zoë" * n) for n in range(25)]
    fields = ["customer_id", "at", "kind", "summary", "text", "department_id", "case_id", "ref_type", "ref_id",
              "actor"]

    def written():
        rows = sorted(TimelineEntry.objects.values_list(*fields), key=lambda row: (row[1], row[0]))
        TimelineEntry.objects.all().delete()
        return rows

    assert timeline.record(entries=entries) == 25
    copied = written()
    monkeypatch.setattr(bulk, "COPY_MIN_ROWS", 10**6)
    timeline.record(entries=entries)
    assert copied == written() and len(copied) == 25

    monkeypatch.undo()
    records = [(person.pk, {"name": f"Ann-Marie Lee {n}", "email": f"ann{n}@example.com", "phone": "+1 202 555 0123",
                            "attributes": {"emails": ["other@example.org"], "phones": ["+44 20 7946 0958"]}})
               for n, person in enumerate(people)]
    MatchKey.objects.all().delete()
    assert matching.add_keys(customers=records) >= bulk.COPY_MIN_ROWS
    copied = set(MatchKey.objects.values_list("customer_id", "key"))
    MatchKey.objects.all().delete()
    monkeypatch.setattr(bulk, "COPY_MIN_ROWS", 10**6)
    matching.add_keys(customers=records)
    assert copied == set(MatchKey.objects.values_list("customer_id", "key"))
    keys = {key for _, key in copied}
    assert {"email:other@example.org", "phone:+442079460958", "phone:+12025550123"} <= keys
