"""Storing mentions: exactly once per (source, external_id), processing enqueued after commit.

`store_mentions` is the one write path for every source (API, webhooks, file imports); it
inserts a batch with `INSERT ... ON CONFLICT DO NOTHING RETURNING`, so a repeat, or the same
mention delivered twice at once, is stored once and the caller learns which rows are new.
"""

import json
import logging
from collections.abc import Iterable
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from feedback.choices import MentionStatus
from feedback.models import Mention

logger = logging.getLogger(__name__)

# Processing is enqueued in chunks of this many ids: one task message per chunk.
PROCESS_CHUNK = 100



def enqueue_processing(mention_ids: list[int]) -> None:
    """One task message per chunk of ids: `process_mention` for one, `process_mentions` for more."""
    from feedback.tasks import process_mention, process_mentions  # tasks import services, not the reverse

    for start in range(0, len(mention_ids), PROCESS_CHUNK):
        chunk = mention_ids[start : start + PROCESS_CHUNK]
        if len(chunk) == 1:
            process_mention.delay(chunk[0])
        else:
            process_mentions.delay(chunk)


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
    return [field for field in Mention._meta.concrete_fields if not field.primary_key]


def mention_values(rows: list[dict], fields: list) -> list[tuple]:
    """Database values for rows built by `mention_row`, in the order of `fields` (also used by bench ingest's COPY)."""
    values = []
    for row in rows:
        record = []
        for field in fields:
            value = row[field.name] if field.name in row else field.get_default()
            if field.name == "raw":
                value = json.dumps(value, ensure_ascii=False)
            else:
                value = field.get_db_prep_save(value, connection)
            record.append(value)
        values.append(tuple(record))
    return values


def _insert_new(rows: list[dict]) -> dict[tuple[str, str], int]:
    """Insert rows, skipping (source, external_id) already stored. Returns the new rows' ids."""
    if not rows:
        return {}
    fields = mention_fields()
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {connection.ops.quote_name(Mention._meta.db_table)} ({columns}) VALUES "
        + ", ".join([placeholders] * len(rows))
        + " ON CONFLICT (source, external_id) DO NOTHING RETURNING id, source, external_id"
    )
    params = [value for record in mention_values(rows, fields) for value in record]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(source, external_id): pk for pk, source, external_id in cursor.fetchall()}


def store_mentions(items: Iterable[dict], *, enqueue: bool = True, batch_size: int = 1000) -> list[tuple[int, bool]]:
    """Store mentions; return (mention id, created) for each item, in order.

    Each item has the keys of `store_mention`. A repeat, within the batch or of a stored
    mention, gets the stored id and created=False. New mentions are enqueued for processing
    after the caller's transaction commits (robustly: if the broker is down they stay stored
    as `received` and the recovery task picks them up).
    """
    items = list(items)
    now = timezone.now()
    results: list[tuple[int, bool]] = []
    with transaction.atomic():
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            rows, seen = [], set()
            for item in chunk:
                key = (item["source"], str(item["external_id"]))
                if key not in seen:
                    seen.add(key)
                    rows.append(mention_row(item, now))
            created = _insert_new(rows)
            missing = seen - created.keys()
            existing = _existing_ids(missing) if missing else {}
            claimed = set()
            for item in chunk:
                key = (item["source"], str(item["external_id"]))
                if key in created and key not in claimed:
                    claimed.add(key)
                    results.append((created[key], True))
                else:
                    results.append((created.get(key) or existing[key], False))
            if enqueue and created:
                new_ids = sorted(created.values())
                transaction.on_commit(lambda ids=new_ids: enqueue_processing(ids), robust=True)
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
