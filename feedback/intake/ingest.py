"""Storing mentions: exactly once per (source, external_id), processing enqueued after commit.

`store_mentions` is the one write path for every source (API, webhooks, file imports); it
inserts a batch with `feedback.db.insert_new` (INSERT ... ON CONFLICT DO NOTHING RETURNING), so a
repeat, or the same mention delivered twice at once, is stored once and the caller learns which
rows are new.
"""

import logging
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from feedback import db, dispatch
from feedback.choices import MentionStatus
from feedback.intake.models import Mention

logger = logging.getLogger(__name__)

# Processing is enqueued in chunks of this many ids: one task message per chunk.
PROCESS_CHUNK = 250


def enqueue_processing(mention_ids: list[int]) -> None:
    """After the current transaction commits (at once outside one), one task message per chunk of
    ids: `process_mention` for one, `process_mentions` for more, all through one producer."""
    chunks = [mention_ids[start : start + PROCESS_CHUNK] for start in range(0, len(mention_ids), PROCESS_CHUNK)]
    dispatch.enqueue_many(
        (dispatch.PROCESS_MENTION, (chunk[0],)) if len(chunk) == 1 else (dispatch.PROCESS_MENTIONS, (chunk,))
        for chunk in chunks
    )


def mention_row(item: dict, now: datetime) -> dict:
    return {
        "source": item["source"],
        "external_id": str(item["external_id"]),
        "author_handle": item.get("author_handle") or "",
        "author_name": item.get("author_name") or "",
        "author_followers": item.get("author_followers"),
        "text": item["text"],
        "url": item.get("url") or "",
        "posted_at": item["posted_at"],
        "received_at": item.get("received_at") or now,
        "raw": item.get("raw") or {},
        "status": MentionStatus.RECEIVED,
        "error": "",
        "attempts": 0,
    }


def mention_fields() -> list:
    """Every stored column of Mention but the id, in a fixed order."""
    return db.columns(Mention)


def mention_values(rows: list[dict], fields: list) -> list[tuple]:
    """Database values for rows built by `mention_row`, in the order of `fields`."""
    return db.prepared_values(rows, fields)


def _insert_new(rows: list[dict]) -> dict[tuple[str, str], int]:
    """Insert rows, skipping (source, external_id) already stored. Returns the new rows' ids."""
    inserted = db.insert_new(Mention, rows, unique=("source", "external_id"), returning=("id", "source", "external_id"))
    return {(source, external_id): pk for pk, source, external_id in inserted}


def store_mentions(
    items: Iterable[dict], *, enqueue: bool = True, batch_size: int = 1000, savepoint: bool = True
) -> list[tuple[int, bool]]:
    """Store mentions; return (mention id, created) for each item, in order.

    Each item has the keys of `store_mention`. A repeat, within the batch or of a stored
    mention, gets the stored id and created=False. New mentions are enqueued for processing
    after the caller's transaction commits (robustly: if the broker is down they stay stored
    as `received` and the recovery task picks them up). `savepoint=False` spares the savepoint
    (two round trips) to a caller that wraps the call in an atomic block of its own and lets an
    error leave it, as `ingest_mentions` does.
    """
    items = list(items)
    now = timezone.now()
    results: list[tuple[int, bool]] = []
    with transaction.atomic(savepoint=savepoint):
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            keys = [(item["source"], str(item["external_id"])) for item in chunk]
            rows, seen = [], set()
            for item, key in zip(chunk, keys, strict=True):
                if key not in seen:
                    seen.add(key)
                    rows.append(mention_row(item, now))
            created = _insert_new(rows)
            missing = seen - created.keys()
            existing = _existing_ids(missing) if missing else {}
            claimed = set()
            for key in keys:
                mention_id = created.get(key)
                if mention_id is not None and key not in claimed:
                    claimed.add(key)
                    results.append((mention_id, True))
                else:
                    results.append((mention_id or existing[key], False))
            if enqueue and created:
                enqueue_processing(sorted(created.values()))
    return results


def _existing_ids(keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    by_source: dict[str, list[str]] = {}
    for source, external_id in keys:
        by_source.setdefault(source, []).append(external_id)
    found = {}
    for source, external_ids in by_source.items():
        for pk, external_id in Mention.objects.filter(source=source, external_id__in=external_ids).values_list(
            "id", "external_id"
        ):
            found[(source, external_id)] = pk
    return found


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
    """Store one mention; return (mention, created). A repeat returns the stored one untouched."""
    item = {
        "source": source, "external_id": external_id, "text": text, "posted_at": posted_at,
        "author_handle": author_handle, "author_name": author_name, "author_followers": author_followers,
        "url": url, "raw": raw, "received_at": received_at,
    }
    [(mention_id, created)] = store_mentions([item], enqueue=enqueue)
    return Mention.objects.get(pk=mention_id), created
