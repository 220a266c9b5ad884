"""The database fast paths: set-based writes that Django's ORM makes slow, behind two functions.

- `insert_new(model, rows, unique=..., returning=...)`: INSERT ... ON CONFLICT (unique) DO NOTHING
  RETURNING, so a row whose key is stored already (or repeats an earlier row of the batch) is
  skipped and the caller learns which rows are new. PostgreSQL, from `COPY_MIN_ROWS` rows on: COPY
  into a temporary table and one INSERT ... SELECT from it; below that, and on SQLite: multi-row
  INSERT ... VALUES statements (on SQLite, each under its parameter limit).
  The ORM's equivalent: `bulk_create(objs, ignore_conflicts=True)`, which cannot say what was new.
- `update_rows(model, objects, fields)`: the given fields of every object in one statement:
  UPDATE ... FROM (VALUES ...) with typed values on PostgreSQL, WITH v AS (VALUES ...) UPDATE ...
  FROM v on SQLite (3.33+). The ORM's equivalent: `bulk_update(objs, fields)`.
- `columns(model)` and `prepared_values(rows, fields)`: the columns `insert_new` writes and the
  database values it writes into them (for a bench that COPYs the same rows itself).

Values go through each field's own `get_db_prep_save`, as the ORM's do, except where a cheaper
route gives the database the same value (see `_converter`). tests/feedback/test_db.py runs every
path and the ORM on the same rows and compares what is stored, column by column.
"""

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from operator import itemgetter
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Field, Model

# PostgreSQL: a batch of at least this many rows goes by COPY into a temporary table and one
# INSERT ... SELECT; a smaller one by one INSERT ... VALUES (one round trip) which is cheaper there.
COPY_MIN_ROWS = 20


def columns(model: type[Model]) -> list[Field]:
    """Every stored column of `model` but its primary key, in a fixed order (the model's)."""
    return [field for field in model._meta.concrete_fields if not field.primary_key]


def prepared_values(rows: list[dict], fields: list[Field], *, using: str = DEFAULT_DB_ALIAS) -> list[tuple]:
    """The database values of `rows` (attribute name -> Python value: a foreign key as `customer_id`)
    in the order of `fields`: a field a row lacks takes its default. What `get_db_prep_save` gives, with JSON as its text, so
    that COPY can write it too."""
    connection = connections[using]
    values = []
    for row in rows:
        record = []
        for field in fields:
            value = row[field.attname] if field.attname in row else field.get_default()
            if _is_json(field):
                value = _json_encoder(field)(value)
            else:
                value = field.get_db_prep_save(value, connection)
            record.append(value)
        values.append(tuple(record))
    return values


def insert_new(
    model: type[Model],
    rows: list[dict],
    *,
    unique: Sequence[str],
    returning: Sequence[str] = ("id",),
    using: str = DEFAULT_DB_ALIAS,
) -> list[tuple]:
    """Insert `rows` into `model`'s table, skipping each row whose `unique` columns (a unique
    constraint's, in its order) equal a stored row's or an earlier row's of `rows` (the first one
    is stored). Returns the `returning` columns of the rows inserted, in no guaranteed order.

    `rows` are dicts of attribute name -> Python value (a foreign key as `customer_id`, its
    related row's primary key), best all with the same keys (a batch of `mention_row`s); a field
    a row lacks takes its default, taken once for the whole batch (a callable default such as
    `list` is called once: every row gets the same database value).
    Runs in one transaction (the caller's, when there is one). `save()`, signals and `auto_now`
    are not involved, as with `bulk_create`.
    """
    if not rows:
        return []
    connection = connections[using]
    fields, values, rest, tail = _records(model, rows, connection)
    quote = connection.ops.quote_name
    conflict = (f" ON CONFLICT ({', '.join(quote(model._meta.get_field(name).column) for name in unique)})"
                f" DO NOTHING RETURNING {', '.join(quote(model._meta.get_field(name).column) for name in returning)}")
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(rows) >= COPY_MIN_ROWS and hasattr(cursor.cursor, "copy"):
            return _copy_insert(model, cursor, connection, fields, values, rest, tail, conflict)
        return _values_insert(model, cursor, connection, fields + rest, [record + tail for record in values], conflict)


