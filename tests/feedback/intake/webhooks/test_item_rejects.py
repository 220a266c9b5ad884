"""One bad item in a signed delivery rejects that item only: it is listed with its reason and the payload is
kept for replay; the other items are applied. The field rules are the API's (feedback.intake.validation), so a
value refused by the API is refused by the webhooks with the same message. A body no parser should try (too
deep, a number too long, NaN) is quarantined as invalid JSON, never a crash of the worker."""

import json

import pytest

from feedback.intake import validation
from feedback.intake.models import InboundPayload, Mention

from .conftest import fixture_json

pytestmark = pytest.mark.django_db

GOOD_ID = "1991234567890123456"


def _two_tweets(**bad_changes) -> tuple[dict, dict]:
    data = fixture_json("x/tweet_create_mention.json")
    good = data["tweet_create_events"][0]
    bad = json.loads(json.dumps(good))
    bad["id_str"] = "1991234567890123999"
    for path, value in bad_changes.items():
        target = bad
        *parents, last = path.split("__")
        for key in parents:
            target = target[key]
        target[last] = value
    data["tweet_create_events"].append(bad)
    return data, bad


def _rejected(payload: InboundPayload) -> dict:
    [item] = payload.result["rejected"]
    return item


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"text": "x" * 15_000}, "text", "Ensure this field has no more than 10000 characters."),
        ({"user__followers_count": 2**31}, "author_followers", "Ensure this value is less than or equal to 2147483647."),
        ({"user__screen_name": "h" * 201}, "author_handle", "Ensure this field has no more than 200 characters."),
        ({"user__name": "Dana \ud800"}, "author_name", "Surrogate characters are not allowed: U+D800."),
        ({"in_reply_to_status_id_str": "p" * 201}, "parent_external_id",
         "Ensure this field has no more than 200 characters."),
    ],
    ids=["15000-chars", "followers-2^31", "long-handle", "lone-surrogate", "long-parent"],
)
def test_a_bad_field_rejects_that_tweet_and_the_other_is_stored(deliver_x, changes, field, message):
    data, bad = _two_tweets(**changes)
    response = deliver_x(json.dumps(data).encode())
    assert response.status_code == 200
    payload = InboundPayload.objects.get()
    assert (payload.status, payload.reason) == ("quarantined", "items_rejected")
    item = _rejected(payload)
    assert (item["kind"], item["external_id"]) == ("mention", bad["id_str"])
    assert item["fields"][field] == [message]
    assert payload.result["mentions_created"] == 1 and payload.result["items_rejected"] == 1
    assert list(Mention.objects.values_list("external_id", flat=True)) == [GOOD_ID]


def test_an_id_over_200_characters_is_rejected_with_its_reason(deliver_x):
    data, bad = _two_tweets()
    bad["id_str"] = "9" * 250
    deliver_x(json.dumps(data).encode())
    item = _rejected(InboundPayload.objects.get())
    assert item["external_id"] == "9" * 200  # listed by the first 200 characters
    assert item["fields"] == {"external_id": ["Ensure this field has no more than 200 characters."]}
    assert Mention.objects.get().external_id == GOOD_ID


def test_the_webhook_and_the_api_refuse_a_value_with_the_same_message(deliver_x, api_client):
    data, bad = _two_tweets(text="y" * (validation.MAX_LENGTH["text"] + 1))
    deliver_x(json.dumps(data).encode())
    webhook_message = _rejected(InboundPayload.objects.get())["fields"]["text"]
    api = api_client.post("/api/v1/mentions/", {
        "source": "x", "external_id": "api-1", "text": bad["text"], "posted_at": "2026-11-20T09:00:00Z",
        "author_handle": "dana"}, format="json")
    assert api.status_code == 400
    assert api.json()["fields"]["text"] == webhook_message


def test_a_tweet_the_parser_cannot_read_is_rejected_alone(deliver_x):
    data, bad = _two_tweets(created_at="yesterday")
    del bad["timestamp_ms"]
    del bad["text"]
    deliver_x(json.dumps(data).encode())
    item = _rejected(InboundPayload.objects.get())
    assert item == {"kind": "tweet_create_events", "external_id": bad["id_str"],
                    "fields": {"non_field_errors": [f"Tweet {bad['id_str']} has no text."]}}
    assert Mention.objects.get().external_id == GOOD_ID


def test_entries_that_are_not_objects_are_rejected_alone(deliver_x):
    data = fixture_json("x/tweet_create_mention.json")
    data["tweet_create_events"][1:] = [None, 42, ["a", "list"]]
    deliver_x(json.dumps(data).encode())
    payload = InboundPayload.objects.get()
    assert payload.result["items_rejected"] == 3 and payload.result["mentions_created"] == 1


def test_a_meta_change_with_an_unreadable_time_is_rejected_and_the_other_taken(deliver_meta):
    data = fixture_json("meta/page_feed_comment_add.json")
    bad = json.loads(json.dumps(data["entry"][0]["changes"][0]))
    bad["value"]["comment_id"] = "412233445566778_999"
    bad["value"]["created_time"] = "\u00b2"  # "²".isdigit() is true; float("²") raises
    data["entry"][0]["changes"].append(bad)
    data["entry"].append("not an entry")
    deliver_meta(json.dumps(data).encode())
    payload = InboundPayload.objects.get()
    assert (payload.status, payload.reason) == ("quarantined", "items_rejected")
    kinds = sorted((item["kind"], item["external_id"]) for item in payload.result["rejected"])
    assert kinds == [("entry", ""), ("feed", "412233445566778_999")]
    assert Mention.objects.count() == 1


def test_an_edit_with_a_nul_is_rejected_and_the_mention_keeps_its_text(deliver_meta):
    deliver_meta(json.dumps(fixture_json("meta/page_feed_comment_add.json")).encode())
    original = Mention.objects.get().text
    edit = fixture_json("meta/page_feed_comment_edited.json")
    edit["entry"][0]["changes"][0]["value"]["message"] = "edited \u0000"
    deliver_meta(json.dumps(edit).encode())
    payload = InboundPayload.objects.order_by("id").last()
    assert _rejected(payload)["kind"] == "edit"
    assert Mention.objects.get().text == original


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"tweet_create_events": [], "n": ' + b"9" * 5000 + b"}", "Exceeds the limit"),
        (b'{"tweet_create_events": [], "n": NaN}', "NaN is not valid JSON"),
    ],
    ids=["deep", "huge-int", "nan"],
)
def test_a_body_no_parser_should_try_is_quarantined_as_invalid_json(deliver_x, body, detail):
    response = deliver_x(body)
    assert response.status_code == 200
    payload = InboundPayload.objects.get()
    assert (payload.status, payload.reason) == ("quarantined", "invalid_json")
    assert detail in payload.detail
