"""Storing mentions: exactly once per (source, external_id), processing enqueued after commit."""

import logging
from datetime import datetime

from django.db import transaction

from feedback.models import Mention

logger = logging.getLogger(__name__)


def _enqueue_processing(mention_id: int) -> None:
    from feedback.tasks import process_mention  # tasks import services, not the other way round

    process_mention.delay(mention_id)


def store_mention(
    *,
    source: str,
    external_id: str,
    text: str,
    posted_at: datetime,
    author_handle: str = "",
    author_name: str = "",
    author_followers: int | None = None,
    url: str = "",
    raw: dict | None = None,
    received_at: datetime | None = None,
    enqueue: bool = True,
) -> tuple[Mention, bool]:
    """Store one mention; return (mention, created). A repeat returns the stored one untouched.

    Concurrent deliveries of the same mention create one row: the unique constraint
    decides and `get_or_create` falls back to reading the winner's row.
    """
    defaults = {
        "text": text,
        "posted_at": posted_at,
        "author_handle": author_handle,
        "author_name": author_name,
        "author_followers": author_followers,
        "url": url,
        "raw": raw or {},
    }
    if received_at is not None:
        defaults["received_at"] = received_at
    mention, created = Mention.objects.get_or_create(source=source, external_id=external_id, defaults=defaults)
    if created and enqueue:
        # robust: if the broker is down the mention is still stored; the recovery task picks it up.
        transaction.on_commit(lambda: _enqueue_processing(mention.pk), robust=True)
    return mention, created
