"""Writes on outbound webhooks: emitting events, subscriptions, redelivery.

`emit_event` runs inside the caller's transaction: the payload and its deliveries commit (or roll
back) with the change they describe, and the delivery task is enqueued only after the commit
(`transaction.on_commit`), by name: services never import tasks. Delivery itself is
`customers.webhooks.delivery`.
"""

import json
import logging
import re
import secrets
import uuid
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from config.celery import app
from config.patterns import RECEIVER_URL
from customers.webhooks import crypto, targets
from customers.webhooks.events import EVENT_TYPES
from customers.webhooks.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookPayload,
    WebhookSubscription,
)

logger = logging.getLogger(__name__)

DELIVER_TASK = "customers.tasks.deliver_webhooks"


def enqueue_delivery(subscription_ids: Iterable[int], *, countdown: float | None = None) -> None:
    """Send the delivery task for each subscription after the current transaction commits. A broker
    error is logged, not raised: the deliveries are committed and the sweep (`customers.tasks.webhook_sweep`,
    every minute) sends them."""
    ids = sorted(set(subscription_ids))
    if not ids:
        return

    def send() -> None:
        try:
            with app.producer_or_acquire() as producer:
                for subscription_id in ids:
                    app.send_task(DELIVER_TASK, args=(subscription_id,), producer=producer, countdown=countdown)
        except Exception:  # noqa: BLE001 - the sweep sends what could not be enqueued
            logger.exception("Could not enqueue webhook deliveries for subscriptions %s", ids)

    transaction.on_commit(send, robust=True)


def render_body(*, event_id: str, event_type: str, data: Mapping, now) -> str:
    return json.dumps(
        {"id": event_id, "type": event_type, "created_at": now, "data": data},
        cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False,
    )


def subscribed_event_types() -> set[str]:
    """The event types some active subscription wants (one query): callers skip building payloads nobody reads."""
    wanted: set[str] = set()
    for event_types in WebhookSubscription.objects.filter(is_active=True).values_list("event_types", flat=True):
        wanted.update(event_types or ())
    return wanted


def emit_events(*, events: list[tuple[str, Mapping]]) -> int:
    """Record (event type, payload) pairs for every active subscription that wants them; returns the
    number of deliveries created. One query when nobody subscribes, three otherwise, whatever the
    number of events."""
    for event_type, _ in events:
        if event_type not in EVENT_TYPES:
            raise ValueError(f"Unknown webhook event type {event_type!r}: one of {', '.join(EVENT_TYPES)}.")
    if not events:
        return 0
    wanted = {event_type for event_type, _ in events}
    subscriptions = [
        subscription for subscription in WebhookSubscription.objects.filter(is_active=True).only("id", "event_types")
        if wanted & set(subscription.event_types or ())
    ]
    if not subscriptions:
        return 0
    now = timezone.now()
    payloads, targets = [], []
    for event_type, data in events:
        receivers = [subscription.pk for subscription in subscriptions if event_type in subscription.event_types]
        if receivers:
            event_id = uuid.uuid4()
            payloads.append(WebhookPayload(event_id=event_id, event_type=event_type, created_at=now,
                                           body=render_body(event_id=str(event_id), event_type=event_type,
                                                            data=data, now=now)))
            targets.append(receivers)
    with transaction.atomic():
        WebhookPayload.objects.bulk_create(payloads)
        deliveries = WebhookDelivery.objects.bulk_create([
            WebhookDelivery(subscription_id=subscription_id, payload=payload, next_attempt_at=now, created_at=now)
            for payload, receivers in zip(payloads, targets, strict=True) for subscription_id in receivers
        ])
        enqueue_delivery({delivery.subscription_id for delivery in deliveries})
    return len(deliveries)


def emit_event(*, event_type: str, payload: Mapping) -> int:
    """Tell every subscriber of `event_type` (customers.webhooks.events) about `payload` (a JSON-able
    mapping: the `data` of the body). Call it inside the transaction that made the change."""
    return emit_events(events=[(event_type, payload)])


# --- Subscriptions ---------------------------------------------------------------------------------

# Where deliveries go: an http(s) URL as config.patterns says (the API's schema publishes the same pattern).
WEBHOOK_URL = re.compile(RECEIVER_URL)
URL_MESSAGE = "Enter an http or https URL."
CREDENTIALS_MESSAGE = (
    "Leave the user name and password out of the URL (user:password@host): the URL is stored and shown as it is, "
    "and sent with every delivery. To know that a request comes from Baton, check its X-Baton-Signature with this "
    "subscription's signing secret (an HMAC-SHA256 of the timestamp and the body, as the API's documentation shows)."
)


