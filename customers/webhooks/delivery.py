"""Sending deliveries: signing, one HTTP attempt at a time, backoff, in order per subscription.

The signature is HMAC-SHA256, keyed with the subscription's secret, over `"{timestamp}.{body}"`
(the timestamp as decimal Unix seconds, a full stop, the exact body bytes), sent as
`X-Baton-Signature: sha256=<hex>` with `X-Baton-Timestamp: <timestamp>`. `X-Baton-Delivery` is the
delivery's id: the same on every retry, so a receiver can drop a repeat. Each attempt gets a fresh
timestamp (and so a fresh signature): a receiver may refuse old timestamps against replays.

In order: `deliver_due` takes the subscription's row lock (`SKIP LOCKED`: a second sender for the
same subscription leaves at once, the first one drains the queue) and sends the oldest pending
delivery first; while it waits for a retry, the later ones wait behind it. A 2xx delivers it; a
5xx, a timeout or a connection error retries it after `BATON_WEBHOOK_BACKOFF_SECONDS * 2**(attempts-1)`
(at most `BATON_WEBHOOK_MAX_BACKOFF_SECONDS`) until `BATON_WEBHOOK_MAX_ATTEMPTS`, then it fails;
any other answer (a 4xx, a redirect) fails it at once, without a retry, as does a target that resolves to a
non-public address (`customers.webhooks.targets`, checked at every attempt against DNS rebinding: the request
goes to an address that was checked). A failed delivery no longer holds up the queue; the delivery log's
redeliver button sends it again.

The lock is held during the HTTP request (at most `BATON_WEBHOOK_TIMEOUT_SECONDS`): that is what
keeps one subscription's deliveries in order whatever the number of workers.
"""

import hashlib
import hmac
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Min, Subquery
from django.utils import timezone

from customers.webhooks import targets
from customers.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookSubscription
from customers.webhooks.services import subscription_secret

