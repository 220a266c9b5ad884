"""Processing stored mentions: understand, link, route, attach to cases, start clocks.

The worker's unit of work is a batch (`process_mentions`): a fixed number of queries per
batch, whatever its size. Idempotent: only mentions still `received` are taken, with
`select_for_update(skip_locked=True)`, so a duplicate task message or a recovery re-enqueue
does nothing twice and two workers never process one mention. If a batch fails, its
mentions are processed one by one so that only the bad one is marked failed, with its error.
"""

import logging
import time
import traceback
from contextlib import contextmanager

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from customers import timeline
from customers.matching import Outcome
from customers.services import Author, normalize_handle, resolve_authors
from customers.sync import customer_data
from customers.webhooks.events import EventType
from customers.webhooks.services import emit_events, subscribed_event_types
from feedback.board import upkeep
from feedback.cases.services import Attachment, attach_mentions
from feedback.choices import MentionStatus
from feedback.db import update_rows
from feedback.intake.ingest import enqueue_processing
from feedback.intake.models import Mention
from feedback.routing.services import load_rules, route
from feedback.sla import clocks as sla
from feedback.understanding.adapter import understand_texts
from feedback.understanding.labels import UNDERSTANDING_FIELDS, apply_understanding
from feedback.understanding.promises import active_vocabulary
from teams.models import Department

logger = logging.getLogger(__name__)

_UPDATED_FIELDS = [*UNDERSTANDING_FIELDS, "priority", "customer", "case", "status", "processed_at", "error",
                   "attempts"]


def process_mentions(*, mention_ids: list[int], timings: dict[str, float] | None = None) -> int:
    """Process a batch of mentions. Returns how many were processed now."""
    try:
        with transaction.atomic():
            return _process_batch(mention_ids, timings)
    except Exception:  # noqa: BLE001 - one bad mention must not fail its whole batch
        logger.warning("Batch of %d mentions failed; processing them one by one", len(mention_ids), exc_info=True)
    processed = 0
    for mention_id in mention_ids:
        mention = process_mention(mention_id=mention_id, timings=timings)
        processed += mention is not None and mention.status == MentionStatus.PROCESSED
    return processed


def process_with_backlog(*, mention_id: int, batch: int = 100) -> int:
    """Process a mention and, in the same batch, up to `batch - 1` other stored mentions still
    waiting. Single posts arrive one task each; this lets a busy worker still work in batches
    (the tasks of mentions it took find nothing left to do)."""
    waiting = list(
        Mention.objects.filter(status=MentionStatus.RECEIVED).exclude(pk=mention_id)
        .order_by("pk").values_list("pk", flat=True)[: batch - 1]
    )
    return process_mentions(mention_ids=[mention_id, *waiting])


def process_mention(*, mention_id: int, timings: dict[str, float] | None = None) -> Mention | None:
    """Process one mention; on failure keep the error on it. Returns the mention (None on failure)."""
    try:
        with transaction.atomic():
            _process_batch([mention_id], timings)
        return Mention.objects.filter(pk=mention_id).first()
    except Exception as exc:  # noqa: BLE001 - a bad mention must never crash the worker
        logger.exception("Processing mention %s failed", mention_id)
        with transaction.atomic():
            Mention.objects.filter(pk=mention_id).update(
                status=MentionStatus.FAILED,
                error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"[:4000],
                attempts=F("attempts") + 1,
            )
            upkeep.touch_mention_ids([mention_id])  # the board counts it, as not understood
        return None


@contextmanager
def _stage(timings: dict[str, float] | None, name: str):
    if timings is None:
        yield
        return
    started = time.perf_counter()
    yield
    timings[name] = timings.get(name, 0.0) + time.perf_counter() - started


def _profile(mention: Mention) -> dict | None:
    """The author's profile as intake kept it (`raw["author"]`: location, description, email, phone)."""
    author = mention.raw.get("author") if isinstance(mention.raw, dict) else None
    return author if isinstance(author, dict) else None


