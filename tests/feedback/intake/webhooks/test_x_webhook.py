"""X Account Activity deliveries: verified, stored, parsed into mentions exactly once."""

import json
from datetime import UTC, datetime

import pytest

from feedback.cases.models import CaseEvent
from feedback.choices import CaseStatus, ClockMetric, EventKind, MentionStatus
from feedback.intake.ingest import store_mention
from feedback.intake.models import InboundPayload, Mention
from feedback.pipeline import process_mention
from feedback.sla.models import SlaClock
from feedback.tasks import parse_inbound_payload

from .conftest import X_URL, fixture_bytes, fixture_json, x_signature

pytestmark = pytest.mark.django_db

MENTION_ID = "1991234567890123456"


def test_a_signed_mention_is_stored_and_processed(deliver_x):
    body = fixture_bytes("x/tweet_create_mention.json")
    response = deliver_x(body)

    assert response.status_code == 200
    payload = InboundPayload.objects.get()
    assert response.json()["id"] == payload.pk
    assert (payload.status, payload.verified, payload.reason) == ("processed", True, "")
    assert bytes(payload.body) == body
    assert payload.headers["X-Twitter-Webhooks-Signature"] == x_signature(body)
    assert payload.result == {"mentions_created": 1}

    mention = Mention.objects.get()
    assert (mention.source, mention.external_id) == ("x", MENTION_ID)
    assert mention.text == "@SkyJet my flight SJ210 is delayed for the third time this week, unacceptable"
    assert (mention.author_handle, mention.author_name, mention.author_followers) == ("danaflies", "Dana Whitfield", 1840)
    assert mention.posted_at == datetime(2026, 11, 18, 9, 12, 44, tzinfo=UTC)
    assert mention.url == f"https://x.com/danaflies/status/{MENTION_ID}"
    assert mention.raw["author"]["location"] == "Leeds, UK"
    assert mention.raw["for_user_id"] == "2244994945"
    assert mention.raw["inbound_payload_id"] == payload.pk
    assert mention.received_at == payload.received_at
    assert mention.parent_external_id == ""
    # processing ran after the commit: understood, linked, routed to a case with clocks
    assert mention.status == MentionStatus.PROCESSED
    assert mention.case.department.slug == "service"
    assert SlaClock.objects.filter(case=mention.case).count() == 2


def test_an_extended_tweet_keeps_its_full_text_and_its_parent(deliver_x):
    deliver_x(fixture_bytes("x/tweet_create_extended.json"))
    mention = Mention.objects.get()
    assert mention.text.endswith("This is the second lost bag this year. Who do I talk to?")
    assert "\u2026" not in mention.text
    assert mention.parent_external_id == MENTION_ID
    assert mention.author_followers == 12890


def test_a_repeated_delivery_stores_no_duplicate(deliver_x):
    body = fixture_bytes("x/tweet_create_mention.json")
    deliver_x(body)
    again = deliver_x(body)

    assert again.status_code == 200
    assert InboundPayload.objects.filter(status="processed").count() == 2  # both deliveries are on record
    assert InboundPayload.objects.order_by("id").last().result == {"mentions_duplicate": 1}
    mention = Mention.objects.get()
    assert mention.attempts == 1
    assert CaseEvent.objects.filter(kind=EventKind.MENTION).count() == 1


def test_the_parse_task_run_twice_does_nothing_twice(deliver_x):
    deliver_x(fixture_bytes("x/tweet_create_mention.json"))
    payload = InboundPayload.objects.get()
    assert parse_inbound_payload.apply(args=[payload.pk]).get() == "processed"
    payload.refresh_from_db()
    assert payload.attempts == 1
    assert Mention.objects.count() == 1


def test_other_event_types_are_stored_and_acknowledged(deliver_x):
    response = deliver_x(fixture_bytes("x/favorite_events.json"))
    assert response.status_code == 200
    payload = InboundPayload.objects.get()
    assert payload.status == "processed"
    assert payload.result == {"ignored:favorite_events": 1}
    assert json.loads(bytes(payload.body))["favorite_events"][0]["user"]["screen_name"] == "danaflies"
    assert not Mention.objects.exists()


def test_a_brand_reply_goes_on_the_case_timeline_once(deliver_x):
    deliver_x(fixture_bytes("x/tweet_create_mention.json"))
    case = Mention.objects.get().case
    reply_body = fixture_bytes("x/brand_reply.json")
    deliver_x(reply_body)
    deliver_x(reply_body)  # the platform retried

    assert Mention.objects.count() == 1  # the brand's tweet is not a mention
    reply = CaseEvent.objects.get(case=case, kind=EventKind.REPLY)
    assert reply.actor is None
    assert reply.data["via"] == "channel"
    assert reply.data["source"] == "x"
    assert reply.data["external_id"] == "1991234567890155555"
    assert reply.data["text"].startswith("@danaflies We're sorry about SJ210")
    posted = datetime(2026, 11, 18, 9, 40, 10, tzinfo=UTC)
    assert reply.created_at == posted
    case.refresh_from_db()
    assert case.first_replied_at == posted
    assert case.status == CaseStatus.OPEN
    assert SlaClock.objects.get(case=case, metric=ClockMetric.FIRST_REPLY).stopped_at == posted
    results = list(InboundPayload.objects.order_by("id").values_list("result", flat=True))
    assert results[1:] == [{"replies_recorded": 1}, {"replies_already_recorded": 1}]


