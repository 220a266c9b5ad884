"""feedback.db's fast paths store what the ORM stores.

Each path runs on the same rows as its plain ORM equivalent, from the same starting rows, and the
stored rows are compared column by column:
- `insert_new` against `bulk_create(ignore_conflicts=True)`: PostgreSQL's COPY stage and its
  INSERT ... VALUES (the path is picked by the batch's size against COPY_MIN_ROWS, and the queries
  show which ran), and the SQLite dialect on an in-memory SQLite database through Django's own
  SQLite backend (the test database is PostgreSQL);
- `update_rows` against `bulk_update`: PostgreSQL's typed UPDATE ... FROM (VALUES ...) and the
  SQLite dialect, likewise.
"""

import sqlite3
import warnings
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import DataError, IntegrityError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from customers.models import Customer
from feedback import db
from feedback.choices import Intent, MentionStatus, Source
from feedback.intake.models import Mention
from feedback.sla.models import SlaClock
from tests.factories import SlaClockFactory

pytestmark = pytest.mark.django_db

RECEIVED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LONG_TEXT = "".join(chr(cp) for cp in range(1, 0x2FF) if cp not in (0xD800,)) * 120  # ~90,000 chars, no NUL
UNICODE = "@airline ✈️😡 رحلتي تأخرت — הטיסה בוטלה 🧳 e\u0301 \u200b zero-width\ttab\nnewline\r\\ backslash \\N"
COLUMNS = [field.attname for field in db.columns(Mention)]


def _row(external_id, **extra) -> dict:
    """A row as `mention_row` builds it: every row of a batch has the same keys."""
    return {
        "source": "x", "external_id": external_id, "author_handle": "dana", "author_name": "", "author_followers": None,
        "text": "@airline hello", "url": "", "posted_at": RECEIVED, "received_at": RECEIVED, "raw": {},
        "status": MentionStatus.RECEIVED, "error": "", "attempts": 0, "customer_id": None, **extra,
    }


def _rows(customer_id=None) -> list[dict]:
    """Rows at the edges: NULLs, JSON, unicode, long text, zoned and naive timestamps, str
    subclasses, repeats inside the batch and of stored rows."""
    return [
        _row("plain"),
        _row("nulls", author_followers=None, url="", author_name=""),
        _row("zero", author_followers=0),
        _row("big", author_followers=2_147_483_647),
        _row("unicode", text=UNICODE, author_name="سارة 🧳", author_handle="דנה"),
        _row("long", text=LONG_TEXT),
        _row("json-nested", raw={"note": "😀 é", "n": [1, 2.5, None, True, False, "x"], "deep": {"a": {"b": []}}}),
        _row("json-list", raw=[1, "two", {"three": 3}]),
        _row("json-scalar", raw="just a string"),
        _row("json-zero", raw=0),
        _row("json-escapes", raw={"tab\t": "new\nline \\ \" quote", "\u2028": "sep"}),
        _row("zone-plus", posted_at=datetime(2026, 11, 20, 11, 30, 15, 123456,
                                             tzinfo=timezone(timedelta(hours=5, minutes=30)))),
        _row("zone-minus", posted_at=datetime(2026, 3, 8, 1, 59, 59, tzinfo=timezone(timedelta(hours=-8))),
             received_at=datetime(2026, 3, 8, 2, 0, tzinfo=timezone(timedelta(hours=-7)))),
        _row("zone-far", posted_at=datetime(1, 1, 2, 0, 0, tzinfo=UTC)),
        _row("choices", source=Source.FACEBOOK, status=MentionStatus.RECEIVED),
        _row("error", status="failed", error="x" * 5000, attempts=32767),
        _row("customer", customer_id=customer_id),
        _row("unicode", text="a repeat inside the batch: the first is kept"),
        _row("stored-1", text="a repeat of a stored row: the stored one is kept"),
        _row("plain", author_followers=99),
        _row("stored-2", source="x", text="new text for a stored key"),
        _row("stored-2", source="facebook", text="same id, another source: new"),
    ]


def _stored_before() -> list[dict]:
    return [_row("stored-1", text="stored first", raw={"kept": True}), _row("stored-2", author_followers=7)]