def url_message(url: str) -> str:
    """Why a URL that is not a WEBHOOK_URL is refused: credentials before its host (`https://user:pass@host/`) get
    their own reason, and what to use instead."""
    try:
        credentials = "@" in urlsplit(url).netloc
    except ValueError:  # an unbalanced bracket in the host
        credentials = False
    return CREDENTIALS_MESSAGE if credentials else URL_MESSAGE


def _clean_subscription(*, name: str, url: str, event_types: list[str]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not name or not name.strip():
        errors["name"] = ["Name the receiver."]
    for field, text in (("name", name), ("url", url)):
        try:
            (text or "").encode("utf-8")
        except UnicodeEncodeError:
            errors[field] = ["Surrogate characters are not allowed."]
    if "url" in errors:
        return errors
    if not isinstance(url, str) or not WEBHOOK_URL.fullmatch(url):
        errors["url"] = [url_message(url) if isinstance(url, str) else URL_MESSAGE]
    elif refused := targets.check_url(url):  # no SSRF: public addresses only (checked again at each delivery)
        errors["url"] = refused
    unknown = [event_type for event_type in event_types if event_type not in EVENT_TYPES]
    if unknown:
        errors["event_types"] = [f"Unknown event type(s): {', '.join(unknown)}."]
    elif not event_types:
        errors["event_types"] = ["Choose at least one event type."]
    return errors


def _audited(subscription: WebhookSubscription, *, by, via: str) -> WebhookSubscription:
    """Who the audit log (django-simple-history) names for the change: `by`, a person, or `via`, an API
    integration (which is nobody's session)."""
    subscription._history_user = by
    if via:
        subscription._change_reason = f"via {via}"
    return subscription


def create_subscription(*, name: str, url: str, event_types: list[str], by=None,
                        via: str = "") -> tuple[WebhookSubscription, str]:
    """A new subscription and its signing secret (returned once; stored encrypted). `by`, `via`: who asked, for
    the audit log (a person; an API integration's name)."""
    errors = _clean_subscription(name=name, url=url, event_types=event_types)
    if errors:
        raise ValidationError(errors)
    secret = "whsec_" + secrets.token_urlsafe(32)
    subscription = _audited(WebhookSubscription(
        name=name.strip(), url=url, secret_ciphertext=crypto.encrypt(secret),
        event_types=sorted(set(event_types), key=EVENT_TYPES.index),
    ), by=by, via=via)
    subscription.save(force_insert=True)
    return subscription, secret


def delete_subscription(*, subscription: WebhookSubscription, by=None, via: str = "") -> None:
    """Remove a receiver (its deliveries go with it); the audit log keeps who did."""
    _audited(subscription, by=by, via=via).delete()


def update_subscription(*, subscription: WebhookSubscription, changes: Mapping, by=None,
                        via: str = "") -> WebhookSubscription:
    merged = {
        "name": changes.get("name", subscription.name),
        "url": changes.get("url", subscription.url),
        "event_types": list(changes.get("event_types", subscription.event_types)),
    }
    errors = _clean_subscription(**merged)
    if errors:
        raise ValidationError(errors)
    subscription.name = merged["name"].strip()
    subscription.url = merged["url"]
    subscription.event_types = sorted(set(merged["event_types"]), key=EVENT_TYPES.index)
    if "is_active" in changes:
        subscription.is_active = bool(changes["is_active"])
    _audited(subscription, by=by, via=via).save()
    if subscription.is_active:
        enqueue_delivery([subscription.pk])  # deliveries that waited while it was paused
    return subscription


def subscription_secret(subscription: WebhookSubscription) -> str:
    return crypto.decrypt(subscription.secret_ciphertext)


def redeliver(*, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again (the delivery log's button): the same delivery id and body, a fresh
    timestamp and signature, its attempts counted from zero. It goes before the subscription's
    later pending deliveries (the queue is in id order)."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        delivery.status = DeliveryStatus.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = timezone.now()
        delivery.finished_at = None
        delivery.save(update_fields=["status", "attempts", "next_attempt_at", "finished_at"])
        enqueue_delivery([delivery.subscription_id])
    return delivery
