"""POST /api/v1/mentions/ and the OpenAPI schema."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from feedback.choices import MentionStatus
from feedback.intake.models import Mention
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/mentions/"


def _payload(**overrides):
    payload = {
        "source": "x",
        "external_id": "1860000000000000001",
        "text": "@SkyJet my flight to Denver is delayed again, still waiting at the gate",
        "posted_at": "2026-11-20T09:00:00Z",
        "author_handle": "dana_k",
        "author_name": "Dana K",
        "author_followers": 812,
        "url": "https://x.com/dana_k/status/1860000000000000001",
        "raw": {"id_str": "1860000000000000001", "lang": "en"},
    }
    payload.update(overrides)
    return payload


def _assert_error_shape(body, code):
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]


def test_create_answers_201_with_the_stored_mention(api_client):
    response = api_client.post(URL, _payload(), format="json")
    assert response.status_code == 201
    body = response.json()
    mention = Mention.objects.get()
    assert body["id"] == mention.pk
    assert {key: body[key] for key in ("source", "external_id", "author_handle", "author_name", "author_followers")} == {
        "source": "x", "external_id": "1860000000000000001", "author_handle": "dana_k", "author_name": "Dana K",
        "author_followers": 812,
    }
    assert body["posted_at"] == "2026-11-20T09:00:00Z"
    assert body["status"] == MentionStatus.RECEIVED
    assert body["case"] is None and body["customer"] is None and body["intent"] == ""
    assert mention.raw == {"id_str": "1860000000000000001", "lang": "en"}


def test_a_repeat_answers_200_with_the_stored_one(api_client):
    first = api_client.post(URL, _payload(), format="json")
    again = api_client.post(URL, _payload(text="a retried delivery with other text"), format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["text"] == _payload()["text"]  # the stored mention is left untouched
    assert Mention.objects.count() == 1


def test_the_same_id_on_another_source_is_another_mention(api_client):
    assert api_client.post(URL, _payload(), format="json").status_code == 201
    assert api_client.post(URL, _payload(source="facebook"), format="json").status_code == 201
    assert Mention.objects.count() == 2


def test_optional_fields_may_be_left_out(api_client):
    payload = {key: _payload()[key] for key in ("source", "external_id", "text", "posted_at", "author_handle")}
    response = api_client.post(URL, payload, format="json")
    assert response.status_code == 201
    assert (response.json()["author_followers"], response.json()["url"]) == (None, "")


def test_missing_fields_are_400_with_a_message_per_field(api_client):
    response = api_client.post(URL, {}, format="json")
    assert response.status_code == 400
    body = response.json()
    _assert_error_shape(body, "invalid")
    required = {"source", "external_id", "text", "posted_at", "author_handle"}
    assert set(body["fields"]) == required
    for field in required:
        assert body["fields"][field] == ["This field is required."]
    assert not Mention.objects.exists()


def test_bad_source_is_400(api_client):
    response = api_client.post(URL, _payload(source="myspace"), format="json")
    assert response.status_code == 400
    body = response.json()
    _assert_error_shape(body, "invalid")
    assert body["fields"] == {"source": ['"myspace" is not a valid choice.']}


@pytest.mark.parametrize("posted_at", ["yesterday", "2026-13-45T09:00:00Z", ""])
def test_bad_date_is_400(api_client, posted_at):
    response = api_client.post(URL, _payload(posted_at=posted_at), format="json")
    assert response.status_code == 400
    body = response.json()
    _assert_error_shape(body, "invalid")
    assert list(body["fields"]) == ["posted_at"]
    assert body["fields"]["posted_at"][0].startswith("Datetime has wrong format.")


def test_other_field_errors(api_client):
    response = api_client.post(URL, _payload(author_followers=-1, url="not a url"), format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"author_followers", "url"}


def test_malformed_json_is_400_in_the_error_shape(api_client):
    response = api_client.post(URL, data='{"source": "x", "text": ', content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    _assert_error_shape(body, "parse_error")
    assert list(body["fields"]) == ["body"]
    assert "JSON" in body["fields"]["body"][0]


def test_without_a_token_401_with_www_authenticate():
    response = APIClient().post(URL, _payload(), format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    _assert_error_shape(response.json(), "not_authenticated")
    assert not Mention.objects.exists()


def test_a_wrong_token_is_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.post(URL, _payload(), format="json")
    assert response.status_code == 401
    _assert_error_shape(response.json(), "authentication_failed")


def test_a_token_without_add_mention_is_403():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=UserFactory(username='reader')).key}")
    response = client.post(URL, _payload(), format="json")
    assert response.status_code == 403
    body = response.json()
    _assert_error_shape(body, "permission_denied")
    assert "feedback.add_mention" in body["message"]
    assert not Mention.objects.exists()


def test_processing_is_enqueued_once_after_commit_and_not_on_repeat(
    api_client, django_capture_on_commit_callbacks, task_queue
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api_client.post(URL, _payload(), format="json")
    assert response.status_code == 201
    assert len(callbacks) == 1
    mention = Mention.objects.get()
    assert task_queue.sent() == []  # nothing is enqueued before the commit
    assert mention.status == MentionStatus.RECEIVED

    callbacks[0]()  # the commit happens: the message goes to the broker, and a worker runs it
    assert task_queue.run() == [("feedback.tasks.process_mention", [mention.pk])]
    mention.refresh_from_db()
    assert (mention.status, mention.attempts) == (MentionStatus.PROCESSED, 1)
    assert mention.case.department.slug == "service"

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        repeat = api_client.post(URL, _payload(), format="json")
    assert repeat.status_code == 200
    assert callbacks == []
    assert task_queue.sent() == []
    mention.refresh_from_db()
    assert mention.attempts == 1


@pytest.mark.parametrize(
    "text",
    [
        "✈️🧳 Lost my bag again 😡😡 #SkyJet 👎🏽",
        "شكراً لطاقم الرحلة على الخدمة الرائعة ✈️",  # Arabic: thanks to the crew for the great service
        "הטיסה שלי התעכבה שלוש שעות, מה קורה? 🙏",  # Hebrew: my flight was delayed three hours, what's going on?
        "Mixed: مرحبا שלום hello 👋 \u200f(RTL mark)",
    ],
)
def test_emoji_and_right_to_left_text_round_trip(api_client, text):
    payload = _payload(text=text, author_name="محمد الأحمد", raw={"text": text, "user": {"name": "נועה"}})
    created = api_client.post(URL, payload, format="json")
    assert created.status_code == 201
    assert created.json()["text"] == text
    assert created.json()["author_name"] == "محمد الأحمد"
    mention = Mention.objects.get()
    assert mention.text == text
    assert mention.raw == {"text": text, "user": {"name": "נועה"}}
    # Read back through the API (a repeat answers with the stored row).
    assert api_client.post(URL, payload, format="json").json()["text"] == text


def test_openapi_schema_for_an_authenticated_user(api_client):
    response = api_client.get("/api/v1/schema/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "openapi: 3" in content
    assert "/api/v1/mentions/" in content
    assert "MentionIn" in content


@pytest.mark.parametrize("path", ["/api/v1/schema/", "/api/v1/docs/"])
def test_openapi_schema_and_docs_need_a_known_user(client, path):
    response = client.get(path)
    assert (response.status_code, response["WWW-Authenticate"]) == (401, "Token")
    assert b"openapi" not in response.content and b"/api/v1/mentions/" not in response.content
