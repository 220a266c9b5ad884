"""Celery tasks of the customers app: thin, ids in, one service call (Celery's autodiscovery finds them)."""

from celery import shared_task
from django.utils import timezone

from customers.webhooks import delivery
from customers.webhooks.services import enqueue_delivery


@shared_task(name="customers.tasks.deliver_webhooks", acks_late=True)
def deliver_webhooks(subscription_id: int) -> int:
    """Send a subscription's due deliveries in order; come back when its head is due for a retry."""
    run = delivery.deliver_due(subscription_id=subscription_id)
    if run.retry_at is not None:
        wait = max(0.0, (run.retry_at - timezone.now()).total_seconds())
        deliver_webhooks.apply_async(args=(subscription_id,), countdown=wait)
    return run.delivered


@shared_task(name="customers.tasks.webhook_sweep", acks_late=True)
def webhook_sweep() -> int:
    """Every minute: enqueue the subscriptions whose queue head is due (a lost message, a broker
    outage, or a sender that found the subscription busy just as it finished)."""
    ids = delivery.due_subscription_ids()
    enqueue_delivery(ids)
    return len(ids)
