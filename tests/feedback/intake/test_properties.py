"""Property tests (hypothesis): whatever a client, a platform or a file sends, the field rules, the webhook
parsers, the CSV importer and the query-parameter parsing answer with a value or a reason, never an exception;
and what the field rules accept, PostgreSQL stores."""

import csv
import io
import json
import string
from datetime import datetime

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.query import MAX_ID, parse_int
from feedback.intake import validation
from feedback.intake.batch import ingest_mentions
from feedback.intake.imports import CsvReader, RowError, import_file
from feedback.intake.models import Account, InboundPayload, Mention
from feedback.intake.webhooks import meta, x
from feedback.intake.webhooks.events import (
    BrandReply,
    EditMention,
    Ignored,
    NewMention,
    Rejected,
    RemoveMention,
    UnknownShape,
)
from feedback.intake.webhooks.services import parse_payload

EVENT_TYPES = (NewMention, EditMention, RemoveMention, BrandReply, Ignored, Rejected)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DB_PROPERTY = settings(max_examples=40, deadline=None,
                       suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# Text with what breaks databases and parsers: NUL, lone surrogates, right-to-left marks, emoji, long runs.
nasty_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(["\x00", "\ud800", "\u202e", "😡", "²", " ", "a", "\n"]), max_size=20),
    st.integers(min_value=0, max_value=12_000).map(lambda n: "w" * n),
    st.sampled_from(["", "   ", "https://x.com/a/status/1", "javascript:alert(1)", "²", "12.0", "1e3"]),
)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), nasty_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(nasty_text, children, max_size=4)),
    max_leaves=20,
)
mention_items = st.fixed_dictionaries(
    {},
    optional={
        "source": st.one_of(st.sampled_from(validation.SOURCES), json_scalars),
        "external_id": st.one_of(nasty_text, json_scalars),
        "text": st.one_of(nasty_text, json_scalars),
        "posted_at": st.one_of(st.sampled_from(["2026-11-20T09:00:00Z", "2026-11-20 09:00", "yesterday",
                                                "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00"]),
                               json_scalars),
        "author_handle": st.one_of(nasty_text, json_scalars),
        "author_name": st.one_of(nasty_text, json_scalars),
        "author_followers": st.one_of(st.integers(min_value=-(2**64), max_value=2**64), json_scalars),
        "url": st.one_of(nasty_text, json_scalars),
        "raw": json_values,
    },
)


# --- The field rules ----------------------------------------------------------------------------------


def _satisfies_the_limits(data: dict) -> None:
    for name, longest in validation.MAX_LENGTH.items():
        assert isinstance(data[name], str) and len(data[name]) <= longest and "\x00" not in data[name]
        data[name].encode("utf-8")  # no lone surrogate
    assert data["source"] in validation.SOURCES
    assert data["external_id"] and data["text"] and data["author_handle"]
    assert data["author_followers"] is None or validation.FOLLOWERS_MIN <= data["author_followers"] <= validation.FOLLOWERS_MAX
    assert isinstance(data["posted_at"], datetime) and data["posted_at"].utcoffset() is not None
    text = json.dumps(data["raw"], ensure_ascii=False, allow_nan=False)
    assert len(text) <= validation.RAW_MAX_CHARS
    text.encode("utf-8")  # no lone surrogate, keys included
    assert all("\x00" not in string for string in _strings(data["raw"]))


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [*value, *(string for child in value.values() for string in _strings(child))]
    if isinstance(value, list):
        return [string for child in value for string in _strings(child)]
    return [value] if isinstance(value, str) else []


@PROPERTY
@given(item=st.one_of(mention_items, json_values))
def test_the_field_rules_answer_every_item_with_data_or_field_messages(item):
    data, errors = validation.validate_mention(item)
    assert (data is None) != (errors is None)
    if errors is not None:
        assert errors and all(isinstance(messages, list) and messages for messages in errors.values())
        assert all(isinstance(message, str) for messages in errors.values() for message in messages)
    else:
        _satisfies_the_limits(data)


