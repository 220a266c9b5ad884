"""What cannot be accepted is kept: oversized, unparseable, wrong content type; and replayed after a fix."""

import io
import json
import re
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from feedback.intake.models import Account, InboundPayload, Mention
from feedback.intake.webhooks.services import read_body
from feedback.tasks import parse_inbound_payload, recover_inbound_payloads

from .conftest import META_URL, X_SECRET, X_URL, fixture_bytes, fixture_json, meta_signature, x_signature

pytestmark = pytest.mark.django_db

KEEP_BYTES = 1024  # BATON_WEBHOOK_REJECTED_KEEP_BYTES: what is kept of a refused body


def _replay(*args) -> str:
    out = io.StringIO()
    call_command("replay_quarantine", *args, stdout=out)
    return out.getvalue()


def test_a_10_mb_body_is_413_and_kept_in_part(deliver, x_account, settings):
    assert settings.BATON_WEBHOOK_MAX_BYTES == 5 * 1024 * 1024
    body = b'{"for_user_id": "2244994945", "padding": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    response = deliver(X_URL, body, headers={"x-twitter-webhooks-signature": x_signature(body)})
    assert response.status_code == 413
    payload = InboundPayload.objects.get()
    assert (payload.status, payload.reason, payload.verified) == ("quarantined", "too_large", False)
    assert payload.body_size == len(body)
    assert payload.body_truncated
    assert settings.BATON_WEBHOOK_REJECTED_KEEP_BYTES == KEEP_BYTES
    assert bytes(payload.body) == body[:KEEP_BYTES]


