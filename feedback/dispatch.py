"""Enqueue Celery tasks by name, after the transaction commits: services never import `feedback.tasks`.

Tasks import services, so a service that imported a task would point up (and close a cycle). A
service names the task instead (one of `TASKS`); the Celery app routes the name to the task
registered under it, as it routes any message (tests/feedback/test_dispatch.py checks that every
name here is registered). A message is sent once the caller's transaction commits, at once outside
a transaction; if the broker cannot be reached the error is logged, not raised: what the message is
about is already committed, and the recovery tasks enqueue it again (mentions and webhook payloads
left `received`).
"""

import logging
from collections.abc import Iterable, Sequence

from django.db import transaction

from config.celery import app

logger = logging.getLogger(__name__)

PROCESS_MENTION = "feedback.tasks.process_mention"
PROCESS_MENTIONS = "feedback.tasks.process_mentions"
PARSE_INBOUND_PAYLOAD = "feedback.tasks.parse_inbound_payload"
SEND_NOTIFICATION_EMAILS = "feedback.tasks.send_notification_emails"
REFRESH_ROLLUPS = "feedback.tasks.refresh_rollups"
SEND_REPLY = "feedback.tasks.send_reply"
# Every name a service may enqueue.
TASKS = frozenset({PROCESS_MENTION, PROCESS_MENTIONS, PARSE_INBOUND_PAYLOAD, SEND_NOTIFICATION_EMAILS, SEND_REPLY,
                   REFRESH_ROLLUPS})


def enqueue(task_name: str, *args, **options) -> None:
    """Send `task_name(*args)` after the current transaction commits. `options` are Celery's
    publishing options (`retry=False`, `queue=...`, `countdown=...`)."""
    enqueue_many([(task_name, args)], **options)


def enqueue_many(messages: Iterable[tuple[str, Sequence]], **options) -> None:
    """Send several (task name, args) messages after the current transaction commits, through one
    producer (one broker connection for all of them), in order."""
    messages = [(name, tuple(args)) for name, args in messages]
    unknown = sorted({name for name, _ in messages} - TASKS)
    if unknown:
        raise ValueError(f"Unknown task name(s) {', '.join(unknown)}: add them to feedback.dispatch.TASKS.")
    if not messages:
        return

    def send_after_commit() -> None:
        with app.producer_or_acquire() as producer:
            for name, args in messages:
                app.send_task(name, args=args, producer=producer, **options)

    transaction.on_commit(send_after_commit, robust=True)
