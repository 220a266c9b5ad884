"""Reads on outbound webhooks: the delivery log."""

from django.db.models import Prefetch, QuerySet

from customers.webhooks.models import WebhookAttempt, WebhookDelivery


def delivery_log(*, subscription_id: int | None = None, status: str = "") -> QuerySet[WebhookDelivery]:
    """Deliveries, newest first, with their payload, subscription and attempts (a fixed number of queries per page)."""
    deliveries = WebhookDelivery.objects.select_related("payload", "subscription").prefetch_related(
        Prefetch("attempt_rows", queryset=WebhookAttempt.objects.order_by("started_at", "id"))
    ).order_by("-id")
    if subscription_id:
        deliveries = deliveries.filter(subscription_id=subscription_id)
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries
