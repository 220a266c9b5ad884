"""Many rows into one table on PostgreSQL by COPY: psycopg encodes COPY rows in C, where the arrays of an
INSERT ... SELECT FROM unnest(...) are built item by item in Python (in a CRM upsert of 1,000 new customers, that
cost more than the rest of its Python). `copy_rows` is PostgreSQL's path only: callers keep their own elsewhere.
"""

import json
from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import Model

COPY_MIN_ROWS = 20  # below this, one INSERT is as cheap (COPY takes a round trip more)


def copy_rows(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """COPY `rows` into `model`'s table: each a sequence of values for `columns` (attribute names: a foreign key
    as `customer_id`) as the ORM would save them on PostgreSQL (text, int, Decimal, aware datetime, None for
    NULL; a JSON field's value is written as its JSON text here). Nothing is skipped: a row breaking a
    constraint raises the IntegrityError an INSERT would. Not seen by Django's query wrappers (`connection.queries`,
    `django_assert_num_queries`)."""
    fields = [model._meta.get_field(name) for name in columns]
    quote = connection.ops.quote_name
    json_at = [position for position, field in enumerate(fields) if field.get_internal_type() == "JSONField"]
    encode = json.JSONEncoder(ensure_ascii=False).encode
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(
        f"COPY {quote(model._meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) FROM STDIN"
    ) as copy:
        write_row = copy.write_row
        for row in rows:
            if json_at:
                row = list(row)
                for position in json_at:
                    if row[position] is not None:
                        row[position] = encode(row[position])
            write_row(row)
