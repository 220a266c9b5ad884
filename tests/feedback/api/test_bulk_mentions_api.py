"""POST /api/v1/mentions/ with a JSON list: one outcome per item, good items stored whatever the bad ones."""

import re
from datetime import UTC, datetime

import pytest

from feedback.choices import MentionStatus
from feedback.intake.ingest import store_mention
from feedback.intake.models import Mention

pytestmark = pytest.mark.django_db

URL = "/api/v1/mentions/"


def _item(external_id, **overrides):
    item = {
        "source": "x",
        "external_id": str(external_id),
        "text": "@SkyJet my bag did not arrive in Denver",
        "posted_at": "2026-11-20T09:00:00Z",
        "author_handle": f"user{external_id}",
    }
    item.update(overrides)
    return item


def _assert_error_shape(body, code):
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == code
    assert body["message"]


def test_good_items_are_stored_and_bad_ones_reported_with_field_messages(api_client):
    items = [
        _item(1),
        _item(2, posted_at="yesterday at noon"),
        _item(3, author_followers=-5, url="not a url"),
        {"source": "x", "external_id": "4"},
        _item(5, source="myspace"),
        _item(6, author_name="Dana", author_followers=812, url="https://x.com/user6/status/6"),
    ]
    response = api_client.post(URL, items, format="json")

    assert response.status_code == 200
    body = response.json()
    stored = {mention.external_id: mention for mention in Mention.objects.all()}
    assert set(stored) == {"1", "6"}
    assert (body["created"], body["duplicates"], body["errors"]) == (2, 0, 4)
    results = body["results"]
    assert [result["index"] for result in results] == [0, 1, 2, 3, 4, 5]
    assert results[0] == {"index": 0, "outcome": "created", "id": stored["1"].pk}
    assert results[5] == {"index": 5, "outcome": "created", "id": stored["6"].pk}
    assert results[1]["outcome"] == "error" and "id" not in results[1]
    assert list(results[1]["fields"]) == ["posted_at"]
    assert "wrong format" in results[1]["fields"]["posted_at"][0]
    assert set(results[2]["fields"]) == {"author_followers", "url"}
    assert set(results[3]["fields"]) == {"text", "posted_at", "author_handle"}
    assert results[3]["fields"]["text"] == ["This field is required."]
    assert list(results[4]["fields"]) == ["source"]
    assert (stored["6"].author_name, stored["6"].author_followers) == ("Dana", 812)
    assert stored["6"].posted_at == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_repeats_within_the_list_and_of_stored_mentions_are_duplicates_with_the_stored_id(api_client):
    earlier, _ = store_mention(enqueue=False, **{**_item(7, text="the first delivery"),
                                                 "posted_at": datetime(2026, 11, 20, 9, tzinfo=UTC)})
    response = api_client.post(URL, [_item(8), _item(7, text="a retry"), _item(8), _item(8, source="facebook")],
                               format="json")

    assert response.status_code == 200
    body = response.json()
    new = Mention.objects.get(source="x", external_id="8")
    other_source = Mention.objects.get(source="facebook", external_id="8")
    assert [(r["outcome"], r["id"]) for r in body["results"]] == [
        ("created", new.pk), ("duplicate", earlier.pk), ("duplicate", new.pk), ("created", other_source.pk),
    ]
    assert (body["created"], body["duplicates"], body["errors"]) == (2, 2, 0)
    earlier.refresh_from_db()
    assert earlier.text == "the first delivery"  # a repeat never changes the stored mention
    assert Mention.objects.count() == 3


def test_items_that_are_not_objects_are_errors_and_the_rest_is_stored(api_client):
    response = api_client.post(URL, [None, 5, ["x"], _item(9)], format="json")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["error", "error", "error", "created"]
    assert results[0]["fields"] == {"non_field_errors": ["Expected a JSON object (one mention), got null."]}
    assert results[1]["fields"] == {"non_field_errors": ["Expected a JSON object (one mention), got int."]}
    assert "list" in results[2]["fields"]["non_field_errors"][0]
    assert Mention.objects.get().external_id == "9"


def test_an_empty_list_is_400(api_client):
    response = api_client.post(URL, [], format="json")

    assert response.status_code == 400
    _assert_error_shape(response.json(), "empty_list")
    assert not Mention.objects.exists()


def test_a_list_over_1000_is_400_and_says_to_split_it(api_client):
    response = api_client.post(URL, [_item(n) for n in range(1001)], format="json")

    assert response.status_code == 400
    body = response.json()
    _assert_error_shape(body, "too_many_items")
    assert "1,001" in body["message"] and "1,000" in body["message"] and "split" in body["message"]
    assert not Mention.objects.exists()


@pytest.mark.parametrize("body", ['"one mention please"', "42", "true", "null"])
def test_a_body_that_is_neither_an_object_nor_a_list_is_400(api_client, body):
    response = api_client.post(URL, data=body, content_type="application/json")

    assert response.status_code == 400
    payload = response.json()
    _assert_error_shape(payload, "invalid_body")
    assert "JSON object" in payload["message"] and "JSON list" in payload["message"]
    assert not Mention.objects.exists()


