"""The fast path of storing a list: PostgreSQL's COPY staging, which must behave like the plain INSERT
(the field rules, and that they give what DRF gives, are tested in test_validation.py)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection, transaction

from feedback import db
from feedback.choices import Source
from feedback.intake import ingest
from feedback.intake.batch import CREATED, DUPLICATE, ERROR, ingest_mentions
from feedback.intake.ingest import store_mention, store_mentions
from feedback.intake.models import Mention

# --- Storing: the COPY staging on PostgreSQL behaves like the INSERT ----------------------------

POSTED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _item(external_id, **extra):
    return {"source": "x", "external_id": external_id, "text": "@airline hello", "posted_at": POSTED,
            "author_handle": "dana", **extra}


@pytest.fixture(params=["copy", "insert"])
def store_path(request, monkeypatch):
    """Each storing test runs through COPY staging (PostgreSQL) and through INSERT ... VALUES."""
    if request.param == "copy" and connection.vendor != "postgresql":
        pytest.skip("COPY staging is PostgreSQL's")
    monkeypatch.setattr(db, "COPY_MIN_ROWS", 1 if request.param == "copy" else 10**9)
    return request.param


@pytest.mark.django_db
def test_batches_report_created_and_duplicates_in_order(store_path, django_capture_on_commit_callbacks):
    store_mention(enqueue=False, **_item("a"))
    items = [_item(str(n)) for n in range(120)] + [_item("a"), _item("5"), _item("b")]
    with django_capture_on_commit_callbacks() as callbacks:
        outcome = store_mentions(items, enqueue=True, batch_size=50)
    assert [created for _, created in outcome] == [True] * 120 + [False, False, True]
    assert outcome[121][0] == outcome[5][0]
    assert outcome[120][0] == Mention.objects.get(external_id="a").pk
    ids = {external_id: pk for pk, external_id in Mention.objects.values_list("pk", "external_id")}
    assert [pk for pk, _ in outcome] == [ids[item["external_id"]] for item in items]
    assert Mention.objects.count() == 122
    assert len(callbacks) == 3  # one enqueue per batch of new mentions


@pytest.mark.django_db
def test_two_calls_in_one_transaction_do_not_mix(store_path):
    with transaction.atomic():
        first = store_mentions([_item(f"one-{n}") for n in range(60)], enqueue=False)
        second = store_mentions([_item(f"two-{n}") for n in range(60)] + [_item("one-3")], enqueue=False)
    assert all(created for _, created in first)
    assert [created for _, created in second] == [True] * 60 + [False]
    assert second[-1][0] == first[3][0]
    assert Mention.objects.count() == 120


@pytest.mark.django_db
def test_stored_values_are_the_same_whichever_path(store_path):
    naive = datetime(2026, 11, 20, 9, 0)  # made aware in the current time zone, as Django does
    offset = datetime(2026, 11, 20, 11, 30, tzinfo=timezone(timedelta(hours=2, minutes=30)))
    text = "@airline ✈️😡 رحلتي تأخرت — הטיסה בוטלה 🧳\ttab\nnewline \\ backslash"
    items = [
        _item("full", text=text, author_name="سارة", author_followers=42, url="https://x.com/s/1",
              raw={"note": "😀", "n": [1, None, True]}, received_at=offset),
        _item(7, author_followers=None),
        _item("naive", posted_at=naive),
        _item("enum", source=Source.X),
    ] + [_item(f"pad-{n}") for n in range(5)]
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        store_mentions(items, enqueue=False)
    full = Mention.objects.get(external_id="full")
    assert (full.text, full.author_name, full.author_followers, full.url) == (text, "سارة", 42, "https://x.com/s/1")
    assert full.raw == {"note": "😀", "n": [1, None, True]}
    assert full.received_at == offset and full.posted_at == POSTED
    assert (full.status, full.error, full.attempts, full.sentiment_label, full.customer_id) == ("received", "", 0, "",
                                                                                               None)
    assert Mention.objects.get(external_id="7").author_followers is None
    assert Mention.objects.get(external_id="naive").posted_at == POSTED  # the test settings' zone is UTC


@pytest.mark.django_db
def test_a_big_batch_stays_under_the_parameter_limit(store_path):
    outcome = store_mentions([_item(str(n)) for n in range(1600)], enqueue=False, batch_size=2000)
    assert all(created for _, created in outcome) and Mention.objects.count() == 1600


@pytest.mark.django_db
def test_a_refused_batch_falls_back_to_one_by_one(store_path):
    """A value the field rules do not see and the database refuses (here a CHECK constraint this test adds, in its
    own transaction: a NUL in `raw`, the example before, is now refused by the rules) costs that item only."""
    if connection.vendor != "postgresql":
        pytest.skip("the constraint is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {Mention._meta.db_table} ADD CONSTRAINT test_refuse CHECK (text <> 'refuse me')")
    items = [{"source": "x", "external_id": str(n), "text": "@airline my bag did not arrive",
              "posted_at": "2026-11-20T09:00:00Z", "author_handle": "dana"} for n in range(80)]
    items[40] = {**items[40], "text": "refuse me"}
    outcome = ingest_mentions(items=items, enqueue=False)
    kinds = [result.outcome for result in outcome.results]
    assert kinds == [CREATED] * 40 + [ERROR] + [CREATED] * 39
    assert outcome.results[40].fields["non_field_errors"][0].startswith("The database refused this mention")
    assert Mention.objects.count() == 79
    again = ingest_mentions(items=items[:3], enqueue=False)
    assert [result.outcome for result in again.results] == [DUPLICATE] * 3


@pytest.mark.django_db
def test_enqueue_sends_one_message_per_chunk(settings, task_queue, django_capture_on_commit_callbacks):
    """On the real broker (Redis in `make test`): one message per chunk of ids, after commit."""
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    chunk = ingest.PROCESS_CHUNK
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ingest.enqueue_processing(list(range(1, 2 * chunk + 2)))
        ingest.enqueue_processing([])
        assert task_queue.sent() == []  # nothing before the commit
    assert len(callbacks) == 1  # one send, through one producer
    sent = task_queue.sent()
    task_queue.purge()
    assert sent == [
        ("feedback.tasks.process_mentions", [list(range(1, chunk + 1))]),
        ("feedback.tasks.process_mentions", [list(range(chunk + 1, 2 * chunk + 1))]),
        ("feedback.tasks.process_mention", [2 * chunk + 1]),
    ]


@pytest.mark.django_db
def test_copy_and_insert_store_the_same_columns(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("COPY staging is PostgreSQL's")
    received = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    extra = {"author_name": "سارة", "author_followers": 3, "url": "https://x.com/s/1", "raw": {"k": [1, "é"]},
             "received_at": received, "text": "✈️ tab\there\nnew line \\ end"}
    monkeypatch.setattr(db, "COPY_MIN_ROWS", 1)
    store_mentions([_item(f"copy-{n}", **extra) for n in range(3)], enqueue=False)
    monkeypatch.setattr(db, "COPY_MIN_ROWS", 10**9)
    store_mentions([_item(f"insert-{n}", **extra) for n in range(3)], enqueue=False)
    columns = [field.attname for field in Mention._meta.concrete_fields if field.name not in ("id", "external_id")]
    by_path = {
        path: list(Mention.objects.filter(external_id__startswith=path).order_by("external_id").values_list(*columns))
        for path in ("copy-", "insert-")
    }
    assert by_path["copy-"] == by_path["insert-"]
    assert len(by_path["copy-"]) == 3