@pytest.mark.django_db
@DB_PROPERTY
@given(items=st.lists(mention_items, min_size=1, max_size=5))
def test_what_the_rules_accept_postgresql_stores(items):
    """No item the rules accept is refused by the database (the bulk path would fall back to one by one and
    report it; here it must never come to that)."""
    with transaction.atomic():
        outcome = ingest_mentions(items=items, enqueue=False)
        for result, (_data, errors) in zip(outcome.results, validation.validate_mentions(items), strict=True):
            assert (result.outcome == "error") == (errors is not None), (result, errors)
        transaction.set_rollback(True)


# --- The webhook parsers -------------------------------------------------------------------------------


def _tweet(fields: dict) -> dict:
    return {"id_str": "1", "text": "@SkyJet hi", "created_at": "Wed Nov 18 09:12:44 +0000 2026",
            "user": {"id_str": "9", "screen_name": "dana", "followers_count": 3}, **fields}


tweet_fields = st.dictionaries(
    st.sampled_from(["id_str", "id", "text", "full_text", "created_at", "timestamp_ms", "user", "extended_tweet",
                     "in_reply_to_status_id_str", "retweeted_status", "is_quote_status"]),
    json_values, max_size=4,
)


@PROPERTY
@given(data=st.one_of(
    json_values,
    st.fixed_dictionaries({"for_user_id": json_values},
                          optional={"tweet_create_events": json_values, "tweet_delete_events": json_values,
                                    "favorite_events": json_values}),
))
def test_the_x_parser_refuses_only_a_payload_of_the_wrong_shape(data):
    try:
        events = x.parse(data, brand_ids={"2244994945"}, brand_handles={"skyjet"})
    except UnknownShape:
        return
    assert all(isinstance(event, EVENT_TYPES) for event in events)


@PROPERTY
@given(tweets=st.lists(st.one_of(tweet_fields.map(_tweet), json_values), max_size=5))
def test_the_x_parser_answers_each_tweet_with_one_event(tweets):
    """Taken, ignored (a retweet, the brand's own) or rejected with a reason: one event per tweet, whatever it holds."""
    events = x.parse({"for_user_id": "2244994945", "tweet_create_events": tweets}, brand_ids=set(),
                     brand_handles={"skyjet"})
    assert len(events) == len(tweets)
    for event in events:
        assert isinstance(event, NewMention | BrandReply | Ignored | Rejected)
        if isinstance(event, Rejected):
            assert event.fields["non_field_errors"][0]


meta_values = st.dictionaries(
    st.sampled_from(["item", "verb", "comment_id", "post_id", "parent_id", "from", "message", "text",
                     "created_time", "id", "media", "media_id", "permalink_url", "sender_id"]),
    json_values, max_size=6,
)


@PROPERTY
@given(data=st.one_of(
    json_values,
    st.fixed_dictionaries({
        "object": st.sampled_from(["page", "instagram", "user"]),
        "entry": st.lists(st.one_of(
            st.fixed_dictionaries({"id": json_values, "time": json_values,
                                   "changes": st.lists(st.one_of(
                                       st.fixed_dictionaries({"field": st.sampled_from(
                                           ["feed", "comments", "mentions", "mention", "live_comments", "other"]),
                                           "value": meta_values}),
                                       json_values), max_size=3)}),
            json_values), max_size=3),
    }),
))
def test_the_meta_parser_rejects_the_whole_payload_only_for_its_shape_and_items_one_by_one(data):
    try:
        events = meta.parse(data, brand_ids=set(), brand_handles=set(), received_at=datetime(2026, 11, 20))
    except UnknownShape:
        return
    assert all(isinstance(event, EVENT_TYPES) for event in events)
    entries = data["entry"]
    changes = sum(len(entry["changes"]) for entry in entries if isinstance(entry, dict)
                  and isinstance(entry.get("changes"), list))
    assert len(events) >= changes