def test_a_brand_reply_waits_for_its_mention_to_be_processed(deliver_x):
    mention, _ = store_mention(source="x", external_id=MENTION_ID, text="@SkyJet my flight is delayed, unacceptable",
                               posted_at=datetime(2026, 11, 18, 9, 12, 44, tzinfo=UTC), author_handle="danaflies",
                               enqueue=False)
    deliver_x(fixture_bytes("x/brand_reply.json"))
    payload = InboundPayload.objects.get()
    assert payload.status == "received"  # kept for the recovery task, not dropped
    assert payload.result == {"replies_waiting": 1}
    assert "to be processed" in payload.detail

    process_mention(mention_id=mention.pk)
    assert parse_inbound_payload.apply(args=[payload.pk]).get() == "processed"
    mention.refresh_from_db()
    assert CaseEvent.objects.filter(case=mention.case, kind=EventKind.REPLY, data__via="channel").count() == 1


def test_a_deleted_tweet_marks_the_mention_removed(deliver_x):
    deliver_x(fixture_bytes("x/tweet_create_mention.json"))
    deliver_x(fixture_bytes("x/tweet_delete_events.json"))
    mention = Mention.objects.get()
    assert mention.removed_at == datetime(2026, 11, 18, 13, 0, tzinfo=UTC)
    assert mention.text.startswith("@SkyJet my flight SJ210")  # kept, only marked


def test_emoji_and_right_to_left_text_round_trip(deliver_x):
    body = fixture_bytes("x/tweet_create_rtl.json")
    assert "رحلتي".encode() in body  # raw UTF-8 on the wire, not \u escapes
    deliver_x(body)
    mention = Mention.objects.get()
    assert mention.text == "@SkyJet ✈️😡 رحلتي تأخرت مرة أخرى — הטיסה שלי בוטלה 🧳👎🏽"
    assert mention.author_name == "سارة القحطاني"
    assert mention.raw["author"]["location"] == "الرياض"
    assert bytes(InboundPayload.objects.get().body) == body


def test_escaped_unicode_is_verified_over_the_exact_bytes(deliver_x):
    data = fixture_json("x/tweet_create_rtl.json")
    body = json.dumps(data).encode()  # ensure_ascii: the same text as \uXXXX escapes
    assert deliver_x(body).status_code == 200
    assert Mention.objects.get().text == data["tweet_create_events"][0]["text"]


def test_a_bad_signature_is_403_and_quarantined(deliver, x_account):
    body = fixture_bytes("x/tweet_create_mention.json")
    response = deliver(X_URL, body, headers={"x-twitter-webhooks-signature": x_signature(body, "wrong-secret")})
    assert response.status_code == 403
    payload = InboundPayload.objects.get()
    assert (payload.status, payload.reason, payload.verified) == ("quarantined", "bad_signature", False)
    assert bytes(payload.body) == body[:1024] and payload.body_truncated  # only a prefix of a refused body
    assert payload.body_size == len(body)
    assert payload.headers["X-Twitter-Webhooks-Signature"] == x_signature(body, "wrong-secret")
    assert payload.account == x_account
    assert not Mention.objects.exists()


def test_a_tampered_body_is_403(deliver, x_account):
    body = fixture_bytes("x/tweet_create_mention.json")
    tampered = body.replace(b"unacceptable", b"wonderful!!!")
    response = deliver(X_URL, tampered, headers={"x-twitter-webhooks-signature": x_signature(body)})
    assert response.status_code == 403
    assert not Mention.objects.exists()


def test_a_missing_signature_is_401_and_quarantined(deliver, x_account):
    response = deliver(X_URL, fixture_bytes("x/tweet_create_mention.json"))
    assert response.status_code == 401
    assert response.json()["code"] == "missing_signature"
    payload = InboundPayload.objects.get()
    assert (payload.status, payload.reason) == ("quarantined", "missing_signature")
    assert not Mention.objects.exists()


def test_an_unknown_account_is_404_and_quarantined(deliver, x_account):
    body = fixture_bytes("x/tweet_create_mention.json")
    response = deliver("/hooks/x/someone-else/", body, headers={"x-twitter-webhooks-signature": x_signature(body)})
    assert response.status_code == 404
    payload = InboundPayload.objects.get()
    assert (payload.status, payload.reason, payload.account, payload.account_ref) == (
        "quarantined", "unknown_account", None, "someone-else")
    assert bytes(payload.body) == body[:1024] and payload.body_truncated  # read no further than that


def test_a_signed_request_is_not_refused_for_csrf(x_account):
    from django.test import Client

    body = fixture_bytes("x/favorite_events.json")
    response = Client(enforce_csrf_checks=True).post(
        X_URL, data=body, content_type="application/json", headers={"x-twitter-webhooks-signature": x_signature(body)}
    )
    assert response.status_code == 200
    payload = InboundPayload.objects.get()
    assert response.json() == {"code": "received", "message": "Received.", "id": payload.pk}
    assert (payload.verified, payload.status) == (True, "received")  # stored; its parse waits for the commit