def _process_batch(mention_ids: list[int], timings: dict[str, float] | None) -> int:
    with _stage(timings, "load"):
        mentions = list(
            Mention.objects.select_for_update(skip_locked=True)
            .filter(pk__in=mention_ids, status=MentionStatus.RECEIVED)
            .order_by("pk")
        )
    if not mentions:
        return 0

    with _stage(timings, "understand"):
        # The active promises are read once per batch (one query); the model reads the whole batch at once.
        vocabulary = active_vocabulary()
        promise_ids = {promise.slug: promise.id for promise in vocabulary}
        understood = understand_texts([mention.text for mention in mentions], promises=vocabulary)

    with _stage(timings, "link"):
        handles = [
            (mention.source, mention.author_handle or f"anonymous-{mention.external_id}", mention.author_name)
            for mention in mentions
        ]
        # The matching cascade reads the post and the author's profile too (emails, phones, region).
        resolutions = resolve_authors(authors=[
            Author(channel=channel, handle=handle, name=name, text=mention.text, profile=_profile(mention))
            for mention, (channel, handle, name) in zip(mentions, handles, strict=True)
        ])
        customers = {key: resolution.customer for key, resolution in resolutions.items()}
        # New prospects (an author the cascade did not link) are new records for the CRM too.
        if EventType.CUSTOMER_CREATED in subscribed_event_types():
            emit_events(events=[(EventType.CUSTOMER_CREATED, customer_data(resolution.customer))
                                for resolution in resolutions.values()
                                if resolution.outcome in (Outcome.PROSPECT, Outcome.SUGGESTED)])

    with _stage(timings, "route"):
        departments = Department.objects.in_bulk(field_name="slug")
        rules = load_rules()  # compiled once per batch
        attachments = []
        for mention, reading, (channel, handle, _) in zip(mentions, understood, handles, strict=True):
            # Every label with its confidence; a label a person corrected stays, and routing reads the labels in force.
            apply_understanding(mention=mention, reading=reading, promise_ids=promise_ids)
            mention.customer = customers[(channel, normalize_handle(handle))]
            decision = route(
                intent=mention.intent, sentiment=mention.sentiment, followers=mention.author_followers,
                customer_value=mention.customer.value, mention=mention, customer=mention.customer, rules=rules,
            )
            mention.priority = decision.priority
            if decision.creates_case:
                attachments.append(Attachment(
                    mention=mention, customer=mention.customer, department=departments[decision.department_slug],
                    priority=decision.priority, intent=mention.intent, now=mention.received_at,  # clocks run from receipt
                    rule_id=decision.rule_id, tags=decision.tags, requires_approval=decision.require_approval,
                    assign_to_lead=decision.assign_to_lead,
                ))

    with _stage(timings, "case_and_clocks"):
        attach_mentions(attachments, policies=sla.policy_targets())

    with _stage(timings, "save"):
        now = timezone.now()
        for mention in mentions:
            mention.status = MentionStatus.PROCESSED
            mention.processed_at = now
            mention.error = ""
            mention.attempts += 1  # the rows are locked: no concurrent increment to lose
        update_rows(Mention, mentions, _UPDATED_FIELDS)
        # Every mention on its author's timeline (the customer 360 page), attached to a case or not.
        timeline.record(entries=[
            timeline.mention_posted(
                customer_id=mention.customer_id, mention_id=mention.pk, at=mention.posted_at,
                source=mention.get_source_display(), handle=mention.author_handle, text=mention.text,
                case_id=mention.case_id, department_id=mention.case.department_id if mention.case_id else None,
            )
            for mention in mentions
        ])
        # The CRM hears which customer each post was linked to (nothing is built when nobody subscribes).
        if EventType.MENTION_LINKED in subscribed_event_types():
            emit_events(events=[(EventType.MENTION_LINKED, {
                "mention": {"id": mention.pk, "source": mention.source, "external_id": mention.external_id,
                            "posted_at": mention.posted_at, "case_id": mention.case_id},
                "customer": {"id": mention.customer_id, "external_id": mention.customer.external_id},
            }) for mention in mentions])
    with _stage(timings, "rollups"):
        upkeep.touch_mentions(mentions=mentions)  # the board's rollups of their days, after commit
    return len(mentions)


def retry_failed(*, ids: list[int] | None = None, limit: int | None = None) -> int:
    """Put failed mentions back to `received` and enqueue them again after commit. Returns how many."""
    failed = Mention.objects.filter(status=MentionStatus.FAILED).order_by("id")
    if ids is not None:
        failed = failed.filter(id__in=ids)
    ids = list(failed.values_list("id", flat=True)[:limit])
    with transaction.atomic():
        Mention.objects.filter(id__in=ids).update(status=MentionStatus.RECEIVED)
        enqueue_processing(ids)
    return len(ids)


def unprocessed_ids(*, older_than, limit: int = 1000) -> list[int]:
    """Mentions stored but never processed (broker down, worker lost): for the recovery task."""
    return list(
        Mention.objects.filter(status=MentionStatus.RECEIVED, received_at__lt=older_than)
        .order_by("received_at")
        .values_list("id", flat=True)[:limit]
    )