RESPONSE_KEEP_CHARS = 2_000
USER_AGENT = "Baton-Webhooks/1.0"


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Baton-Signature` value for a body sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(*, secret: str, timestamp: str, body: bytes, signature: str, tolerance: int = 300,
           now: float | None = None) -> bool:
    """What a receiver does (the README's example, in Python): the signature matches and the timestamp is recent."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((now or time.time()) - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(secret=secret, timestamp=sent, body=body), signature or "")


def backoff(attempts: int) -> timedelta:
    seconds = settings.BATON_WEBHOOK_BACKOFF_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.BATON_WEBHOOK_MAX_BACKOFF_SECONDS))


@dataclass
class Run:
    """What one call of `deliver_due` did."""

    delivered: int = 0
    failed: int = 0
    retried: int = 0
    busy: bool = False  # another sender held the subscription
    retry_at: datetime | None = None  # the head of the queue waits until then


def _post(client: httpx.Client, url: str, *, body: bytes, headers: dict) -> httpx.Response:
    """POST to the URL, connecting only to the addresses `targets.pin` checked after resolving its name (the next
    one when one refuses the connection); TLS still checks the certificate against the name."""
    pinned = targets.pin(url)
    if pinned is None:  # private targets allowed: as the URL says
        return client.post(url, content=body, headers=headers)
    for index, address in enumerate(pinned.addresses):
        try:
            return client.post(pinned.url_for(address), content=body, headers={**headers, "Host": pinned.host_header},
                               extensions={"sni_hostname": pinned.host})
        except httpx.ConnectError:
            if index == len(pinned.addresses) - 1:
                raise
    raise httpx.ConnectError(f"{pinned.host} resolves to no address.")


def _attempt(*, client: httpx.Client, subscription: WebhookSubscription, delivery: WebhookDelivery,
             secret: str) -> tuple[WebhookAttempt, bool]:
    """One attempt, and whether it may be retried (a refused target may not: it needs a new URL)."""
    body = delivery.payload.body.encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Baton-Event": delivery.payload.event_type,
        "X-Baton-Delivery": str(delivery.pk),
        "X-Baton-Timestamp": str(timestamp),
        "X-Baton-Signature": sign(secret=secret, timestamp=timestamp, body=body),
    }
    attempt = WebhookAttempt(delivery=delivery, started_at=timezone.now())
    started = time.perf_counter()
    retryable = True
    try:
        response = _post(client, subscription.url, body=body, headers=headers)
        attempt.status_code = response.status_code
        attempt.response_body = response.text[:RESPONSE_KEEP_CHARS]
        retryable = response.status_code >= 500
    except targets.BlockedTarget as exc:
        attempt.error, retryable = str(exc)[:RESPONSE_KEEP_CHARS], False
    except (socket.gaierror, UnicodeError) as exc:
        attempt.error = f"The host name does not resolve: {exc}"[:RESPONSE_KEEP_CHARS]
    except httpx.TimeoutException:
        attempt.error = f"No answer within {settings.BATON_WEBHOOK_TIMEOUT_SECONDS} s (timeout)."
    except httpx.HTTPError as exc:
        attempt.error = f"{type(exc).__name__}: {exc}"[:RESPONSE_KEEP_CHARS]
    attempt.duration_ms = int((time.perf_counter() - started) * 1000)
    return attempt, retryable


def deliver_due(*, subscription_id: int, now: datetime | None = None, client: httpx.Client | None = None,
                limit: int = 100) -> Run:
    """Send the subscription's due deliveries in order, one attempt each, until the queue is empty,
    its head waits for a retry, or `limit` attempts were made. `now`: the time to judge "due" by
    (tests move it forward instead of sleeping)."""
    run = Run()
    own_client = client is None
    client = client or httpx.Client(timeout=settings.BATON_WEBHOOK_TIMEOUT_SECONDS, follow_redirects=False)
    try:
        for _ in range(limit):
            with transaction.atomic():
                subscription = (WebhookSubscription.objects.select_for_update(skip_locked=True)
                                .filter(pk=subscription_id, is_active=True).first())
                if subscription is None:
                    run.busy = WebhookSubscription.objects.filter(pk=subscription_id, is_active=True).exists()
                    return run
                delivery = (subscription.deliveries.filter(status=DeliveryStatus.PENDING)
                            .select_related("payload").order_by("id").first())
                if delivery is None:
                    return run
                moment = now or timezone.now()
                if delivery.next_attempt_at > moment:
                    run.retry_at = delivery.next_attempt_at
                    return run
                attempt, retryable = _attempt(client=client, subscription=subscription, delivery=delivery,
                                              secret=subscription_secret(subscription))
                attempt.save()
                delivery.attempts += 1
                delivery.last_status_code = attempt.status_code
                delivery.last_error = attempt.error
                if attempt.status_code is not None and 200 <= attempt.status_code < 300:
                    delivery.status, delivery.finished_at = DeliveryStatus.DELIVERED, timezone.now()
                    run.delivered += 1
                elif retryable and delivery.attempts < settings.BATON_WEBHOOK_MAX_ATTEMPTS:
                    delivery.next_attempt_at = moment + backoff(delivery.attempts)
                    run.retried += 1
                else:
                    if not attempt.error:
                        attempt_kind = "retries used up" if retryable else "not retried"
                        delivery.last_error = f"HTTP {attempt.status_code} ({attempt_kind})."
                    delivery.status, delivery.finished_at = DeliveryStatus.FAILED, timezone.now()
                    run.failed += 1
                delivery.save(update_fields=["attempts", "last_status_code", "last_error", "status", "finished_at",
                                             "next_attempt_at"])
        return run
    finally:
        if own_client:
            client.close()


def due_subscription_ids(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Active subscriptions whose queue head (their oldest pending delivery) is due: what the sweep (re)sends.
    A due delivery behind a head that waits for its retry does not count: it is not sent before the head."""
    now = now or timezone.now()
    heads = (WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).order_by()
             .values("subscription_id").annotate(head=Min("id")).values("head"))
    return list(
        WebhookDelivery.objects.filter(id__in=Subquery(heads), next_attempt_at__lte=now, subscription__is_active=True)
        .order_by("subscription_id").values_list("subscription_id", flat=True)[:limit]
    )