def update_rows(model: type[Model], objects: list, fields: list[str], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Write `fields` (field names) of each of `objects` (saved instances of `model`, each once) to
    its row in one statement: UPDATE ... FROM (VALUES ...).

    Django's `bulk_update` builds a CASE expression per field and row, which for a batch of a
    hundred mentions and twenty fields costs more Python time than the rest of the batch.
    PostgreSQL gets typed VALUES, each cast to its column's type without a length, so that a value
    too long for its column is refused as `save()` refuses it (`bulk_update` casts to varchar(n),
    which cuts it silently); SQLite (3.33+) a named CTE with UPDATE ... FROM, in statements under
    its parameter limit. `save()`, signals and `auto_now` are not involved.
    """
    if not objects:
        return
    connection = connections[using]
    meta = model._meta
    targets = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    pk = quote(meta.pk.column)
    names = ", ".join(quote(column.column) for column in targets)
    assignments = ", ".join(f"{quote(column.column)} = v.{quote(column.column)}" for column in targets)
    table = quote(meta.db_table)
    params = []
    for obj in objects:
        params.append(meta.pk.get_db_prep_save(obj.pk, connection))
        params.extend(column.get_db_prep_save(getattr(obj, column.attname), connection) for column in targets)
    width = len(targets) + 1
    if connection.vendor == "postgresql":
        types = [_cast_type(meta.pk, connection)] + [_cast_type(column, connection) for column in targets]
        row = "(" + ", ".join(f"%s::{kind}" for kind in types) + ")"
    else:
        row = "(" + ", ".join(["%s"] * width) + ")"
    with connection.cursor() as cursor:
        for start, count in _statement_slices(connection, len(objects), width):
            if connection.vendor == "postgresql":
                sql = (f"UPDATE {table} AS t SET {assignments} FROM (VALUES {', '.join([row] * count)}) "
                       f"AS v({pk}, {names}) WHERE t.{pk} = v.{pk}")
            else:
                sql = (f"WITH v({pk}, {names}) AS (VALUES {', '.join([row] * count)}) "
                       f"UPDATE {table} SET {assignments} FROM v WHERE {table}.{pk} = v.{pk}")
            cursor.execute(sql, params[start * width : (start + count) * width])


# --- Internals -------------------------------------------------------------------------------


def _cast_type(field: Field, connection) -> str:
    """The column's type without its length or precision: `varchar(20)` -> `varchar`. An
    explicit cast to varchar(20) would cut a longer text silently; the assignment then refuses it."""
    return re.sub(r"\(.*\)", "", field.db_type(connection)).strip()


def _is_json(field: Field) -> bool:
    return field.get_internal_type() == "JSONField"


_encode_json = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(value, ensure_ascii=False), no setup per call


def _json_encoder(field: Field) -> Callable[[Any], str | None]:
    """A JSON field's value as its text (None as SQL NULL, as `get_db_prep_save` has it), with the
    field's own encoder when it has one."""
    dumps = _encode_json if field.encoder is None else partial(json.dumps, cls=field.encoder, ensure_ascii=False)

    def to_text(value):
        if value is None:
            return None
        return "{}" if type(value) is dict and not value else dumps(value)

    return to_text


_PASS_THROUGH = {
    # Types psycopg adapts itself and that Django's preparation leaves as they are on PostgreSQL
    # (it only wraps ints in psycopg's sized int types, which pick the wire type, not the value).
    "CharField": (str,), "TextField": (str,), "URLField": (str,), "SlugField": (str,), "EmailField": (str,),
    "IntegerField": (int,), "SmallIntegerField": (int,), "BigIntegerField": (int,),
    "PositiveIntegerField": (int,), "PositiveSmallIntegerField": (int,), "PositiveBigIntegerField": (int,),
}


def _converter(field: Field, connection) -> tuple[tuple[type, ...], Callable[[Any], Any]]:
    """(types, convert) for `field`: a value of one of `types` goes to the database as it is, any
    other through `convert`; together, `field.get_db_prep_save(value, connection)` (for JSON, its
    text). On PostgreSQL, values psycopg adapts natively pass through, and an aware datetime
    becomes its ISO 8601 text in UTC (the same instant)."""
    if _is_json(field):
        return (), _json_encoder(field)
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


def _records(model: type[Model], rows: list[dict], connection) -> tuple[list, list[tuple], list, tuple]:
    """(fields, values, other fields, their values) for `rows`: the values of the rows' own keys,
    and one set of values for the columns they lack: their defaults, taken once for the batch.

    The values of `prepared_values` (on PostgreSQL an aware datetime as its ISO 8601 text: the same
    instant), cheaper: rows share keys, and the values of a row are taken at once and converted
    only where their types need it.
    """
    fields = columns(model)
    using = connection.alias
    keys = rows[0].keys()
    own = [field for field in fields if field.attname in keys]
    rest = [field for field in fields if field.attname not in keys]
    if len(own) < 2 or any(row.keys() != keys for row in rows):
        return fields, prepared_values(rows, fields, using=using), [], ()
    plan = [_converter(field, connection) for field in own]
    tail = tuple(prepared_values([{}], rest, using=using)[0])
    take = itemgetter(*[field.attname for field in own])
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


def _values_insert(model, cursor, connection, fields: list, values: list[tuple], conflict: str) -> list[tuple]:
    """INSERT ... VALUES (...), (...) ON CONFLICT ... RETURNING, in as few statements as the
    database's parameter limit allows (one on PostgreSQL)."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(field.column) for field in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    inserted = []
    for start, count in _statement_slices(connection, len(values), len(fields)):
        sql = f"INSERT INTO {table} ({names}) VALUES " + ", ".join([placeholders] * count) + conflict
        cursor.execute(sql, [value for record in values[start : start + count] for value in record])
        inserted.extend(cursor.fetchall())
    return inserted


def _statement_slices(connection, rows: int, columns: int) -> list[tuple[int, int]]:
    """(start, count) per statement, keeping each under the database's parameter limit (SQLite's)."""
    limit = None
    if connection.vendor == "sqlite":
        import sqlite3

        connection.ensure_connection()
        raw = connection.connection
        limit = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if hasattr(raw, "getlimit") else 999
    per_statement = max(1, limit // columns) if limit else rows
    return [(start, min(per_statement, rows - start)) for start in range(0, rows, per_statement)]


_ORDINAL = "baton_n"  # the stage's extra column: the row's place in the batch


def _stage_name(table: str, every: str) -> str:
    """The session's temporary table for `table`, named after its columns: a table that gained a
    column since the session created its stage gets a new stage."""
    return f"baton_stage_{table}_{hashlib.md5(every.encode()).hexdigest()[:8]}"


def _copy_insert(
    model, cursor, connection, fields: list, values: list[tuple], others: list, constants: tuple, conflict: str
) -> list[tuple]:
    """PostgreSQL: COPY the rows into a session's temporary table (created once per session, emptied
    at commit), then move them with one INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING, in
    the rows' order: the same statement semantics as INSERT ... VALUES, without a 20,000-parameter
    query to build and parse. The columns with one value for the whole batch (`others`) are
    parameters of the SELECT."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    staged = [quote(field.column) for field in fields]
    every = ", ".join(quote(field.column) for field in columns(model))
    stage = quote(_stage_name(model._meta.db_table, every))
    # One round trip: the stage (every column and the ordinal) exists, and is empty even if an
    # earlier batch of this transaction used it.
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS SELECT {every}, 0 AS {_ORDINAL} "
        f"FROM {table} WITH NO DATA; DELETE FROM {stage}"
    )
    # psycopg's copy bypasses Django's cursor wrapper: map its errors (a NUL character...) to
    # django.db's DataError / IntegrityError like every other query.
    with connection.wrap_database_errors, cursor.cursor.copy(
        f"COPY {stage} ({', '.join(staged)}, {_ORDINAL}) FROM STDIN"
    ) as copy:
        write_row = copy.write_row
        for position, record in enumerate(values):
            write_row((*record, position))
    selected = ", ".join(staged + ["%s"] * len(others))
    names = ", ".join(staged + [quote(field.column) for field in others])
    cursor.execute(
        f"INSERT INTO {table} ({names}) SELECT {selected} FROM {stage} ORDER BY {_ORDINAL}" + conflict,
        list(constants) or None,
    )
    return cursor.fetchall()