@pytest.mark.django_db
@DB_PROPERTY
@given(tweets=st.lists(st.one_of(tweet_fields.map(_tweet), json_values), min_size=1, max_size=4))
def test_a_signed_x_delivery_never_fails_the_parse(tweets, x_account_for_properties):
    """Whatever the tweets hold, the parse ends processed or quarantined with a reason: never an exception."""
    with transaction.atomic():
        body = json.dumps({"for_user_id": "2244994945", "tweet_create_events": tweets}).encode()
        payload = InboundPayload.objects.create(channel="x", account=x_account_for_properties, account_ref="skyjet-x",
                                                body=body, body_size=len(body), verified=True,
                                                content_type="application/json")
        outcome = parse_payload(payload_id=payload.pk)
        assert outcome.status in {"processed", "quarantined", "received"}
        if outcome.status == "quarantined":
            assert outcome.reason
        transaction.set_rollback(True)


@pytest.fixture
def x_account_for_properties(db):
    account = Account(platform="x", slug="skyjet-x", handle="SkyJet", platform_user_id="2244994945")
    account.set_secret("secret")
    account.save()
    return account


# --- The CSV importer ----------------------------------------------------------------------------------

csv_cells = st.one_of(nasty_text.filter(lambda text: "\ud800" not in text), st.just(""))


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["external_id", "text", "posted_at", "author", "followers"])
    writer.writerows(rows)
    return out.getvalue()


@PROPERTY
@given(rows=st.lists(st.lists(csv_cells, min_size=0, max_size=6), max_size=6))
def test_the_csv_reader_gives_an_item_or_a_reason_for_every_row(rows):
    reader = CsvReader(io.StringIO(_csv(rows), newline=""), source="import",
                       column_map={"author_handle": "author", "author_followers": "followers"}, where={})
    for _line, item in reader:
        if isinstance(item, RowError):
            assert item.reason
            continue
        data, errors = validation.validate_mention(item)
        assert (data is None) != (errors is None)


@pytest.mark.django_db
@DB_PROPERTY
@given(rows=st.lists(st.tuples(csv_cells, csv_cells, st.sampled_from(["2026-11-20T09:00:00Z", "soon", ""]),
                               csv_cells, st.one_of(csv_cells, st.integers().map(str))), min_size=1, max_size=8))
def test_the_csv_import_counts_every_row_and_never_fails(rows, tmp_path_factory):
    path = tmp_path_factory.mktemp("csv") / "mentions.csv"
    path.write_text(_csv([list(row) for row in rows]), encoding="utf-8")
    with transaction.atomic():
        stats = import_file(path=path, fmt="csv", source="import", process=False,
                            column_map={"author_handle": "author", "author_followers": "followers"})
        assert stats.created + stats.duplicates + stats.errors + stats.skipped == stats.rows
        assert Mention.objects.count() <= stats.created + stats.duplicates
        transaction.set_rollback(True)


# --- Query parameters ---------------------------------------------------------------------------------


@PROPERTY
@given(value=st.one_of(st.none(), st.text(max_size=30), st.integers(min_value=-(2**70), max_value=2**70).map(str),
                       st.text(alphabet=string.digits + "²³¹٣۳", max_size=25)),
       minimum=st.integers(min_value=0, max_value=5), maximum=st.sampled_from([10, 1000, MAX_ID]))
def test_a_query_parameter_is_an_id_in_range_or_none(value, minimum, maximum):
    number = parse_int(value, minimum=minimum, maximum=maximum)
    ascii_number = bool(value) and value.isascii() and value.isdigit()
    if number is None:
        # not ASCII digits, out of range, or zero-padded past the longest id (read no further)
        assert not ascii_number or not minimum <= int(value) <= maximum or len(value) > len(str(maximum))
    else:
        assert ascii_number and int(value) == number and minimum <= number <= maximum