def _snapshot(using="default") -> dict:
    """Every stored mention's columns by (source, external_id), as the ORM reads them back."""
    return {(row["source"], row["external_id"]): row for row in Mention.objects.using(using).values("id", *COLUMNS)}


def _run(insert, rows, *, using="default") -> tuple[dict, set]:
    """Store the rows that exist already, run `insert`, snapshot; then undo it all. Returns the
    snapshot and the keys `insert` reported as new."""
    sid = transaction.savepoint(using=using)
    try:
        Mention.objects.using(using).bulk_create([Mention(**row) for row in _stored_before()])
        before = set(_snapshot(using))
        new = insert(rows)
        after = _snapshot(using)
        return after, (set(after) - before if new is None else new)
    finally:
        transaction.savepoint_rollback(sid, using=using)


def _orm(using="default"):
    def insert(rows):
        Mention.objects.using(using).bulk_create([Mention(**row) for row in rows], ignore_conflicts=True)
        return None  # the ORM cannot say which rows were new: the snapshots do

    return insert


def _fast(using="default"):
    def insert(rows):
        inserted = db.insert_new(Mention, rows, unique=("source", "external_id"),
                                 returning=("id", "source", "external_id"), using=using)
        stored = _snapshot(using)
        for pk, source, external_id in inserted:
            assert stored[(source, external_id)]["id"] == pk, "the returned id is the stored row's"
        return {(source, external_id) for _, source, external_id in inserted}

    return insert


def _assert_same(fast: dict, orm: dict) -> None:
    assert fast.keys() == orm.keys()
    for key in orm:
        for column in COLUMNS:
            assert fast[key][column] == orm[key][column], (key, column)
            assert type(fast[key][column]) is type(orm[key][column]), (key, column)


@pytest.fixture(params=["copy", "values"])
def pg_path(request):
    return request.param


def _paths(queries) -> set[str]:
    """Which insert_new paths the captured queries show: "copy" (the stage), "values"."""
    sqls = [query["sql"] for query in queries.captured_queries]
    paths = set()
    if any("CREATE TEMP TABLE" in sql for sql in sqls):
        paths.add("copy")
    if any(sql.startswith("INSERT INTO") and " VALUES " in sql and "ON CONFLICT" in sql for sql in sqls):
        paths.add("values")
    return paths


def _sized(rows: list[dict], path: str) -> list[dict]:
    """Pick the path by size: at least COPY_MIN_ROWS rows go by COPY, fewer by INSERT ... VALUES."""
    if path == "copy":
        assert len(rows) >= db.COPY_MIN_ROWS
        return rows
    return rows[: db.COPY_MIN_ROWS - 1]


# --- insert_new on PostgreSQL ----------------------------------------------------------------


def test_insert_new_stores_what_bulk_create_stores(pg_path, monkeypatch):
    """Every edge row through the path under test; for the VALUES path COPY_MIN_ROWS is raised
    above the batch, so the same rows go through it."""
    customer = Customer.objects.create(external_id="db-test", name="Dana")
    rows = _rows(customer.pk)
    assert len(rows) >= db.COPY_MIN_ROWS
    if pg_path == "values":
        monkeypatch.setattr(db, "COPY_MIN_ROWS", len(rows) + 1)
    with CaptureQueriesContext(connection) as queries:
        fast, fast_new = _run(_fast(), rows)
    assert _paths(queries) == {pg_path}
    orm, orm_new = _run(_orm(), rows)
    _assert_same(fast, orm)
    assert fast_new == orm_new
    assert ("x", "stored-1") not in fast_new and fast[("x", "stored-1")]["text"] == "stored first"
    assert fast[("x", "stored-2")]["author_followers"] == 7
    assert fast[("facebook", "stored-2")]["text"] == "same id, another source: new"
    assert fast[("x", "unicode")]["text"] == UNICODE  # the first of the batch's repeats
    assert fast[("x", "plain")]["author_followers"] is None
    assert fast[("x", "long")]["text"] == LONG_TEXT
    assert fast[("x", "customer")]["customer_id"] == customer.pk
    assert len(fast_new) == len({(row["source"], row["external_id"]) for row in rows}) - 2


