"""Processing one stored mention: understand, link, route, attach to a case, start clocks.

Idempotent: a mention already processed is left alone, so a duplicate task message
or a recovery re-enqueue does nothing twice. A failure is kept on the mention.
"""

import logging
import time
import traceback
from contextlib import contextmanager

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from customers.services import link_author
from feedback.choices import MentionStatus
from feedback.models import Mention
from feedback.services.cases import attach_mention
from feedback.services.routing import route
from feedback.services.understand import understand_text
from teams.models import Department

logger = logging.getLogger(__name__)


def process_mention(*, mention_id: int, timings: dict[str, float] | None = None) -> Mention | None:
    """Process one mention. `timings`, if given, accumulates seconds per stage (for `bench pipeline`)."""
    try:
        with transaction.atomic():
            mention = Mention.objects.select_for_update().filter(pk=mention_id).first()
            if mention is None or mention.status == MentionStatus.PROCESSED:
                return mention
            _process(mention, timings)
            return mention
    except Exception as exc:  # noqa: BLE001 - a bad mention must never crash the worker
        logger.exception("Processing mention %s failed", mention_id)
        Mention.objects.filter(pk=mention_id).update(
            status=MentionStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"[:4000],
            attempts=F("attempts") + 1,
        )
        return None


def process_mentions(*, mention_ids: list[int], timings: dict[str, float] | None = None) -> int:
    """Process a batch of mentions (the worker's unit of work). Returns how many were processed."""
    processed = 0
    for mention_id in mention_ids:
        mention = process_mention(mention_id=mention_id, timings=timings)
        processed += mention is not None and mention.status == MentionStatus.PROCESSED
    return processed


@contextmanager
def _stage(timings: dict[str, float] | None, name: str):
    if timings is None:
        yield
        return
    started = time.perf_counter()
    yield
    timings[name] = timings.get(name, 0.0) + time.perf_counter() - started


def _process(mention: Mention, timings: dict[str, float] | None = None) -> None:
    now = mention.received_at  # clocks run from when Baton received the post
    with _stage(timings, "understand"):
        understood = understand_text(mention.text)
    mention.sentiment = understood.sentiment
    mention.sentiment_label = understood.sentiment_label
    mention.intent = understood.intent

    with _stage(timings, "link"):
        handle = mention.author_handle or f"anonymous-{mention.external_id}"
        customer = link_author(channel=mention.source, handle=handle, name=mention.author_name)
        mention.customer = customer

    with _stage(timings, "route"):
        decision = route(
            intent=understood.intent,
            sentiment=understood.sentiment,
            followers=mention.author_followers,
            customer_value=customer.value if customer else None,
        )
    with _stage(timings, "case_and_clocks"):
        if decision.creates_case:
            department = Department.objects.get(slug=decision.department_slug)
            attach_mention(
                mention=mention, customer=customer, department=department, priority=decision.priority,
                intent=understood.intent, now=now,
            )
        mention.status = MentionStatus.PROCESSED
        mention.processed_at = timezone.now()
        mention.error = ""
        mention.attempts += 1  # the row is locked: no concurrent increment to lose
        mention.save()


def retry_failed(*, ids: list[int] | None = None, limit: int | None = None) -> int:
    """Put failed mentions back to `received` and enqueue them again after commit. Returns how many."""
    from feedback.services.ingest import enqueue_processing

    failed = Mention.objects.filter(status=MentionStatus.FAILED).order_by("id")
    if ids is not None:
        failed = failed.filter(id__in=ids)
    ids = list(failed.values_list("id", flat=True)[:limit])
    with transaction.atomic():
        Mention.objects.filter(id__in=ids).update(status=MentionStatus.RECEIVED)
        transaction.on_commit(lambda: enqueue_processing(ids), robust=True)
    return len(ids)


def unprocessed_ids(*, older_than, limit: int = 1000) -> list[int]:
    """Mentions stored but never processed (broker down, worker lost): for the recovery task."""
    return list(
        Mention.objects.filter(status=MentionStatus.RECEIVED, received_at__lt=older_than)
        .order_by("received_at")
        .values_list("id", flat=True)[:limit]
    )
