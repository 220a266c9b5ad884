"""What cannot be accepted is kept: oversized, unparseable, wrong content type; and replayed after a fix."""

import io
import json
import re

import pytest
from django.core.management import CommandError, call_command

from feedback.intake.models import Account, InboundPayload, Mention
from feedback.intake.webhooks.services import KEEP_BYTES, read_body

from .conftest import X_SECRET, X_URL, fixture_bytes, x_signature

pytestmark = pytest.mark.django_db


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
    body = read_body(stream, content_length=str(10 * 1024 * 1024), limit=5 * 1024 * 1024)
    assert stream.tell() == KEEP_BYTES
    assert (body.size, body.truncated) == (10 * 1024 * 1024, True)


def test_a_body_without_content_length_stops_at_the_limit():
    stream = io.BytesIO(b"y" * 1_000_000)
    body = read_body(stream, content_length=None, limit=200_000)
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


def test_unverified_payloads_are_replayed_only_on_request_and_only_if_they_now_verify(deliver, db):
    body = fixture_bytes("x/tweet_create_mention.json")
    # The account was not configured yet when X started delivering.
    deliver(X_URL, body, headers={"x-twitter-webhooks-signature": x_signature(body)})
    forged = deliver(X_URL, body, headers={"x-twitter-webhooks-signature": x_signature(body, "forged")})
    assert forged.status_code == 404
    assert InboundPayload.objects.filter(reason="unknown_account").count() == 2

    assert "skipped, signature never verified: 2" in _replay("--all")
    account = Account(platform="x", slug="skyjet-x", handle="SkyJet", platform_user_id="2244994945")
    account.set_secret(X_SECRET)
    account.save()
    output = _replay("--all", "--include-unverified")
    assert "processed: 1" in output and "still quarantined: 1 (Bad signature: 1)" in output
    assert Mention.objects.count() == 1
    processed = InboundPayload.objects.get(status="processed")
    assert processed.verified and processed.account == account


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
