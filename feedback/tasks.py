"""Celery tasks: thin wrappers that take ids and call services."""

import gc
import os

from celery import shared_task
from celery.signals import worker_init
from django.conf import settings
from django.utils import timezone

from feedback import pipeline
from feedback.board import rollups, suggestions
from feedback.board import selectors as board_selectors
from feedback.intake.ingest import enqueue_processing
from feedback.intake.webhooks import services as webhooks
from feedback.integrations import idempotency
from feedback.linking import services as linking
from feedback.replies import services as replies
from feedback.sla import clocks as sla
from feedback.sla import notifications
from feedback.understanding import load_default, prepare_default


@shared_task(acks_late=True)
def process_mention(mention_id: int) -> None:
    pipeline.process_with_backlog(mention_id=mention_id)


@shared_task(acks_late=True)
def process_mentions(mention_ids: list[int]) -> None:
    pipeline.process_mentions(mention_ids=mention_ids)


@shared_task(bind=True, acks_late=True)
def sla_sweep(self) -> int:
    limit = settings.BATON_SWEEP_BATCH
    escalated = sla.escalate_due(limit=limit)
    if escalated >= limit:
        # A backlog drains without waiting for the next tick, on the queue this sweep came from.
        queue = (self.request.delivery_info or {}).get("routing_key")
        sla_sweep.apply_async(queue=queue) if queue else sla_sweep.delay()
    return escalated


@shared_task(bind=True, acks_late=True)
def anonymise_old_mentions(self) -> int:
    """The retention policy (BATON_MENTION_RETENTION_DAYS): one batch, re-queued while batches are full."""
    limit = 1000
    done = linking.anonymise_old_mentions(limit=limit)
    if done >= limit:
        queue = (self.request.delivery_info or {}).get("routing_key")
        anonymise_old_mentions.apply_async(queue=queue) if queue else anonymise_old_mentions.delay()
    return done


@shared_task(acks_late=True)
def send_notification_emails(notification_ids: list[int]) -> int:
    """Idempotent: a notification already emailed is skipped."""
    return notifications.send_emails(notification_ids=notification_ids)


@shared_task(acks_late=True)
def send_notification_digests() -> int:
    """Hourly (beat): one e-mail per person in digest mode. Idempotent: rows are marked e-mailed."""
    return notifications.send_digests()


@shared_task(acks_late=True)
def recover_unprocessed_mentions() -> int:
    ids = pipeline.unprocessed_ids(older_than=timezone.now() - settings.BATON_RECOVER_AFTER)
    enqueue_processing(ids)
    return len(ids)


@shared_task(acks_late=True)
def parse_inbound_payload(payload_id: int) -> str | None:
    outcome = webhooks.parse_payload(payload_id=payload_id)
    return outcome.status if outcome else None


@shared_task(acks_late=True)
def recover_inbound_payloads() -> int:
    """Webhook payloads stored but not parsed (lost message, or brand replies still waiting)."""
    ids = webhooks.stuck_payload_ids(older_than=timezone.now() - settings.BATON_RECOVER_AFTER)
    for payload_id in ids:
        webhooks.enqueue_parse(payload_id)
    return len(ids)


@shared_task(bind=True, acks_late=True)
def refresh_rollups(self) -> int:
    """Recompute the board's rollups of the days writers marked; re-queue while more are waiting."""
    refreshed, more = rollups.refresh_dirty()
    if more:
        self.apply_async(queue=(self.request.delivery_info or {}).get("routing_key") or "rollups")
    elif refreshed:
        board_selectors.warm_dashboard()  # the default period, for the rollups' new version
    return refreshed


@shared_task(acks_late=True)
def suggest_problems() -> int:
    """Cluster recent complaints into suggested problems for the board and the heads."""
    return len(suggestions.refresh_suggestions())


@shared_task(acks_late=True)
def send_reply(reply_id: int) -> str:
    """Post one reply through its channel's connector; a retry is enqueued by the service, with a countdown."""
    return replies.deliver_reply(reply_id=reply_id)


@shared_task(acks_late=True)
def recover_replies() -> int:
    """Replies queued (or due for a retry) whose task message was lost."""
    ids = replies.stuck_reply_ids(older_than=timezone.now() - settings.BATON_RECOVER_AFTER)
    for reply_id in ids:
        replies.enqueue_send(reply_id)
    return len(ids)


@shared_task(acks_late=True)
def sweep_stuck_replies() -> int:
    """Replies stuck in `sending` (a worker died mid-send): re-queued once each (beat, every minute)."""
    return len(replies.recover_stuck_sending())


@shared_task(acks_late=True)
def prune_inbound_payloads() -> dict:
    """Quarantined webhook payloads and refusal counts past their retention (beat, hourly); a full batch
    re-queues the task, so a backlog drains without waiting for the next tick."""
    report = webhooks.prune_inbound_payloads()
    if report.more:
        prune_inbound_payloads.delay()
    return {"refused": report.refused, "quarantined": report.quarantined, "counts": report.counts}


@shared_task(acks_late=True)
def purge_idempotency_keys() -> int:
    """The API's kept Idempotency-Key answers, once they are older than BATON_API_IDEMPOTENCY_HOURS."""
    return idempotency.purge_expired()


@worker_init.connect
def load_understanding_model(sender=None, **kwargs):
    """Load the understanding model once in the worker's main process, before it forks its pool:
    the children share it instead of each loading it on their first batch. A missing model is
    trained in a separate process (prepare_default), so torch never starts here; each child loads
    the embedding model on its first batch, with the cores shared out between the children."""
    if settings.BATON_UNDERSTANDING_ENGINE == "model":
        children = max(1, int(getattr(sender, "concurrency", 1) or 1))
        os.environ.setdefault("BATON_EMBEDDING_THREADS", str(max(1, (os.cpu_count() or 1) // children)))
        prepare_default()
        load_default()
    gc.freeze()  # the model and Django live as long as the worker: keep them out of full collections
