"""The fast paths of storing a list: validation that gives exactly what DRF gives (or lets DRF
decide), and PostgreSQL's COPY staging, which must behave like the plain INSERT."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection, transaction
from rest_framework.exceptions import ValidationError

from feedback import db
from feedback.api.serializers import MentionInSerializer
from feedback.choices import Source
from feedback.intake import ingest
from feedback.intake.batch import (
    CREATED,
    DUPLICATE,
    ERROR,
    fast_validator,
    field_errors,
    ingest_mentions,
    validate_mentions,
)
from feedback.intake.ingest import store_mention, store_mentions
from feedback.intake.models import Mention

GOOD = {
    "source": "x",
    "external_id": "1",
    "text": "@airline my bag did not arrive",
    "posted_at": "2026-11-20T09:00:00Z",
    "author_handle": "dana",
}


def _variants() -> list:
    """Valid and invalid items, many of them at the edges of a rule."""
    changes = [
        {},
        {"posted_at": "2026-11-20T09:00:00+02:00"},
        {"posted_at": "2026-11-20T09:00:00.123456-05:30"},
        {"posted_at": "2026-11-20T09:00:00"},  # naive: DRF makes it aware
        {"posted_at": "2026-11-20"},
        {"posted_at": "2026-11-20 09:00Z"},
        {"posted_at": "20261120T090000Z"},
        {"posted_at": "not a date"},
        {"posted_at": ""},
        {"posted_at": None},
        {"posted_at": 1700000000},
        {"posted_at": "0001-01-01T00:00:00+01:00"},  # overflows in UTC
        {"posted_at": "9999-12-31T23:59:59-01:00"},
        {"external_id": "  padded  "},
        {"external_id": 12345},  # an int: DRF makes it a string
        {"external_id": 1.5},
        {"external_id": True},
        {"external_id": ""},
        {"external_id": "   "},
        {"external_id": None},
        {"external_id": "x" * 200},
        {"external_id": "x" * 201},
        {"external_id": " " + "x" * 200 + " "},  # too long only before trimming
        {"external_id": ["1"]},
        {"text": "nul \x00 inside"},
        {"text": "lone surrogate \ud800"},
        {"text": "@airline ✈️😡 رحلتي تأخرت مرة أخرى — הטיסה שלי בוטלה 🧳"},
        {"text": "\t\n @airline tabs and newlines \r\n"},
        {"text": "y" * 10_000},
        {"text": "y" * 10_001},
        {"source": "myspace"},
        {"source": "X"},
        {"source": ""},
        {"source": None},
        {"source": "api"},
        {"author_handle": ""},
        {"author_name": ""},
        {"author_name": "  Dana  "},
        {"author_name": None},
        {"author_name": 7},
        {"author_followers": 0},
        {"author_followers": 1234},
        {"author_followers": -1},
        {"author_followers": "12"},
        {"author_followers": "twelve"},
        {"author_followers": 12.0},
        {"author_followers": 12.5},
        {"author_followers": True},
        {"author_followers": None},
        {"author_followers": 10**30},
        {"url": ""},
        {"url": "  "},
        {"url": None},
        {"url": "https://x.com/dana/status/1"},
        {"url": " https://x.com/dana/status/1 "},
        {"url": "not a url"},
        {"url": "ftp://example.com/file"},
        {"url": "https://example.com/" + "a" * 500},
        {"raw": {}},
        {"raw": {"id": 1, "nested": {"list": [1, 2.5, None, True, "é"]}}},
        {"raw": []},
        {"raw": "a string"},
        {"raw": 0},
        {"raw": None},
        {"raw": {"when": datetime(2026, 1, 1)}},  # not JSON
        {"unknown_key": "ignored"},
        {"id": 99, "status": "processed"},
    ]
    items = [{**GOOD, **change} for change in changes]
    for key in ("source", "external_id", "text", "posted_at", "author_handle", "author_name", "author_followers",
                "url", "raw"):
        items.append({k: v for k, v in GOOD.items() if k != key})
    items += [{}, [], None, "a string", 5]
    return items


def _drf(serializer, item):
    try:
        return serializer.run_validation(item), None
    except ValidationError as exc:
        return None, field_errors(exc.detail)


def test_the_fast_path_gives_what_drf_gives_or_defers():
    serializer = MentionInSerializer()
    fast = fast_validator(serializer)
    assert fast is not None
    decided = 0
    for item in _variants():
        expected, errors = _drf(serializer, item) if isinstance(item, dict) else (None, "not a mapping")
        got = fast(item)
        if got is None:
            continue
        decided += 1
        assert errors is None, (item, errors)
        assert list(got) == list(expected), item
        for key in expected:
            assert got[key] == expected[key], (item, key)
            assert type(got[key]) is type(expected[key]), (item, key)
            if isinstance(expected[key], datetime):
                assert got[key].tzinfo == expected[key].tzinfo and got[key].utcoffset() == expected[key].utcoffset()
    assert decided >= 30  # the fast path does take the well-formed items


def test_the_fast_path_takes_plain_items_and_returns_fresh_defaults():
    fast = fast_validator(MentionInSerializer())
    first, second = fast(dict(GOOD)), fast(dict(GOOD))
    assert first is not None and second is not None
    assert first["raw"] == {} and first["raw"] is not second["raw"]
    assert first["posted_at"] == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert fast({**GOOD, "posted_at": "2026-11-20T11:00:00+02:00"})["posted_at"].utcoffset() == timedelta(0)


def test_validate_mentions_matches_drf_item_by_item():
    items = _variants()
    serializer = MentionInSerializer()
    expected = []
    for item in items:
        if isinstance(item, dict):
            expected.append(_drf(serializer, item))
        else:
            expected.append(None)
    for item, want, (data, errors) in zip(items, expected, validate_mentions(items=items), strict=True):
        if want is None:
            assert data is None and "non_field_errors" in errors
        else:
            assert (data, errors) == want, item


class _StrictSerializer(MentionInSerializer):
    def validate(self, attrs):
        return attrs


def test_a_serializer_with_rules_of_its_own_gets_no_fast_path():
    assert fast_validator(_StrictSerializer()) is None


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
    if connection.vendor != "postgresql":
        pytest.skip("SQLite stores a NUL character")
    items = [{**GOOD, "external_id": str(n)} for n in range(80)]
    items[40] = {**items[40], "raw": {"note": "bad\x00byte"}}
    outcome = ingest_mentions(items=items, enqueue=False)
    kinds = [result.outcome for result in outcome.results]
    assert kinds == [CREATED] * 40 + [ERROR] + [CREATED] * 39
    assert outcome.results[40].fields["non_field_errors"][0].startswith("The database refused this mention")
    assert Mention.objects.count() == 79
    again = ingest_mentions(items=items[:3], enqueue=False)
    assert [result.outcome for result in again.results] == [DUPLICATE] * 3


def test_enqueue_sends_one_message_per_chunk(settings):
    """On the real broker (Redis in `make test`): one message per chunk of ids, through one producer."""
    import base64
    import json

    import redis

    from config.celery import app

    assert settings.CELERY_BROKER_URL.startswith("redis://")
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("celery")
    chunk = ingest.PROCESS_CHUNK
    ingest.enqueue_processing(list(range(1, 2 * chunk + 2)))
    ingest.enqueue_processing([])
    sent = []
    for raw in reversed(broker.lrange("celery", 0, -1)):  # kombu pushes on the left
        message = json.loads(raw)
        args, _, _ = json.loads(base64.b64decode(message["body"]))
        sent.append((message["headers"]["task"], args))
    broker.delete("celery")
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
