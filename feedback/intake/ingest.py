"""Storing mentions: exactly once per (source, external_id), processing enqueued after commit.

`store_mentions` is the one write path for every source (API, webhooks, file imports); it
inserts a batch with `INSERT ... ON CONFLICT DO NOTHING RETURNING`, so a repeat, or the same
mention delivered twice at once, is stored once and the caller learns which rows are new.
"""

import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from feedback import dispatch
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
    return [field for field in Mention._meta.concrete_fields if not field.primary_key]


_encode_json = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(value, ensure_ascii=False), no setup per call

_PASS_THROUGH = {
    # Types psycopg adapts itself and that Django's preparation leaves as they are on PostgreSQL
    # (it only wraps ints in psycopg's sized int types, which pick the wire type, not the value).
    "CharField": (str,), "TextField": (str,), "URLField": (str,), "SlugField": (str,), "EmailField": (str,),
    "IntegerField": (int,), "SmallIntegerField": (int,), "BigIntegerField": (int,),
    "PositiveIntegerField": (int,), "PositiveSmallIntegerField": (int,), "PositiveBigIntegerField": (int,),
}


def _json_text(value) -> str:
    return "{}" if type(value) is dict and not value else _encode_json(value)


def _converter(field) -> tuple[tuple[type, ...], Callable[[Any], Any]]:
    """(types, convert) for `field`: a value of one of `types` goes to the database as it is, any
    other through `convert`; together, `field.get_db_prep_save(value, connection)` (for raw, the
    JSON text). On PostgreSQL, values psycopg adapts natively pass through, and an aware datetime
    becomes its ISO 8601 text in UTC (the same instant)."""
    if field.name == "raw":
        return (), _json_text
    prepare = field.get_db_prep_save

    def convert(value):
        return prepare(value, connection)

    if connection.vendor != "postgresql":
        return (), convert
    internal_type = field.get_internal_type()
    if internal_type == "DateTimeField":
        last = [None, None]  # the last datetime converted and its text: a batch shares its received_at

        def convert_datetime(value):
            if value is last[0]:
                return last[1]
            if type(value) is not datetime or value.utcoffset() is None:
                value = prepare(value, connection)  # naive (warns, made aware) or a string: Django's way
                if type(value) is not datetime or value.utcoffset() is None:
                    return value
            # Aware: Django keeps it as is; its text is several times cheaper for psycopg to pass on.
            text = (value.astimezone(UTC) if value.utcoffset() else value).isoformat()
            last[0], last[1] = value, text
            return text

        return (type(None),), convert_datetime
    return _PASS_THROUGH.get(internal_type, ()) + (type(None),), convert


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


def _records(rows: list[dict]) -> tuple[list, list[tuple], list, tuple]:
    """(fields, values, other fields, their values) for `rows`: the values of the rows' own keys,
    and one set of values for the columns they lack: their defaults, taken once for the batch (a
    callable default such as `list` is called once: every row gets the same database value).

    The values of `mention_values` (on PostgreSQL an aware datetime as its ISO 8601 text: the same
    instant), cheaper: rows from `mention_row` share keys, and the values of a row are taken at
    once and converted only where their types need it.
    """
    fields = mention_fields()
    keys = rows[0].keys()
    own = [field for field in fields if field.name in keys]
    rest = [field for field in fields if field.name not in keys]
    if len(own) < 2 or any(row.keys() != keys for row in rows):
        return fields, mention_values(rows, fields), [], ()
    plan = [_converter(field) for field in own]
    tail = tuple(mention_values([{}], rest)[0])
    take = itemgetter(*[field.name for field in own])
    conversions: dict[tuple[type, ...], list] = {}  # the row's value types -> [(position, convert)]
    values = []
    for row in rows:
        record = take(row)
        kinds = tuple(map(type, record))
        todo = conversions.get(kinds)
        if todo is None:
            todo = conversions[kinds] = [
                (position, convert)
                for position, (kind, (native, convert)) in enumerate(zip(kinds, plan, strict=True))
                # Django's text fields keep a str subclass (a TextChoices member) as it is, too
                if kind not in native and not (str in native and issubclass(kind, str))
            ]
        if todo:
            record = list(record)
            for position, convert in todo:
                record[position] = convert(record[position])
            record = tuple(record)
        values.append(record)
    return own, values, rest, tail


_STAGE = "baton_mention_stage"
# Above this many new rows PostgreSQL gets them by COPY into a temporary table and one
# INSERT ... SELECT; below it one INSERT ... VALUES (one round trip) is cheaper.
COPY_MIN_ROWS = 20


def _insert_new(rows: list[dict]) -> dict[tuple[str, str], int]:
    """Insert rows, skipping (source, external_id) already stored. Returns the new rows' ids."""
    if not rows:
        return {}
    fields, values, rest, tail = _records(rows)
    quote = connection.ops.quote_name
    table = quote(Mention._meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields + rest)
    conflict = " ON CONFLICT (source, external_id) DO NOTHING RETURNING id, source, external_id"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(rows) >= COPY_MIN_ROWS and hasattr(cursor.cursor, "copy"):
            return _copy_insert(cursor, table, [quote(field.column) for field in fields], values,
                                [quote(field.column) for field in rest], tail, conflict)
        created = {}
        width = len(fields) + len(rest)
        for start, count in _statement_slices(len(values), width):
            placeholders = "(" + ", ".join(["%s"] * width) + ")"
            sql = f"INSERT INTO {table} ({columns}) VALUES " + ", ".join([placeholders] * count) + conflict
            cursor.execute(sql, [value for record in values[start : start + count] for value in record + tail])
            created.update({(source, external_id): pk for pk, source, external_id in cursor.fetchall()})
        return created


def _statement_slices(rows: int, columns: int) -> list[tuple[int, int]]:
    """(start, count) per INSERT statement, keeping each under the database's parameter limit (SQLite's)."""
    limit = None
    if connection.vendor == "sqlite":
        import sqlite3

        raw = connection.connection
        limit = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if hasattr(raw, "getlimit") else 999
    per_statement = max(1, limit // columns) if limit else rows
    return [(start, min(per_statement, rows - start)) for start in range(0, rows, per_statement)]


def _copy_insert(
    cursor, table: str, columns: list[str], values: list[tuple], others: list[str], constants: tuple, conflict: str
) -> dict[tuple[str, str], int]:
    """PostgreSQL: COPY the rows into a session's temporary table (created once per session, emptied
    at commit), then move them with one INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING: the
    same statement semantics as INSERT ... VALUES, without a 20,000-parameter query to build and
    parse. The columns with one value for the whole batch (`others`) are parameters of the SELECT."""
    staged = ", ".join(columns)
    every = ", ".join(connection.ops.quote_name(field.column) for field in mention_fields())
    # One round trip: the stage (every column) exists, and is empty even if an earlier batch of
    # this transaction used it.
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} ON COMMIT DELETE ROWS AS SELECT {every} FROM {table} "
        f"WITH NO DATA; DELETE FROM {_STAGE}"
    )
    # psycopg's copy bypasses Django's cursor wrapper: map its errors (a NUL character...) to
    # django.db's DataError / IntegrityError like every other query.
    with connection.wrap_database_errors, cursor.cursor.copy(f"COPY {_STAGE} ({staged}) FROM STDIN") as copy:
        write_row = copy.write_row
        for record in values:
            write_row(record)
    selected = ", ".join(columns + ["%s"] * len(others))
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(columns + others)}) SELECT {selected} FROM {_STAGE}" + conflict,
        list(constants) or None,
    )
    return {(source, external_id): pk for pk, source, external_id in cursor.fetchall()}


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
