"""The mention field rules (feedback.intake.validation): plain Python that gives what Django REST
framework gives for the fields the API's serializer declares from the same limits, value for value
and message for message, plus the limits DRF does not have."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from django.utils import timezone as django_timezone
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from feedback.api.serializers import MentionInSerializer
from feedback.choices import Source
from feedback.intake import validation
from feedback.intake.validation import validate_mention, validate_mentions

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
        {"posted_at": datetime(2026, 11, 20, 9, 0)},  # a datetime, as the file import passes it: naive
        {"posted_at": datetime(2026, 11, 20, 9, 0, tzinfo=timezone(timedelta(hours=-8)))},
        {"posted_at": date(2026, 11, 20)},
        {"author_followers": 2_147_483_647},
        {"author_followers": 2_147_483_648},
        {"author_followers": " 12 "},
        {"author_followers": "1" * 1001},
        {"external_id": "two\x00faults\ud800" + "x" * 200},
        {"url": "https://example.com/\x00"},
        {"source": Source.FACEBOOK},
        {"source": 5},
        {"unknown_key": "ignored"},
        {"id": 99, "status": "processed"},
    ]
    items = [{**GOOD, **change} for change in changes]
    for key in ("source", "external_id", "text", "posted_at", "author_handle", "author_name", "author_followers",
                "url", "raw"):
        items.append({k: v for k, v in GOOD.items() if k != key})
    items += [{}, [], None, "a string", 5]
    return items




class _DrfFields(MentionInSerializer):
    """The serializer's declared fields, validated by DRF itself instead of the plain rules."""

    to_internal_value = serializers.Serializer.to_internal_value


def _plain(detail) -> dict[str, list[str]]:
    return {str(key): [str(message) for message in messages] for key, messages in detail.items()}


def _drf(item):
    try:
        return _DrfFields().run_validation(item), None
    except ValidationError as exc:
        return None, _plain(exc.detail)


def _assert_same(item, got, want):
    (data, errors), (expected, expected_errors) = got, want
    assert errors == expected_errors, item
    if expected is None:
        assert data is None, item
        return
    assert list(data) == list(expected), item
    for key, value in expected.items():
        assert data[key] == value and type(data[key]) is type(value), (item, key)
        if isinstance(value, datetime):
            assert data[key].tzinfo == value.tzinfo and data[key].utcoffset() == value.utcoffset(), (item, key)


def test_the_rules_give_what_drf_gives_item_by_item():
    items = [item for item in _variants() if isinstance(item, dict)]
    results = validate_mentions(items)
    for item, got in zip(items, results, strict=True):
        _assert_same(item, got, _drf(item))
    valid = sum(1 for data, _ in results if data is not None)
    assert 30 <= valid < len(items)  # both sides of the rules are exercised


def test_local_times_in_a_zone_with_daylight_saving():
    times = ["2026-10-25T02:30:00",  # Berlin turns the clock back: this local time happens twice
             "2026-03-29T02:30:00",  # skipped by the clock change
             "2026-07-01T12:00:00", "2026-07-01T12:00:00Z"]
    with django_timezone.override("Europe/Berlin"):
        for posted_at in times:  # DRF takes all four (its ambiguity check never fires for ZoneInfo): so do the rules
            item = {**GOOD, "posted_at": posted_at}
            _assert_same(item, validate_mention(item), _drf(item))
            assert validate_mention(item)[1] is None
        assert validate_mention({**GOOD, "posted_at": times[3]})[0]["posted_at"].utcoffset() == timedelta(hours=2)


def test_what_is_not_an_object_is_refused_whole():
    for item in ([], None, "a string", 5):
        data, errors = validate_mention(item)
        assert data is None and list(errors) == ["non_field_errors"]
        assert errors["non_field_errors"][0].startswith("Expected a JSON object (one mention), got ")


def test_plain_items_get_fresh_defaults_and_times_in_the_current_zone():
    first, _ = validate_mention(dict(GOOD))
    second, _ = validate_mention(dict(GOOD))
    assert first == {"source": "x", "external_id": "1", "text": "@airline my bag did not arrive",
                     "posted_at": datetime(2026, 11, 20, 9, 0, tzinfo=UTC), "author_handle": "dana",
                     "author_name": "", "author_followers": None, "url": "", "raw": {}}
    assert first["raw"] is not second["raw"]
    moved, _ = validate_mention({**GOOD, "posted_at": "2026-11-20T11:00:00+02:00"})
    assert moved["posted_at"] == datetime(2026, 11, 20, 9, 0, tzinfo=UTC) and moved["posted_at"].utcoffset() == timedelta(0)


def test_raw_has_limits_of_its_own():
    at_limit = {"note": "x" * (validation.RAW_MAX_CHARS - len('{"note": ""}'))}
    assert validate_mention({**GOOD, "raw": at_limit})[1] is None
    over = {"note": at_limit["note"] + "x"}
    assert validate_mention({**GOOD, "raw": over})[1] == {
        "raw": [f"Ensure this JSON has no more than {validation.RAW_MAX_CHARS} characters."]}
    # PostgreSQL's jsonb has no NaN or infinity: refused here, not by the database for the whole batch
    for number in (float("nan"), float("inf")):
        assert validate_mention({**GOOD, "raw": {"score": number}})[1] == {"raw": ["Value must be valid JSON."]}


def test_the_serializer_documents_the_limits_and_validates_through_the_rules():
    fields = MentionInSerializer().fields
    for name, longest in validation.MAX_LENGTH.items():
        assert fields[name].max_length == longest
    assert (fields["author_followers"].min_value, fields["author_followers"].max_value) == (
        validation.FOLLOWERS_MIN, validation.FOLLOWERS_MAX)
    assert tuple(fields["source"].choices) == validation.SOURCES
    assert [name for name, field in fields.items() if field.required] == list(validation.REQUIRED)
    assert list(fields) == list(validation.FIELDS)

    serializer = MentionInSerializer(data={**GOOD, "raw": {"score": float("nan")}, "author_followers": -1})
    assert not serializer.is_valid()  # a rule DRF's JSONField does not have: the serializer uses the plain rules
    assert _plain(serializer.errors) == {"author_followers": ["Ensure this value is greater than or equal to 0."],
                                         "raw": ["Value must be valid JSON."]}
    serializer = MentionInSerializer(data={**GOOD, "external_id": 12345})
    assert serializer.is_valid() and serializer.validated_data == validate_mention({**GOOD, "external_id": 12345})[0]


@pytest.mark.parametrize("text, expected", [
    ("2018-10-10T20:19:24+00:00", datetime(2018, 10, 10, 20, 19, 24, tzinfo=UTC)),
    ("Wed Oct 10 20:19:24 +0000 2018", datetime(2018, 10, 10, 20, 19, 24, tzinfo=UTC)),
    ("2018-10-10 20:19:24", datetime(2018, 10, 10, 20, 19, 24, tzinfo=UTC)),  # a file's naive time is UTC
])
def test_dates_in_files(text, expected):
    assert validation.parse_posted_at(text) == expected
    data, errors = validate_mention({**GOOD, "posted_at": validation.parse_posted_at(text)})
    assert errors is None and data["posted_at"] == expected
