"""Intake that cannot be abused: the account and the signature are checked before a body is stored, refusals
are counted per account and reason with only a prefix kept, rate limits answer 429 with Retry-After, and
quarantined payloads are pruned after their retention.

The rate-limit counters are in the cache: this test run's Redis (REDIS_URL), emptied before each test. The limits
are per hour: the counters are fixed windows, and a test's requests must not straddle two of them (a per-minute
window ended mid-test once, at hh:mm:00.0)."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from feedback.intake.models import InboundPayload, Mention, RejectedDeliveryCount
from feedback.intake.webhooks.services import prune_inbound_payloads
from feedback.tasks import prune_inbound_payloads as prune_task

from .conftest import META_URL, VERIFY_TOKEN, X_URL, fixture_bytes, meta_signature, x_signature

pytestmark = pytest.mark.django_db

TWEET = fixture_bytes("x/tweet_create_mention.json")
KEEP = 1024


def _counts() -> dict:
    return {(row.account_ref, row.reason): row.count for row in RejectedDeliveryCount.objects.all()}


def _forged(deliver, n: int = 1, url: str = X_URL, **kwargs):
    return [deliver(url, TWEET, headers={"x-twitter-webhooks-signature": x_signature(TWEET, f"forged-{i}")}, **kwargs)
            for i in range(n)]


def test_a_refused_delivery_is_counted_per_account_and_reason_and_keeps_only_a_prefix(deliver, x_account):
    big = TWEET + b" " * 200_000  # still JSON, under the 5 MB limit, but refused: the prefix only
    deliver(X_URL, big, headers={"x-twitter-webhooks-signature": x_signature(big, "forged")})
    deliver(X_URL, big)  # no signature
    deliver("/hooks/x/nobody/", big, headers={"x-twitter-webhooks-signature": x_signature(big)})
    deliver(X_URL, big, headers={"x-twitter-webhooks-signature": x_signature(big, "forged-again")})

    assert _counts() == {("skyjet-x", "bad_signature"): 2, ("skyjet-x", "missing_signature"): 1,
                         ("", "unknown_account"): 1}
    assert RejectedDeliveryCount.objects.get(reason="missing_signature").bytes == len(big)
    for payload in InboundPayload.objects.all():
        assert (payload.status, payload.verified, payload.body_truncated) == ("quarantined", False, True)
        assert bytes(payload.body) == big[:KEEP] and payload.body_size == len(big)
        assert payload.body_sha256 == ""
    assert not Mention.objects.exists()


def test_the_headers_of_a_refused_delivery_are_kept_in_part(deliver, x_account):
    headers = {"x-twitter-webhooks-signature": "sha256=forged", "X-Padding": "p" * 5000}
    headers.update({f"X-Extra-{i}": "e" for i in range(60)})
    deliver(X_URL, TWEET, headers=headers)
    kept = InboundPayload.objects.get().headers
    assert len(kept) <= 40 and all(len(value) <= 300 for value in kept.values())
    assert kept["X-Padding"] == "p" * 300


def test_an_announced_oversize_is_refused_before_the_body_is_read(client, x_account, settings):
    settings.BATON_WEBHOOK_MAX_BYTES = 4096
    body = b'{"tweet_create_events": []}' + b" " * 10_000
    response = client.post(X_URL, data=body, content_type="application/json",
                           headers={"x-twitter-webhooks-signature": x_signature(body)})
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    payload = InboundPayload.objects.get()
    assert (payload.reason, payload.body_size, len(payload.body)) == ("too_large", len(body), KEEP)
    assert "announced" in payload.detail


def test_a_delivery_that_verifies_is_not_limited_by_the_refusals_of_its_account(deliver, deliver_x, settings):
    settings.BATON_WEBHOOK_REJECTS_PER_ACCOUNT = "3/hour"
    responses = _forged(deliver, 6)
    assert [response.status_code for response in responses] == [403, 403, 403, 429, 429, 429]
    limited = responses[-1]
    assert limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 3600
    assert InboundPayload.objects.count() == 3  # past the limit: counted, not kept
    assert _counts() == {("skyjet-x", "bad_signature"): 3, ("skyjet-x", "rate_limited"): 3}

    genuine = deliver_x(TWEET)
    assert genuine.status_code == 200
    assert Mention.objects.get().external_id == "1991234567890123456"


def test_refusals_for_unknown_accounts_share_one_count(deliver, settings):
    settings.BATON_WEBHOOK_REJECTS_PER_ACCOUNT = "2/hour"
    statuses = [deliver(f"/hooks/x/random-{i}/", TWEET).status_code for i in range(5)]
    assert statuses == [404, 404, 429, 429, 429]
    assert _counts() == {("", "unknown_account"): 2, ("", "rate_limited"): 3}
    assert InboundPayload.objects.count() == 2


def test_one_client_address_is_limited_across_accounts(deliver, x_account, fb_account, settings):
    settings.BATON_WEBHOOK_RATE_PER_IP = "4/hour"
    statuses = [response.status_code for response in _forged(deliver, 3)]
    meta_body = fixture_bytes("meta/page_feed_comment_add.json")
    statuses.append(deliver(META_URL, meta_body, headers={"X-Hub-Signature-256": meta_signature(meta_body)})
                    .status_code)
    # The fifth X delivery from this address, signed or not, waits: the limit is on the address.
    fifth = deliver(X_URL, TWEET, headers={"x-twitter-webhooks-signature": x_signature(TWEET)})
    assert statuses + [fifth.status_code] == [403, 403, 403, 200, 429]
    assert fifth.json() == {"code": "rate_limited", "message": "Too many requests from this address; try again "
                                                               "later.", "fields": {}}
    assert 1 <= int(fifth["Retry-After"]) <= 3600
    assert ("", "rate_limited") in _counts()
    # Another address is not limited by this one's deliveries.
    other = deliver(X_URL, TWEET, headers={"x-twitter-webhooks-signature": x_signature(TWEET)},
                    REMOTE_ADDR="198.51.100.7")
    assert other.status_code == 200


def test_behind_a_trusted_proxy_the_forwarded_address_is_limited(deliver, x_account, settings):
    settings.BATON_WEBHOOK_RATE_PER_IP = "2/hour"
    settings.BATON_TRUSTED_PROXY = True
    forger = {"HTTP_X_FORWARDED_FOR": "203.0.113.66"}
    statuses = [response.status_code for response in _forged(deliver, 3, **forger)]
    assert statuses == [403, 403, 429]
    genuine = deliver(X_URL, TWEET, headers={"x-twitter-webhooks-signature": x_signature(TWEET)},
                      HTTP_X_FORWARDED_FOR="199.16.156.10")
    assert genuine.status_code == 200


def test_without_a_trusted_proxy_a_forwarded_address_is_ignored(deliver, x_account, settings):
    settings.BATON_WEBHOOK_RATE_PER_IP = "2/hour"
    statuses = [deliver(X_URL, TWEET, HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code for i in range(3)]
    assert statuses == [401, 401, 429]  # a new forwarded address per request does not escape the limit


def test_an_address_with_too_many_refused_deliveries_waits_even_with_a_signed_one(deliver, x_account, settings):
    settings.BATON_WEBHOOK_REJECTS_PER_IP = "3/hour"
    settings.BATON_TRUSTED_PROXY = True
    forger = {"HTTP_X_FORWARDED_FOR": "203.0.113.66"}
    statuses = [response.status_code for response in _forged(deliver, 5, **forger)]
    assert statuses == [403, 403, 403, 429, 429]
    signed = {"headers": {"x-twitter-webhooks-signature": x_signature(TWEET)}}
    blocked = deliver(X_URL, TWEET, **signed, **forger)
    assert blocked.status_code == 429 and 1 <= int(blocked["Retry-After"]) <= 3600
    assert InboundPayload.objects.count() == 3  # nothing of the blocked address's later deliveries is kept
    assert deliver(X_URL, TWEET, **signed, HTTP_X_FORWARDED_FOR="199.16.156.10").status_code == 200  # the platform


def test_guessing_the_verify_token_is_limited_per_address(client, fb_account, settings):
    """Meta's subscription check compares a shared token: wrong guesses count as refusals of the address."""
    settings.BATON_WEBHOOK_REJECTS_PER_IP = "3/hour"
    guesses = [client.get(META_URL, {"hub.mode": "subscribe", "hub.verify_token": f"guess-{n}",
                                     "hub.challenge": "c"}).status_code for n in range(3)]
    right = client.get(META_URL, {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "c"})
    assert guesses + [right.status_code] == [403, 403, 403, 429]
    assert int(right["Retry-After"]) >= 1
    elsewhere = client.get(META_URL, {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                      "hub.challenge": "c"}, REMOTE_ADDR="198.51.100.9")
    assert (elsewhere.status_code, elsewhere.content) == (200, b"c")


