"""Intake while the broker is down, on the real stack.

A gunicorn web process (as the Procfile runs it) whose CELERY_BROKER_URL points at a port where
nothing listens accepts a signed X delivery and API mentions: each enqueue after commit really
fails (the log says so), and each is stored and answered as documented. Once the broker answers
again, the recovery tasks that beat runs re-enqueue them and a real worker on Redis processes them.
"""

import json
import urllib.error
import urllib.request
from contextlib import contextmanager
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.contrib.auth.models import Permission
from django.db import connections
from rest_framework.authtoken.models import Token

from config.celery import app
from feedback.choices import MentionStatus
from feedback.intake.models import Account, InboundPayload, Mention
from feedback.tasks import recover_inbound_payloads, recover_unprocessed_mentions
from tests.concurrency import wait_for
from tests.factories import UserFactory
from tests.servers import web_process

from .webhooks.conftest import X_SECRET, fixture_bytes, x_signature

DOWN_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def _post(url: str, body: bytes, headers: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@contextmanager
def worker():
    """A real Celery worker (a thread of this process) on the test Redis broker, queue emptied first."""
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("celery")

    def close_worker_connections(**kwargs):
        connections.close_all()  # the worker thread's own connection; else the test DB cannot be dropped

    task_postrun.connect(close_worker_connections, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        task_postrun.disconnect(close_worker_connections)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_delivery_and_api_mentions_accepted_while_the_broker_is_down_are_processed_when_it_is_back(
    settings, tmp_path
):
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "make test runs the worker on Redis"
    account = Account(platform="x", slug="skyjet-x", handle="SkyJet", platform_user_id="2244994945")
    account.set_secret(X_SECRET)
    account.save()
    user = UserFactory(username="integration")
    user.user_permissions.add(Permission.objects.get(codename="add_mention", content_type__app_label="feedback"))
    api_headers = {"Authorization": f"Token {Token.objects.create(user=user).key}",
                   "Content-Type": "application/json"}
    tweet = fixture_bytes("x/tweet_create_mention.json")

    def item(n: int, text: str) -> dict:
        return {"source": "x", "external_id": f"down-{n}", "author_handle": f"offline{n}",
                "posted_at": "2026-11-20T09:00:00Z", "text": text}

    log = tmp_path / "gunicorn.log"
    with web_process(settings, log, DOWN_BROKER) as base:
        hook = _post(f"{base}/hooks/x/skyjet-x/", tweet,
                     {"Content-Type": "application/json", "x-twitter-webhooks-signature": x_signature(tweet)})
        one = _post(f"{base}/api/v1/mentions/", json.dumps(item(1, "@SkyJet lost my bag again")).encode(),
                    api_headers)
        many = _post(f"{base}/api/v1/mentions/", json.dumps([
            item(2, "@SkyJet my flight is delayed, unacceptable"), item(3, "@SkyJet thank you, great crew!"),
        ]).encode(), api_headers)

    # Answered as documented, although nothing could be enqueued.
    payload = InboundPayload.objects.get()
    assert hook == (200, {"code": "received", "message": "Received.", "id": payload.pk})
    assert one[0] == 201 and one[1]["external_id"] == "down-1"
    assert many == (200, {"results": [
        {"index": 0, "outcome": "created", "id": Mention.objects.get(external_id="down-2").pk},
        {"index": 1, "outcome": "created", "id": Mention.objects.get(external_id="down-3").pk},
    ], "created": 2, "duplicates": 0, "errors": 0})
    # Each of the three enqueues after commit was tried and failed on the unreachable broker.
    output = log.read_text()
    assert output.count("in on_commit()") == 3, output[-5000:]
    assert "127.0.0.1:1" in output and "Connection refused" in output, output[-5000:]
    # Stored, waiting for the recovery task.
    assert (payload.status, payload.verified, payload.attempts, payload.account) == ("received", True, 0, account)
    assert bytes(payload.body) == tweet
    assert sorted(Mention.objects.values_list("external_id", "status", "attempts")) == [
        ("down-1", MentionStatus.RECEIVED, 0), ("down-2", MentionStatus.RECEIVED, 0),
        ("down-3", MentionStatus.RECEIVED, 0),
    ]

    # The broker is back: the next beat ticks of the two recovery tasks, and a worker.
    assert (recover_unprocessed_mentions.run(), recover_inbound_payloads.run()) == (0, 0)  # too recent yet
    settings.BATON_RECOVER_AFTER = timedelta(0)
    with worker():
        assert recover_unprocessed_mentions.run() == 3
        assert recover_inbound_payloads.run() == 1
        done = wait_for(lambda: Mention.objects.filter(status=MentionStatus.PROCESSED).count() == 4
                        and InboundPayload.objects.filter(status="processed").exists(), timeout=60)
    assert done, (list(Mention.objects.values_list("external_id", "status", "error")),
                  list(InboundPayload.objects.values_list("status", "reason", "detail")))

    payload.refresh_from_db()
    assert (payload.status, payload.attempts, payload.result) == ("processed", 1, {"mentions_created": 1})
    mentions = {mention.external_id: mention for mention in Mention.objects.select_related("case__department")}
    assert set(mentions) == {"down-1", "down-2", "down-3", "1991234567890123456"}
    assert {external_id: mention.attempts for external_id, mention in mentions.items()} == dict.fromkeys(mentions, 1)
    assert {external_id: mention.case.department.slug for external_id, mention in mentions.items()} == {
        "down-1": "service", "down-2": "service", "down-3": "marketing", "1991234567890123456": "service",
    }
    assert mentions["1991234567890123456"].raw["inbound_payload_id"] == payload.pk
