"""Outbound webhooks against a real HTTP receiver on 127.0.0.1: signatures, retries with backoff on
5xx, no retry on 4xx, order per subscription, redelivery; and the feedback-side events."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from customers.webhooks.delivery import deliver_due, due_subscription_ids, sign, verify
from customers.webhooks.events import EventType
from customers.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookPayload
from customers.webhooks.services import create_subscription, emit_event, redeliver
from feedback.cases.services import hand_off, resolve
from feedback.sla.clocks import escalate_due
from tests.factories import CaseFactory, MembershipFactory, SlaClockFactory, UserFactory, department
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _receivers_on_loopback(settings):
    """These receivers listen on 127.0.0.1, which webhooks refuse unless allowed (test_webhook_targets.py)."""
    settings.BATON_WEBHOOK_ALLOW_PRIVATE_TARGETS = True


def _verified(secret, request) -> dict:
    headers = request["headers"]
    assert verify(secret=secret, timestamp=headers["X-Baton-Timestamp"], body=request["body"],
                  signature=headers["X-Baton-Signature"])
    assert not verify(secret="wrong", timestamp=headers["X-Baton-Timestamp"], body=request["body"],
                      signature=headers["X-Baton-Signature"])
    return json.loads(request["body"])


def test_signed_delivery_fails_twice_then_succeeds_with_backoff(settings, django_capture_on_commit_callbacks):
    settings.BATON_WEBHOOK_BACKOFF_SECONDS = 30
    with Receiver([500, 503]) as receiver:
        subscription, secret = create_subscription(name="CRM", url=receiver.url, event_types=["customer.updated"])
        with django_capture_on_commit_callbacks() as callbacks:
            assert emit_event(event_type=EventType.CUSTOMER_UPDATED, payload={"id": 7, "name": "Dana"}) == 1
        assert len(callbacks) == 1  # the delivery task is enqueued after commit
        delivery = WebhookDelivery.objects.get()
        now = timezone.now()

        run = deliver_due(subscription_id=subscription.pk, now=now)
        assert (run.retried, run.delivered) == (1, 0)
        assert run.retry_at == now + timedelta(seconds=30)
        # Not due yet: nothing is sent.
        assert deliver_due(subscription_id=subscription.pk, now=now + timedelta(seconds=29)).retry_at
        assert len(receiver.requests) == 1
        run = deliver_due(subscription_id=subscription.pk, now=now + timedelta(seconds=30))
        assert run.retry_at == now + timedelta(seconds=30 + 60)  # doubled
        run = deliver_due(subscription_id=subscription.pk, now=now + timedelta(seconds=90))
        assert run.delivered == 1

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.DELIVERED, 3, 200)
    assert [attempt.status_code for attempt in WebhookAttempt.objects.order_by("id")] == [500, 503, 200]
    assert len(receiver.requests) == 3
    bodies = [_verified(secret, request) for request in receiver.requests]
    assert {request["headers"]["X-Baton-Delivery"] for request in receiver.requests} == {str(delivery.pk)}
    assert all(request["body"] == receiver.requests[0]["body"] for request in receiver.requests)
    assert bodies[0]["type"] == "customer.updated" and bodies[0]["data"] == {"id": 7, "name": "Dana"}
    assert bodies[0]["id"] == str(WebhookPayload.objects.get().event_id)


def test_a_4xx_is_not_retried_and_the_queue_moves_on_in_order():
    with Receiver([410]) as receiver:
        subscription, secret = create_subscription(name="CRM", url=receiver.url, event_types=["case.created"])
        for n in range(3):
            emit_event(event_type="case.created", payload={"n": n})
        run = deliver_due(subscription_id=subscription.pk)
    assert (run.failed, run.delivered, run.retried) == (1, 2, 0)
    assert [_verified(secret, request)["data"]["n"] for request in receiver.requests] == [0, 1, 2]
    statuses = list(WebhookDelivery.objects.order_by("id").values_list("status", "attempts"))
    assert statuses == [("failed", 1), ("delivered", 1), ("delivered", 1)]


def test_a_waiting_delivery_holds_back_the_later_ones(settings):
    with Receiver([502]) as receiver:
        subscription, secret = create_subscription(name="CRM", url=receiver.url, event_types=["case.created"])
        emit_event(event_type="case.created", payload={"n": 0})
        emit_event(event_type="case.created", payload={"n": 1})
        now = timezone.now()
        run = deliver_due(subscription_id=subscription.pk, now=now)
        assert run.retried == 1 and len(receiver.requests) == 1  # the second waits behind the first
        assert due_subscription_ids(now=now) == []
        later = now + timedelta(seconds=settings.BATON_WEBHOOK_BACKOFF_SECONDS)
        assert due_subscription_ids(now=later) == [subscription.pk]
        assert deliver_due(subscription_id=subscription.pk, now=later).delivered == 2
    assert [_verified(secret, request)["data"]["n"] for request in receiver.requests] == [0, 0, 1]


def test_timeouts_are_retried_and_attempts_run_out(settings):
    settings.BATON_WEBHOOK_MAX_ATTEMPTS = 2
    subscription, _ = create_subscription(name="Down", url="http://127.0.0.1:9/nothing-listens",
                                          event_types=["case.resolved"])
    emit_event(event_type="case.resolved", payload={})
    now = timezone.now()
    assert deliver_due(subscription_id=subscription.pk, now=now).retried == 1
    assert deliver_due(subscription_id=subscription.pk, now=now + timedelta(hours=1)).failed == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 2 and delivery.last_error
    # Redelivery: the same delivery, again pending and due now.
    with Receiver() as receiver:
        subscription.url = receiver.url
        subscription.save()
        redeliver(delivery_id=delivery.pk)
        assert deliver_due(subscription_id=subscription.pk).delivered == 1
    assert receiver.requests[0]["headers"]["X-Baton-Delivery"] == str(delivery.pk)


def test_signature_is_hmac_sha256_over_timestamp_and_body():
    import hashlib
    import hmac

    body = b'{"a":1}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign(secret="s3cret", timestamp=1700000000, body=body) == f"sha256={expected}"
    assert not verify(secret="s3cret", timestamp="1700000000", body=body, signature=f"sha256={expected}")  # too old
    assert verify(secret="s3cret", timestamp="1700000000", body=body, signature=f"sha256={expected}",
                  now=1700000100)


def test_nobody_subscribed_costs_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        assert emit_event(event_type="case.created", payload={}) == 0
    with pytest.raises(ValueError):
        emit_event(event_type="case.exploded", payload={})


def test_case_services_emit_their_events():
    create_subscription(name="CRM", url="http://127.0.0.1:9/", event_types=[
        "case.handed_off", "case.resolved", "case.sla_breached"])
    agent = MembershipFactory(user=UserFactory(username="agent"), department=department("service")).user
    case = CaseFactory(customer__external_id="crm-9")
    hand_off(case=case, to_department=department("sales"), note="A buyer", by=agent)
    other = CaseFactory(customer__external_id="crm-10")
    resolve(case=other, by=agent)
    clock = SlaClockFactory(case=CaseFactory(customer__external_id="crm-11"))
    escalate_due(now=clock.due_at + timedelta(minutes=1))
    bodies = [json.loads(body) for body in WebhookPayload.objects.order_by("id").values_list("body", flat=True)]
    assert [body["type"] for body in bodies] == ["case.handed_off", "case.resolved", "case.sla_breached"]
    assert bodies[0]["data"]["handoff"]["to_department"] == "sales"
    assert bodies[0]["data"]["customer"]["external_id"] == "crm-9"
    assert bodies[1]["data"]["status"] == "resolved"
    assert bodies[2]["data"]["clock"]["metric"] == "first_reply"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_retries_with_backoff_until_the_receiver_takes_it(settings):
    """The Celery task path end to end: emit after commit -> deliver_webhooks on a worker thread (Redis broker)
    -> 500, 500 -> re-enqueued with its backoff as countdown -> 200."""
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun
    from django.db import connections

    from config.celery import app
    from tests.concurrency import wait_for

    settings.BATON_WEBHOOK_BACKOFF_SECONDS = 0.2
    app.loader.import_default_modules()
    assert {"customers.tasks.deliver_webhooks", "customers.tasks.webhook_sweep"} <= set(app.tasks)
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("celery")

    def close_worker_connections(**kwargs):
        connections.close_all()

    task_postrun.connect(close_worker_connections, weak=False)
    try:
        with Receiver([500, 500]) as receiver, start_worker(app, pool="solo", perform_ping_check=False,
                                                             shutdown_timeout=10):
            subscription, secret = create_subscription(name="CRM", url=receiver.url, event_types=["case.resolved"])
            emit_event(event_type="case.resolved", payload={"id": 1})
            delivered = wait_for(lambda: WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED).exists(),
                                 timeout=30)
    finally:
        task_postrun.disconnect(close_worker_connections)
    assert delivered, "the worker did not deliver within 30 s"
    assert [attempt.status_code for attempt in WebhookAttempt.objects.order_by("id")] == [500, 500, 200]
    assert len({request["headers"]["X-Baton-Delivery"] for request in receiver.requests}) == 1
    assert all(_verified(secret, request)["type"] == "case.resolved" for request in receiver.requests)


def test_a_new_case_from_the_pipeline_is_told_once():
    from django.utils import timezone as tz

    from feedback.cases.services import attach_mention
    from tests.factories import CustomerFactory, MentionFactory

    create_subscription(name="CRM", url="http://127.0.0.1:9/", event_types=["case.created"])
    customer = CustomerFactory(external_id="crm-new-case")
    first = MentionFactory(customer=customer)
    case, created = attach_mention(mention=first, customer=customer, department=department("service"),
                                   priority="normal", intent="complaint", now=tz.now())
    assert created
    again, created = attach_mention(mention=MentionFactory(customer=customer), customer=customer,
                                    department=department("service"), priority="normal", intent="complaint",
                                    now=tz.now())
    assert again == case and not created
    [body] = [json.loads(body) for body in WebhookPayload.objects.values_list("body", flat=True)]
    assert body["type"] == "case.created"
    assert body["data"]["id"] == case.pk and body["data"]["customer"]["external_id"] == "crm-new-case"