def test_the_batch_size_picks_the_path(pg_path):
    rows = _sized([_row(f"n-{n}") for n in range(db.COPY_MIN_ROWS)], pg_path)
    with CaptureQueriesContext(connection) as queries:
        fast, fast_new = _run(_fast(), rows)
    assert _paths(queries) == {pg_path}
    orm, orm_new = _run(_orm(), rows)
    _assert_same(fast, orm)
    assert fast_new == orm_new and len(fast_new) == len(rows)


def test_insert_new_of_rows_with_different_keys_and_defaults(pg_path):
    """Rows that lack fields get their defaults (the fallback that converts every value)."""
    rows = [{"source": "x", "external_id": f"k-{n}", "text": "t", "posted_at": RECEIVED, "received_at": RECEIVED,
             **({"author_followers": n} if n % 2 else {"raw": {"n": n}, "sentiment": n / 3, "is_complaint": None})}
            for n in range(db.COPY_MIN_ROWS)]
    rows = _sized(rows, pg_path)
    fast, fast_new = _run(_fast(), rows)
    orm, orm_new = _run(_orm(), rows)
    _assert_same(fast, orm)
    assert fast_new == orm_new
    assert fast[("x", "k-2")]["sentiment"] == 2 / 3 and fast[("x", "k-2")]["corrected_labels"] == []


def test_insert_new_with_naive_timestamps_warns_as_the_orm_does(pg_path):
    rows = _sized([_row(f"naive-{n}", posted_at=datetime(2026, 11, 20, 9, n)) for n in range(db.COPY_MIN_ROWS)],
                  pg_path)
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        fast, _ = _run(_fast(), rows)
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        orm, _ = _run(_orm(), rows)
    _assert_same(fast, orm)
    assert fast[("x", "naive-1")]["posted_at"] == datetime(2026, 11, 20, 9, 1, tzinfo=UTC)  # the settings' zone


@pytest.mark.parametrize(("change", "error"), [
    ({"source": "s" * 21}, DataError),  # longer than the column
    ({"raw": None}, IntegrityError),  # SQL NULL into a NOT NULL JSON column
    ({"author_followers": -1}, IntegrityError),  # the positive check
])
def test_insert_new_refuses_what_the_orm_refuses(pg_path, change, error):
    rows = _sized([_row(f"bad-{n}", **(change if n == 3 else {})) for n in range(db.COPY_MIN_ROWS)], pg_path)
    for insert in (_fast(), _orm()):
        with pytest.raises(error), transaction.atomic():
            insert(rows)
    assert not Mention.objects.exists()


def test_insert_new_of_nothing():
    assert db.insert_new(Mention, [], unique=("source", "external_id")) == []


def test_the_copy_stage_is_emptied_between_batches_of_one_transaction():
    with transaction.atomic():
        first = db.insert_new(Mention, [_row(f"a-{n}") for n in range(30)], unique=("source", "external_id"))
        second = db.insert_new(Mention, [_row(f"b-{n}") for n in range(25)], unique=("source", "external_id"))
    assert len(first) == 30 and len(second) == 25 and Mention.objects.count() == 55


def test_prepared_values_are_what_get_db_prep_save_gives():
    fields = db.columns(Mention)
    row = _row("p", raw={"é": [1, None]}, posted_at=datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=1))))
    [values] = db.prepared_values([row], fields)
    by_name = dict(zip([field.attname for field in fields], values, strict=True))
    assert by_name["raw"] == '{"é": [1, null]}'
    assert by_name["corrected_labels"] == "[]"  # the default, as JSON text
    assert by_name["posted_at"] == row["posted_at"]
    assert by_name["processed_at"] is None and by_name["customer_id"] is None
    assert [field.attname for field in fields] == [f.attname for f in Mention._meta.concrete_fields if f.name != "id"]


# --- update_rows on PostgreSQL ---------------------------------------------------------------

UPDATED = ["status", "processed_at", "error", "attempts", "sentiment", "sentiment_label", "intent", "is_complaint",
           "complaint_confidence", "language", "raw", "corrected_labels", "customer", "text", "author_followers"]


