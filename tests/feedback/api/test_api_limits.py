"""The API takes bounded JSON only: a body over BATON_API_MAX_BYTES is 413 before it is read, a chunked body 411,
a form or multipart body 415; deep nesting, NaN, a 5,000-digit number, bad UTF-8, a NUL in `raw`, a follower
count over PostgreSQL's integer: a 400 in the error shape, never a 500."""

import io
import json

import pytest
from django.test import Client
from rest_framework.exceptions import ParseError

from feedback.api.parsers import JSONParser
from feedback.intake.models import Mention

pytestmark = pytest.mark.django_db

URL = "/api/v1/mentions/"


def _item(**overrides) -> dict:
    item = {"source": "x", "external_id": "limits-1", "text": "@SkyJet where is my bag?",
            "posted_at": "2026-11-20T09:00:00Z", "author_handle": "dana"}
    item.update(overrides)
    return item


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and body["code"] == code and body["message"]
    return body


def test_a_body_over_the_limit_is_413_before_it_is_read(api_client, settings):
    settings.BATON_API_MAX_BYTES = 10_000
    body = json.dumps(_item(text="z" * 20_000))
    response = api_client.post(URL, data=body, content_type="application/json")
    assert "BATON_API_MAX_BYTES" in _error(response, 413, "too_large")["message"]
    assert response["Content-Security-Policy"]
    assert not Mention.objects.exists()


def test_a_30_mb_mention_is_refused(api_client):
    body = json.dumps(_item(text="z" * (30 * 1024 * 1024)))
    _error(api_client.post(URL, data=body, content_type="application/json"), 413, "too_large")
    assert not Mention.objects.exists()


def test_the_parser_reads_no_more_than_the_limit_whatever_it_is_given(settings):
    """Behind the middleware, the parser has its own bound: a stream longer than BATON_API_MAX_BYTES is refused
    after reading one byte more than the limit."""
    settings.BATON_API_MAX_BYTES = 1000
    stream = io.BytesIO(json.dumps([_item(external_id=str(n)) for n in range(50)]).encode())
    with pytest.raises(ParseError, match="over 1,000 bytes"):
        JSONParser().parse(stream)
    assert stream.tell() <= 1001


def test_a_chunked_body_is_411(api_client):
    response = api_client.generic("POST", URL, data=b"", content_type="application/json",
                                  HTTP_TRANSFER_ENCODING="chunked", CONTENT_LENGTH="")
    _error(response, 411, "length_required")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[" * 50_000 + "]" * 50_000, "The JSON is nested too deeply."),
        ('{"author_followers": ' + "9" * 5000 + "}", "Exceeds the limit (4300 digits)"),
        ('{"author_followers": NaN}', "NaN is not valid JSON"),
        ('{"author_followers": Infinity}', "Infinity is not valid JSON"),
    ],
    ids=["deep", "5000-digits", "nan", "infinity"],
)
def test_json_no_parser_should_take_is_400(api_client, body, message):
    response = api_client.post(URL, data=body, content_type="application/json")
    assert message in _error(response, 400, "parse_error")["fields"]["body"][0]


def test_bad_utf8_is_400(api_client):
    response = api_client.post(URL, data=b'{"text": "\xff\xfe"}', content_type="application/json")
    assert "not UTF-8" in _error(response, 400, "parse_error")["fields"]["body"][0]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"raw": {"note": "a\u0000b"}}, "raw", "Null characters are not allowed (PostgreSQL cannot store U+0000 in JSON)."),
        ({"raw": {"a\u0000": 1}}, "raw", "Null characters are not allowed (PostgreSQL cannot store U+0000 in JSON)."),
        ({"raw": {"note": "\ud800"}}, "raw", "Surrogate characters are not allowed: U+D800."),
        ({"raw": json.loads("[" * 70 + "]" * 70)}, "raw", "Ensure this JSON is nested no more than 64 levels deep."),
        ({"author_followers": 2**31}, "author_followers", "Ensure this value is less than or equal to 2147483647."),
        ({"author_followers": 10**100}, "author_followers", "Ensure this value is less than or equal to 2147483647."),
        ({"external_id": "e" * 201}, "external_id", "Ensure this field has no more than 200 characters."),
        ({"text": "nul \u0000"}, "text", "Null characters are not allowed."),
    ],
    ids=["nul-in-raw", "nul-in-raw-key", "surrogate-in-raw", "deep-raw", "followers-2^31", "followers-googol",
         "long-id", "nul-in-text"],
)
def test_a_single_mention_with_a_value_the_database_would_refuse_is_400(api_client, overrides, field, message):
    response = api_client.post(URL, data=json.dumps(_item(**overrides)), content_type="application/json")
    assert _error(response, 400, "invalid")["fields"] == {field: [message]}
    assert not Mention.objects.exists()


def test_the_same_values_in_a_list_are_per_item_errors_and_the_good_item_is_stored(api_client):
    items = [_item(external_id="ok"), _item(external_id="bad", raw={"note": "a\u0000b"}),
             _item(external_id="big", author_followers=2**40)]
    response = api_client.post(URL, data=json.dumps(items), content_type="application/json")
    assert response.status_code == 200
    body = response.json()
    assert [result["outcome"] for result in body["results"]] == ["created", "error", "error"]
    assert list(Mention.objects.values_list("external_id", flat=True)) == ["ok"]


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=b"])
def test_a_form_body_is_415(api_client, content_type):
    response = api_client.post(URL, data="source=x&text=hi", content_type=content_type)
    _error(response, 415, "unsupported_media_type")


def test_a_call_without_a_token_is_401_in_the_error_shape():
    response = Client().post(URL, data="{}", content_type="application/json")
    _error(response, 401, "not_authenticated")