def test_a_single_object_still_answers_201_then_200(api_client):
    first = api_client.post(URL, _item(10), format="json")
    again = api_client.post(URL, _item(10), format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["external_id"] == "10" and again.json()["id"] == first.json()["id"]


def test_1000_items_take_a_fixed_number_of_queries(api_client, django_assert_max_num_queries):
    items = [_item(n, text=f"@SkyJet message number {n} 🧳") for n in range(1000)]
    items[500]["posted_at"] = "not a date"
    with django_assert_max_num_queries(12):
        response = api_client.post(URL, items, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["duplicates"], body["errors"]) == (999, 0, 1)
    assert body["results"][500]["outcome"] == "error"
    assert Mention.objects.count() == 999


def test_new_mentions_are_enqueued_once_after_commit(api_client, django_capture_on_commit_callbacks, task_queue):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api_client.post(URL, [_item(11), _item(12, text="@SkyJet thank you, great crew!"),
                                         _item(13, posted_at="soon")], format="json")
    assert response.json()["created"] == 2
    assert len(callbacks) == 1  # one enqueue for the list's new mentions
    assert set(Mention.objects.values_list("status", flat=True)) == {MentionStatus.RECEIVED}

    callbacks[0]()  # the commit happens: one message for the batch, which a worker processes
    ids = sorted(Mention.objects.values_list("pk", flat=True))
    assert task_queue.run() == [("feedback.tasks.process_mentions", [ids])]
    assert set(Mention.objects.values_list("status", flat=True)) == {MentionStatus.PROCESSED}
    assert Mention.objects.filter(case__isnull=False).exists()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        repeat = api_client.post(URL, [_item(11), _item(12)], format="json")
    assert repeat.json()["duplicates"] == 2
    assert callbacks == []  # nothing new, nothing enqueued


@pytest.mark.parametrize(
    "text",
    [
        "✈️🧳 Lost my bag again 😡😡 #SkyJet 👎🏽",
        "شكراً لطاقم الرحلة على الخدمة الرائعة ✈️",
        "הטיסה שלי התעכבה שלוש שעות, מה קורה? 🙏",
    ],
)
def test_emoji_and_right_to_left_text_in_a_list(api_client, text):
    response = api_client.post(URL, [_item(20, text=text, author_name="سارة"), _item(21, posted_at="")],
                               format="json")

    assert [r["outcome"] for r in response.json()["results"]] == ["created", "error"]
    mention = Mention.objects.get()
    assert (mention.text, mention.author_name) == (text, "سارة")


def test_the_schema_documents_a_mention_or_a_list(api_client):
    schema = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operation = schema["paths"]["/api/v1/mentions/"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MentionInOrList"
    }
    components = schema["components"]["schemas"]
    assert components["MentionInOrList"]["oneOf"] == [
        {"$ref": "#/components/schemas/MentionIn"},
        {"type": "array", "items": {"anyOf": [{"$ref": "#/components/schemas/MentionIn"}, {"description": (
            "Any other value: answered in `results` with outcome `error` and field messages; the other items are "
            "stored.")}]}, "minItems": 1, "maxItems": 1000},
    ]
    assert list(operation["requestBody"]["content"]) == ["application/json"]  # JSON only
    assert operation["requestBody"]["required"] is True
    assert {"$ref": "#/components/schemas/MentionBatchResult"} in components["MentionOrBatchResult"]["oneOf"]
    assert set(components["MentionBatchResult"]["properties"]) == {"results", "created", "duplicates", "errors"}
    outcome = components["MentionOutcome"]
    assert components[outcome["properties"]["outcome"]["$ref"].split("/")[-1]]["enum"] == [
        "created", "duplicate", "error"]
    assert set(operation["responses"]) == {"200", "201", "400", "401", "403", "411", "413", "415", "429"}

    mention_in = components["MentionIn"]["properties"]

    def text(name):  # a text field's schema: a string, or (as DRF takes it) a number taken as its text
        options = mention_in[name].get("anyOf", [mention_in[name]])
        return next(option for option in options if option["type"] == "string")

    for name in ("external_id", "text", "author_handle"):
        assert text(name)["minLength"] == 1  # required strings may not be blank, nor only white space
        assert re.fullmatch(text(name)["pattern"], "a b") and not re.fullmatch(text(name)["pattern"], " ")
        assert {"type": "number", "minimum": -10**15, "maximum": 10**15} == {
            key: value for key, value in mention_in[name]["anyOf"][1].items() if key != "description"}
    for name in ("external_id", "text", "author_handle", "author_name", "url"):
        assert not re.fullmatch(text(name)["pattern"], "nul \u0000")  # as the rules refuse it
    assert text("text")["maxLength"] == 10_000 and "format" not in text("url")  # http(s) only: a pattern, not a URI
    assert re.fullmatch(text("url")["pattern"], " https://x.com/dana/status/1 ") and re.fullmatch(text("url")["pattern"], "")
    assert not re.fullmatch(text("url")["pattern"], "ftp://x.com/1") and not re.fullmatch(text("url")["pattern"], "f:")
    followers = mention_in["author_followers"]["anyOf"]
    assert followers[0] == {"type": "integer", "maximum": 2147483647, "minimum": 0, "nullable": True}
    assert re.fullmatch(followers[2]["pattern"], " 12.0 ") and not re.fullmatch(followers[2]["pattern"], "2147483648")
    # What an unprocessed mention answers ("" for the labels and the url) is in the schema.
    mention_out = components["MentionOut"]["properties"]
    for name in ("intent", "sentiment_label"):
        assert {"$ref": "#/components/schemas/BlankEnum"} in mention_out[name]["oneOf"]
    assert mention_out["url"]["type"] == "string" and "format" not in mention_out["url"]