def _changes(customer_id) -> list[dict]:
    return [
        {"status": MentionStatus.PROCESSED, "processed_at": datetime(2026, 11, 20, 10, 0, 0, 1, tzinfo=UTC),
         "sentiment": -0.7071067811865476, "sentiment_label": "negative", "intent": Intent.COMPLAINT,
         "is_complaint": True, "complaint_confidence": 1e-300, "language": "en", "customer_id": customer_id,
         "corrected_labels": ["intent", "é"]},
        {"status": "failed", "error": UNICODE, "attempts": 32767, "is_complaint": False, "sentiment": 0.0,
         "processed_at": datetime(2026, 11, 20, 12, 0, tzinfo=timezone(timedelta(hours=-9, minutes=-30)))},
        {"raw": {"nested": {"list": [1, 2.5, None, True]}, "quote": "\"\\"}, "text": LONG_TEXT, "language": "",
         "author_followers": None, "sentiment": None, "is_complaint": None, "customer_id": None},
        {"raw": [], "corrected_labels": [], "text": "", "processed_at": None, "intent": ""},
        {},  # written back unchanged
    ]


def _seed_for_update(using="default") -> list[Mention]:
    manager = Mention.objects.using(using)
    manager.bulk_create([Mention(**_row(f"u-{n}", sentiment=0.5, is_complaint=True, customer_id=None,
                                        raw={"before": n})) for n in range(5)])
    return list(manager.order_by("external_id"))


def _update(update, *, customer_id, using="default") -> dict:
    sid = transaction.savepoint(using=using)
    try:
        mentions = _seed_for_update(using)
        for mention, change in zip(mentions, _changes(customer_id), strict=True):
            for name, value in change.items():
                setattr(mention, name, value)
        update(mentions)
        return _snapshot(using)
    finally:
        transaction.savepoint_rollback(sid, using=using)


def test_update_rows_writes_what_bulk_update_writes():
    customer_id = Customer.objects.create(external_id="db-update", name="Dana").pk
    with CaptureQueriesContext(connection) as queries:
        fast = _update(lambda objs: db.update_rows(Mention, objs, UPDATED), customer_id=customer_id)
    assert len([q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]) == 1
    orm = _update(lambda objs: Mention.objects.bulk_update(objs, UPDATED), customer_id=customer_id)
    _assert_same(fast, orm)
    assert fast[("x", "u-0")]["customer_id"] == customer_id and fast[("x", "u-2")]["text"] == LONG_TEXT
    assert fast[("x", "u-1")]["processed_at"] == datetime(2026, 11, 20, 21, 30, tzinfo=UTC)


def test_update_rows_refuses_a_too_long_value_as_save_does():
    """Where the ORM's two ways differ, update_rows takes save()'s: bulk_update casts each value to
    varchar(8) on PostgreSQL, which cuts a longer text silently."""
    mentions = _seed_for_update()
    mentions[2].language = "x" * 9  # max_length 8
    for update in (lambda: db.update_rows(Mention, mentions, ["language"]),
                   lambda: mentions[2].save(update_fields=["language"])):
        with pytest.raises(DataError), transaction.atomic():
            update()
    assert set(Mention.objects.values_list("language", flat=True)) == {""}
    Mention.objects.bulk_update(mentions, ["language"])
    assert Mention.objects.get(pk=mentions[2].pk).language == "x" * 8  # what update_rows does not copy


def test_update_rows_on_clocks_as_the_sla_sweep_writes_them():
    clocks = [SlaClockFactory() for _ in range(3)]
    fields = ["next_level", "next_escalation_at", "warned_at", "breached_at", "escalation_level", "remaining_minutes"]
    when = datetime(2026, 11, 20, 9, 0, tzinfo=timezone(timedelta(hours=1)))

    def run(update):
        sid = transaction.savepoint()
        try:
            mine = list(SlaClock.objects.filter(pk__in=[clock.pk for clock in clocks]).order_by("pk"))
            mine[0].next_level, mine[0].next_escalation_at, mine[0].warned_at = 2, when, when
            mine[1].next_level, mine[1].next_escalation_at, mine[1].breached_at, mine[1].escalation_level = (
                None, None, when, 2)
            mine[2].remaining_minutes = 12.5
            update(mine)
            return list(SlaClock.objects.filter(pk__in=[clock.pk for clock in clocks]).order_by("pk").values())
        finally:
            transaction.savepoint_rollback(sid)

    fast = run(lambda objs: db.update_rows(SlaClock, objs, fields))
    assert fast == run(lambda objs: SlaClock.objects.bulk_update(objs, fields))
    assert fast[1]["breached_at"] == when and fast[1]["next_level"] is None and fast[2]["remaining_minutes"] == 12.5