def test_crc_checks_count_toward_the_address_limit(client, x_account, settings):
    settings.BATON_WEBHOOK_RATE_PER_IP = "2/hour"
    statuses = [client.get(X_URL, {"crc_token": "abc"}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_a_limit_of_zero_is_off(deliver, x_account, settings):
    settings.BATON_WEBHOOK_RATE_PER_IP = "0/hour"
    settings.BATON_WEBHOOK_REJECTS_PER_IP = "0/hour"
    settings.BATON_WEBHOOK_REJECTS_PER_ACCOUNT = ""
    assert {response.status_code for response in _forged(deliver, 70)} == {403}


def test_a_wrong_content_length_does_not_read_past_the_limit(client, x_account, settings):
    """Django reads by Content-Length: a body longer than announced is cut there (and fails its signature)."""
    settings.BATON_WEBHOOK_MAX_BYTES = 2048
    body = TWEET
    response = client.post(X_URL, data=body, content_type="application/json", CONTENT_LENGTH="100",
                           headers={"x-twitter-webhooks-signature": x_signature(body)})
    assert response.status_code == 403
    assert InboundPayload.objects.get().body_size == 100


# --- Retention ----------------------------------------------------------------------------------------


def _aged(payload_id: int, days: float) -> None:
    InboundPayload.objects.filter(pk=payload_id).update(received_at=timezone.now() - timedelta(days=days))


def test_the_retention_job_prunes_old_refusals_and_quarantined_payloads_only(deliver, deliver_x, settings):
    assert (settings.BATON_REJECTED_RETENTION_DAYS, settings.BATON_QUARANTINE_RETENTION_DAYS) == (7, 30)
    deliver_x(TWEET)  # processed: kept
    processed = InboundPayload.objects.get()
    old_refused, new_refused = (response.json() for response in _forged(deliver, 2))
    assert old_refused["code"] == "bad_signature"
    refused_ids = list(InboundPayload.objects.filter(verified=False).order_by("id").values_list("id", flat=True))
    broken = b'{"tweet_create_events": [}'
    deliver_x(broken)
    quarantined = InboundPayload.objects.get(reason="invalid_json")
    young_quarantined = deliver_x(broken).json()["id"]
    _aged(refused_ids[0], 8)
    _aged(refused_ids[1], 6)
    _aged(quarantined.pk, 31)
    _aged(young_quarantined, 29)
    _aged(processed.pk, 400)
    RejectedDeliveryCount.objects.create(day=(timezone.now() - timedelta(days=9)).date(), channel="x",
                                         account_ref="skyjet-x", reason="bad_signature", count=5,
                                         last_at=timezone.now() - timedelta(days=9))

    result = prune_task.apply().get()

    assert result == {"refused": 1, "quarantined": 1, "counts": 1}
    assert set(InboundPayload.objects.values_list("id", flat=True)) == {processed.pk, refused_ids[1],
                                                                          young_quarantined}
    assert RejectedDeliveryCount.objects.get().count == 2  # today's bad signatures
    assert prune_inbound_payloads().refused == 0


def test_the_retention_job_works_in_batches_and_says_when_there_is_more(deliver, x_account):
    _forged(deliver, 5)
    InboundPayload.objects.update(received_at=timezone.now() - timedelta(days=10))
    first = prune_inbound_payloads(batch=3)
    assert (first.refused, first.more) == (3, True)
    second = prune_inbound_payloads(batch=3)
    assert (second.refused, second.more) == (2, False)
    assert not InboundPayload.objects.exists()


def test_the_retention_job_is_on_the_beat_schedule():
    entry = django_settings.CELERY_BEAT_SCHEDULE["prune-inbound-payloads"]
    assert entry["task"] == "feedback.tasks.prune_inbound_payloads"
    assert entry["options"]["expires"] < entry["schedule"].total_seconds()
