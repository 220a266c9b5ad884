"""A flood against a live gunicorn (two gthread workers, Redis counting the rate limits): 300 forged and 300
oversized webhook deliveries (announced and chunked) from three addresses behind a trusted proxy, eight at a time,
with two genuine signed deliveries from the platform's address (one chunked) sent in the middle of them.

Every forged or oversized delivery is refused with its status (403, 413 or 429 with Retry-After), each one is
counted, the stored rows and bytes stay under the stated bound (BATON_WEBHOOK_REJECTS_PER_ACCOUNT rows of at most
BATON_WEBHOOK_REJECTED_KEEP_BYTES each), and the genuine deliveries are stored whole, once, and ingested."""

import http.client
import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.db.models import Sum
from django.db.models.functions import Length

from config.celery import app
from feedback.intake.models import Account, InboundPayload, Mention, RejectedDeliveryCount
from feedback.intake.webhooks.services import parse_payload
from tests.feedback.intake.webhooks.conftest import X_SECRET, fixture_bytes, x_signature
from tests.servers import web_process

MAX_BYTES = 64 * 1024
KEEP = 1024
REJECTS_PER_ACCOUNT = 40
REFUSED_PER_ADDRESS = 30
FORGERS = ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
PLATFORM = "199.16.156.10"
# The bound this test states: refused deliveries keep at most this many bytes of body in total.
STORED_BODY_BOUND = REJECTS_PER_ACCOUNT * KEEP


def _send(base: str, *, body: bytes, headers: dict, chunked: bool = False) -> tuple[int, dict, dict]:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        if chunked:
            pieces = [body[start:start + 8192] for start in range(0, len(body), 8192)]
            connection.request("POST", "/hooks/x/skyjet-x/", body=iter(pieces), headers=headers, encode_chunked=True)
        else:
            connection.request("POST", "/hooks/x/skyjet-x/", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read() or b"{}")
    finally:
        connection.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_flood_of_forged_and_oversized_deliveries_is_refused_and_a_genuine_one_gets_through(settings, tmp_path):
    account = Account(platform="x", slug="skyjet-x", handle="SkyJet", platform_user_id="2244994945")
    account.set_secret(X_SECRET)
    account.save()
    cache.clear()  # the rate-limit counters: the web process counts in this run's Redis too
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("celery")

    tweet = fixture_bytes("x/tweet_create_mention.json")
    oversized = b'{"tweet_create_events": [], "padding": "' + b"p" * (MAX_BYTES + 8 * 1024) + b'"}'
    deliveries = []
    for n in range(300):
        deliveries.append({"kind": "forged", "body": tweet, "chunked": False, "headers": {
            "x-twitter-webhooks-signature": x_signature(tweet, f"guess-{n}")}})
        deliveries.append({"kind": "oversized", "body": oversized, "chunked": n % 3 == 0, "headers": {
            "x-twitter-webhooks-signature": x_signature(oversized)}})  # even correctly signed: too large
    for n, delivery in enumerate(deliveries):
        delivery["headers"].update({"Content-Type": "application/json", "X-Forwarded-For": FORGERS[n % 3]})
    extended = fixture_bytes("x/tweet_create_extended.json")
    for position, body, chunked in ((300, tweet, False), (150, extended, True)):  # one of them chunked
        deliveries.insert(position, {"kind": "genuine", "body": body, "chunked": chunked, "headers": {
            "Content-Type": "application/json", "X-Forwarded-For": PLATFORM,
            "x-twitter-webhooks-signature": x_signature(body)}})

    env = {
        "BATON_WEBHOOK_MAX_BYTES": str(MAX_BYTES),
        "BATON_WEBHOOK_REJECTED_KEEP_BYTES": str(KEEP),
        # Per hour, so that a minute boundary during the test does not reset the counts.
        "BATON_WEBHOOK_REJECTS_PER_ACCOUNT": f"{REJECTS_PER_ACCOUNT}/hour",
        "BATON_WEBHOOK_RATE_PER_IP": "1000/hour",
        "BATON_WEBHOOK_REJECTS_PER_IP": f"{REFUSED_PER_ADDRESS}/hour",
        "DJANGO_TRUSTED_PROXY": "true",  # the test plays the proxy: X-Forwarded-For says who sent each
    }
    with web_process(settings, tmp_path / "gunicorn.log", settings.CELERY_BROKER_URL, env=env,
                     gunicorn_args=("--workers", "2", "--threads", "4", "--worker-class", "gthread")) as base:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda d: _send(base, body=d["body"], headers=d["headers"],
                                                    chunked=d["chunked"]), deliveries))
        elapsed = time.perf_counter() - started
    print(f"flood: {len(deliveries)} deliveries answered in {elapsed:.1f} s ({len(deliveries) / elapsed:.0f}/s)")
    log = (tmp_path / "gunicorn.log").read_text()

    by_kind = {"forged": Counter(), "oversized": Counter(), "genuine": Counter()}
    for delivery, (status, headers, body) in zip(deliveries, answers, strict=True):
        by_kind[delivery["kind"]][status] += 1
        if status == 429:
            assert body["code"] == "rate_limited" and 1 <= int(headers["Retry-After"]) <= 3600
        else:
            assert body["code"] in {"bad_signature", "too_large", "received"}, body
    assert set(by_kind["forged"]) <= {403, 429} and set(by_kind["oversized"]) <= {413, 429}, by_kind
    assert sum(by_kind["forged"].values()) == sum(by_kind["oversized"].values()) == 300
    assert by_kind["genuine"] == Counter({200: 2})
    print(f"flood: {dict((kind, dict(counts)) for kind, counts in by_kind.items())}")  # the figures, with -s
    limited = by_kind["forged"][429] + by_kind["oversized"][429]
    # Each forger address has about 30 of its 200 deliveries refused (a few more when parallel requests pass the
    # check together), then waits; of the refusals, the account keeps 40 and counts the rest: all the others 429.
    assert limited == 600 - REJECTS_PER_ACCOUNT, by_kind
    assert "Traceback" not in log and " 500 " not in log

    refused = InboundPayload.objects.filter(verified=False)
    assert refused.count() == REJECTS_PER_ACCOUNT
    stored_bytes = refused.aggregate(total=Sum(Length("body")))["total"]
    print(f"flood: {refused.count()} refused rows kept, {stored_bytes} body bytes (bound {STORED_BODY_BOUND})")
    assert stored_bytes <= STORED_BODY_BOUND
    assert all(len(bytes(body)) <= KEEP for body in refused.values_list("body", flat=True))
    chunked = [payload for payload in refused if payload.headers.get("Transfer-Encoding") == "chunked"]
    assert chunked and all(payload.reason == "too_large" and payload.body_size > MAX_BYTES for payload in chunked)
    counted = RejectedDeliveryCount.objects.aggregate(total=Sum("count"))["total"]
    assert counted == 600  # every refusal is counted, the ones not kept too
    reasons = dict(RejectedDeliveryCount.objects.values_list("reason").annotate(total=Sum("count")))
    assert reasons["rate_limited"] == limited

    genuine = InboundPayload.objects.filter(verified=True).order_by("id")
    assert sorted(bytes(payload.body) for payload in genuine) == sorted([tweet, extended])  # whole, chunked too
    for payload in genuine:
        outcome = parse_payload(payload_id=payload.pk)  # as the worker's task does with the id it was sent
        assert outcome.status == "processed"
    assert Mention.objects.filter(external_id="1991234567890123456").count() == 1
    assert Mention.objects.count() == 2
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("celery")
