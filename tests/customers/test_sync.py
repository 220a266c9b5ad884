"""customers.sync: the CRM's writes, including two writers at once."""

import json

import pytest
from django.db import transaction

from customers.models import Customer
from customers.sync import PreconditionFailed, etag, update_customer, upsert_customers
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