def test_update_rows_of_nothing():
    with CaptureQueriesContext(connection) as queries:
        db.update_rows(Mention, [], ["text"])
    assert queries.captured_queries == []


# --- The SQLite dialects, through Django's SQLite backend on an in-memory database -----------

SQLITE = "fastpath_sqlite"


@pytest.fixture
def sqlite_db():
    """An in-memory SQLite database with the Mention table, as the alias SQLITE; its parameter
    limit is lowered so that a batch needs several statements. The tables Mention refers to are not
    there, so foreign keys are not enforced (SQLite checks that the table exists even for NULL)."""
    from django.db.backends.sqlite3.base import DatabaseWrapper

    settings = connections.configure_settings({"default": {"ENGINE": "django.db.backends.sqlite3",
                                                           "NAME": ":memory:"}})["default"]
    wrapper = DatabaseWrapper(settings, alias=SQLITE)
    connections[SQLITE] = wrapper
    try:
        with wrapper.schema_editor() as editor:
            editor.create_model(Mention)
        wrapper.disable_constraint_checking()
        # Django's SQLite backend assumes 999 for its own batches (max_query_params)
        wrapper.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
        assert wrapper.vendor == "sqlite"
        yield SQLITE
    finally:
        wrapper.close()
        del connections[SQLITE]


def test_sqlite_insert_new_stores_what_bulk_create_stores(sqlite_db):
    rows = _rows() + [_row(f"pad-{n}") for n in range(30)]
    with transaction.atomic(using=sqlite_db), warnings.catch_warnings():
        warnings.simplefilter("error")  # no naive datetime among these rows
        with CaptureQueriesContext(connections[sqlite_db]) as queries:
            fast, fast_new = _run(_fast(sqlite_db), rows, using=sqlite_db)
        orm, orm_new = _run(_orm(sqlite_db), rows, using=sqlite_db)
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT INTO") and "ON CONFLICT" in q["sql"]]
    per_statement = 999 // len(COLUMNS)
    assert len(rows) > per_statement and len(inserts) == -(-len(rows) // per_statement), "under the limit"
    _assert_same(fast, orm)
    assert fast_new == orm_new and fast[("x", "unicode")]["text"] == UNICODE
    assert fast[("x", "stored-1")]["text"] == "stored first"


def test_sqlite_insert_new_with_naive_timestamps_and_different_keys(sqlite_db):
    rows = [{"source": "x", "external_id": f"k-{n}", "text": "t", "received_at": RECEIVED,
             "posted_at": datetime(2026, 11, 20, 9, n), **({"raw": [n]} if n % 2 else {})} for n in range(8)]
    with transaction.atomic(using=sqlite_db), pytest.warns(RuntimeWarning, match="naive datetime"):
        fast, fast_new = _run(_fast(sqlite_db), rows, using=sqlite_db)
        orm, orm_new = _run(_orm(sqlite_db), rows, using=sqlite_db)
    _assert_same(fast, orm)
    assert fast_new == orm_new and fast[("x", "k-3")]["raw"] == [3]


def test_sqlite_update_rows_writes_what_bulk_update_writes(sqlite_db):
    with transaction.atomic(using=sqlite_db):
        with CaptureQueriesContext(connections[sqlite_db]) as queries:
            fast = _update(lambda objs: db.update_rows(Mention, objs, UPDATED, using=sqlite_db), customer_id=None,
                           using=sqlite_db)
        orm = _update(lambda objs: Mention.objects.using(sqlite_db).bulk_update(objs, UPDATED), customer_id=None,
                      using=sqlite_db)
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("WITH v(")]
    assert len(updates) == 1 and "UPDATE" in updates[0]
    _assert_same(fast, orm)
    assert fast[("x", "u-1")]["error"] == UNICODE and fast[("x", "u-2")]["raw"]["quote"] == "\"\\"