def test_a_body_over_djangos_upload_limit_but_under_ours_is_accepted(deliver, x_account, settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE < 3 * 1024 * 1024 < settings.BATON_WEBHOOK_MAX_BYTES
    data = json.loads(fixture_bytes("x/favorite_events.json"))
    data["favorite_events"][0]["favorited_status"]["text"] = "é" * (3 * 1024 * 1024 // 2)
    body = json.dumps(data, ensure_ascii=False).encode()
    response = deliver(X_URL, body, headers={"x-twitter-webhooks-signature": x_signature(body)})
    assert response.status_code == 200
    assert InboundPayload.objects.get().status == "processed"


def test_the_limit_is_a_setting(deliver, x_account, settings):
    settings.BATON_WEBHOOK_MAX_BYTES = 100
    body = fixture_bytes("x/favorite_events.json")
    assert deliver(X_URL, body, headers={"x-twitter-webhooks-signature": x_signature(body)}).status_code == 413


def test_an_oversized_body_is_read_no_further_than_what_is_kept():
    stream = io.BytesIO(b"x" * (10 * 1024 * 1024))
    body = read_body(stream, content_length=str(10 * 1024 * 1024), limit=5 * 1024 * 1024, keep=KEEP_BYTES)
    assert stream.tell() == KEEP_BYTES
    assert (body.size, body.truncated) == (10 * 1024 * 1024, True)


def test_a_body_without_content_length_stops_at_the_limit():
    stream = io.BytesIO(b"y" * 1_000_000)
    body = read_body(stream, content_length=None, limit=200_000, keep=KEEP_BYTES)
    assert body.truncated and len(body.data) == KEEP_BYTES
    assert stream.tell() < 200_000 + 2 * 64 * 1024


def test_truncated_json_is_200_quarantined_then_replayed_after_the_fix(deliver, x_account):
    full = fixture_bytes("x/tweet_create_mention.json")
    truncated = full[: len(full) // 2]  # a proxy cut the body; X signed what it sent
    response = deliver(X_URL, truncated, headers={"x-twitter-webhooks-signature": x_signature(truncated)})
    assert response.status_code == 200  # verified: the platform must not retry forever
    payload = InboundPayload.objects.get()
    assert (payload.status, payload.reason, payload.verified) == ("quarantined", "invalid_json", True)
    assert "line" in payload.detail
    assert not Mention.objects.exists()

    assert "still quarantined: 1 (Invalid JSON: 1)" in _replay("--id", str(payload.pk))

    # The fix: the complete body, recovered from the proxy's log, is put back on the payload.
    InboundPayload.objects.filter(pk=payload.pk).update(body=full)
    output = _replay("--reason-contains", "invalid json")
    assert "processed: 1" in output
    payload.refresh_from_db()
    assert (payload.status, payload.reason) == ("processed", "")
    assert payload.result == {"mentions_created": 1, "replayed_after": "invalid_json"}
    assert Mention.objects.get().external_id == "1991234567890123456"
    assert "No quarantined payloads match." in _replay("--all")


def test_a_wrong_content_type_is_200_and_quarantined(deliver, x_account):
    body = fixture_bytes("x/tweet_create_mention.json")
    response = deliver(X_URL, body, content_type="application/x-www-form-urlencoded",
                       headers={"x-twitter-webhooks-signature": x_signature(body)})
    assert response.status_code == 200
    payload = InboundPayload.objects.get()
    assert (payload.status, payload.reason) == ("quarantined", "unsupported_content_type")
    assert bytes(payload.body) == body  # Django did not parse it as a form
    assert not Mention.objects.exists()


MENTION = fixture_bytes("x/tweet_create_mention.json")


@pytest.mark.parametrize(
    ("body", "content_type", "reason", "detail", "fixed"),
    [
        (b'{"tweet_create_events": [}', "application/json", "invalid_json",
         "Expecting value at line 1 column 26 (body of 26 bytes).", {"body": MENTION}),
        (b"\xff\xfe{}", "application/json", "invalid_json",
         "The body is not UTF-8: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
         {"body": MENTION}),
        (MENTION, "text/plain", "unsupported_content_type",
         "Content-Type 'text/plain'; the platforms send application/json.", {"content_type": "application/json"}),
        (b'{"for_user_id": "2244994945"}', "application/json", "unknown_shape",
         "No Account Activity event in the payload (no *_events key).", {"body": MENTION}),
        (b"[]", "application/json", "unknown_shape", "An Account Activity payload is a JSON object.",
         {"body": MENTION}),
    ],
    ids=["bad-json", "not-utf8", "wrong-content-type", "no-events", "not-an-object"],
)
def test_a_body_that_does_not_parse_is_kept_answered_200_and_replayed_once_fixed(
    deliver, x_account, settings, body, content_type, reason, detail, fixed
):
    response = deliver(X_URL, body, content_type=content_type,
                       headers={"x-twitter-webhooks-signature": x_signature(body)})

    assert response.status_code == 200  # verified: answering an error would only make X send it again
    assert response.json() == {"code": "received", "message": "Received.", "id": InboundPayload.objects.get().pk}
    payload = InboundPayload.objects.get()
    assert (payload.status, payload.reason, payload.detail) == ("quarantined", reason, detail)
    assert (payload.verified, payload.attempts, payload.result, payload.processed_at) == (True, 1, {}, None)
    assert bytes(payload.body) == body and payload.body_size == len(body) and not payload.body_truncated
    assert payload.content_type == content_type
    assert payload.headers["X-Twitter-Webhooks-Signature"] == x_signature(body)
    assert not Mention.objects.exists()
    InboundPayload.objects.update(received_at=payload.received_at - settings.BATON_RECOVER_AFTER * 2)
    assert recover_inbound_payloads.apply().get() == 0  # only a replay takes a quarantined payload

    # The fix: the body as the platform meant it (recovered from a proxy's log), or the right media type.
    InboundPayload.objects.filter(pk=payload.pk).update(**fixed)
    output = _replay("--id", str(payload.pk))
    assert "processed: 1" in output and "still quarantined: 0" in output
    payload.refresh_from_db()
    assert (payload.status, payload.reason, payload.detail, payload.attempts) == ("processed", "", "", 2)
    assert payload.result == {"mentions_created": 1, "replayed_after": reason}
    mention = Mention.objects.get()
    assert (mention.external_id, mention.raw["inbound_payload_id"]) == ("1991234567890123456", payload.pk)


def test_a_nul_in_one_tweet_rejects_that_tweet_only_and_a_replay_takes_it_after_the_fix(deliver_x):
    """PostgreSQL refuses a NUL character in text: the field rules (feedback.intake.validation, as for the API)
    reject that tweet alone, before the database sees it; the other tweet is stored, and the payload is kept
    for a replay, which stores the fixed tweet and not the other one twice."""
    data = fixture_json("x/tweet_create_mention.json")
    good = data["tweet_create_events"][0]
    bad = {**good, "id_str": "1991234567890123999", "text": "@SkyJet bad \u0000 byte"}
    data["tweet_create_events"].append(bad)
    body = json.dumps(data).encode()

    response = deliver_x(body)

    assert response.status_code == 200
    payload = InboundPayload.objects.get()
    assert (payload.status, payload.reason, payload.attempts) == ("quarantined", "items_rejected", 1)
    assert payload.result == {"mentions_created": 1, "items_rejected": 1, "rejected": [
        {"kind": "mention", "external_id": "1991234567890123999", "fields": {
            "text": ["Null characters are not allowed."],
            "raw": ["Null characters are not allowed (PostgreSQL cannot store U+0000 in JSON)."],  # the tweet in raw
        }},
    ]}
    assert "mention 1991234567890123999: text: Null characters are not allowed." in payload.detail
    assert bytes(payload.body) == body
    assert list(Mention.objects.values_list("external_id", flat=True)) == ["1991234567890123456"]

    bad["text"] = "@SkyJet no bad byte"
    InboundPayload.objects.filter(pk=payload.pk).update(body=json.dumps(data).encode())
    assert "processed: 1" in _replay("--reason-contains", "items rejected")
    payload.refresh_from_db()
    assert (payload.status, payload.result) == (
        "processed", {"mentions_created": 1, "mentions_duplicate": 1, "replayed_after": "items_rejected"})
    assert sorted(Mention.objects.values_list("external_id", flat=True)) == ["1991234567890123456",
                                                                            "1991234567890123999"]


def test_a_value_the_parser_cannot_read_rejects_that_item_instead_of_failing_the_task(deliver_x, settings):
    """A delete event whose timestamp is not a number: the parse task must not raise (the payload would stay
    `received` and be retried every few minutes forever); that item is rejected, the payload kept for replay."""
    deliver_x(fixture_bytes("x/tweet_create_mention.json"))
    data = fixture_json("x/tweet_delete_events.json")
    data["tweet_delete_events"][0]["timestamp_ms"] = "soon"
    body = json.dumps(data).encode()

    response = deliver_x(body)

    assert response.status_code == 200
    payload = InboundPayload.objects.order_by("id").last()
    assert (payload.status, payload.reason, payload.attempts) == ("quarantined", "items_rejected", 1)
    assert payload.result["rejected"] == [{
        "kind": "tweet_delete_events", "external_id": "1991234567890123456",
        "fields": {"non_field_errors": ["ValueError: could not convert string to float: 'soon'"]},
    }]
    assert Mention.objects.get().removed_at is None
    assert parse_inbound_payload.apply(args=[payload.pk]).get() == "quarantined"  # a stray message: no change
    payload.refresh_from_db()
    assert payload.attempts == 1

    data["tweet_delete_events"][0]["timestamp_ms"] = "1795006800000"
    InboundPayload.objects.filter(pk=payload.pk).update(body=json.dumps(data).encode())
    assert "processed: 1" in _replay("--id", str(payload.pk))
    payload.refresh_from_db()
    assert payload.result == {"mentions_removed": 1, "replayed_after": "items_rejected"}
    assert Mention.objects.get().removed_at == datetime(2026, 11, 18, 13, 0, tzinfo=UTC)


def test_refused_deliveries_keep_a_prefix_and_only_a_whole_one_can_be_re_verified(deliver, db):
    """A refused delivery keeps its first BATON_WEBHOOK_REJECTED_KEEP_BYTES bytes: one that was longer cannot be
    verified again (the platform retries it once the account works); one that fitted is re-verified on request."""
    long_body = fixture_bytes("x/tweet_create_mention.json")
    short_body = fixture_bytes("x/favorite_events.json")
    assert len(short_body) <= KEEP_BYTES < len(long_body)
    # The account was not configured yet when X started delivering.
    for body in (long_body, short_body):
        deliver(X_URL, body, headers={"x-twitter-webhooks-signature": x_signature(body)})
    forged = deliver(X_URL, short_body, headers={"x-twitter-webhooks-signature": x_signature(short_body, "forged")})
    assert forged.status_code == 404
    assert InboundPayload.objects.filter(reason="unknown_account").count() == 3

    assert "skipped, signature never verified: 3" in _replay("--all")
    account = Account(platform="x", slug="skyjet-x", handle="SkyJet", platform_user_id="2244994945")
    account.set_secret(X_SECRET)
    account.save()
    output = _replay("--all", "--include-unverified")
    assert "processed: 1" in output
    assert "still quarantined: 2 (Bad signature: 1, Unknown account: 1)" in output
    processed = InboundPayload.objects.get(status="processed")
    assert processed.verified and processed.account == account and bytes(processed.body) == short_body
    cut = InboundPayload.objects.get(reason="unknown_account")
    assert cut.body_truncated and "cannot be verified" in cut.detail


@pytest.mark.parametrize(
    "args, message",
    [
        ((), "Say which payloads"),
        (("--all", "--id", "1"), "do not combine"),
        (("--id", "999999"), "Not quarantined (or unknown): [999999]"),
        (("--reason-contains", " "), "needs some text"),
    ],
)
def test_replay_refuses_bad_arguments_with_exit_code_2(args, message):
    with pytest.raises(CommandError, match=re.escape(message)) as error:
        _replay(*args)
    assert error.value.returncode == 2


def _sized(body_of, size: int) -> bytes:
    """body_of(padding) padded with ASCII so that it is exactly `size` bytes."""
    padding = size - len(body_of(0))
    assert padding >= 0
    body = body_of(padding)
    assert len(body) == size
    return body


def _meta_batch(padding: int) -> bytes:
    """A Page feed delivery of 1,000 comment updates, Meta's documented maximum batch, its messages padded to
    `padding` bytes in all."""
    data = fixture_json("meta/page_feed_comment_add.json")
    change = data["entry"][0]["changes"][0]
    changes = []
    for n in range(1000):
        value = dict(change["value"], comment_id=f"412233445566778_{n:015d}",
                     message="m" * (padding // 1000 + (padding % 1000 if n == 999 else 0)))
        changes.append({"field": "feed", "value": value})
    data["entry"][0]["changes"] = changes
    return json.dumps(data).encode()


def test_a_meta_batch_at_its_limit_is_accepted_and_one_byte_more_refused(client, fb_account, settings):
    """BATON_WEBHOOK_META_MAX_BYTES is sized for Meta's largest batch (1,000 updates); a delivery of that size is
    stored whole and signed as received, one byte over is 413 with a prefix kept."""
    limit = settings.BATON_WEBHOOK_META_MAX_BYTES
    assert limit >= 32 * 1000 * 1024 > settings.BATON_WEBHOOK_MAX_BYTES
    body = _sized(_meta_batch, limit)
    response = client.post(META_URL, data=body, content_type="application/json",
                           headers={"X-Hub-Signature-256": meta_signature(body)})
    assert response.status_code == 200, response.content[:300]
    payload = InboundPayload.objects.get(pk=response.json()["id"])
    assert (payload.status, payload.verified, payload.body_size, payload.body_truncated) == (
        "received", True, limit, False)
    assert bytes(payload.body) == body
    assert len(json.loads(bytes(payload.body))["entry"][0]["changes"]) == 1000

    over = _sized(_meta_batch, limit + 1)
    response = client.post(META_URL, data=over, content_type="application/json",
                           headers={"X-Hub-Signature-256": meta_signature(over)})
    assert response.status_code == 413
    refused = InboundPayload.objects.exclude(pk=payload.pk).get()
    assert (refused.reason, refused.body_size, len(bytes(refused.body))) == ("too_large", limit + 1, KEEP_BYTES)


def test_an_x_delivery_at_its_limit_is_accepted(client, x_account, settings):
    """X documents no delivery size: BATON_WEBHOOK_MAX_BYTES (5 MiB) is a generous bound, and a delivery of
    exactly that size is stored whole."""
    limit = settings.BATON_WEBHOOK_MAX_BYTES
    data = fixture_json("x/favorite_events.json")

    def body_of(padding: int) -> bytes:
        data["favorite_events"][0]["favorited_status"]["text"] = "x" * padding
        return json.dumps(data).encode()

    body = _sized(body_of, limit)
    response = client.post(X_URL, data=body, content_type="application/json",
                           headers={"x-twitter-webhooks-signature": x_signature(body)})
    assert response.status_code == 200, response.content[:300]
    payload = InboundPayload.objects.get()
    assert (payload.status, payload.verified, payload.body_size, payload.body_truncated) == (
        "received", True, limit, False)
    assert bytes(payload.body) == body
