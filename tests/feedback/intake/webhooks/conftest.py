"""Accounts, signed deliveries and payload fixtures for the webhook tests.

Signatures are computed here with hmac/hashlib directly, the way the platforms document them,
not with Baton's own `signatures` module, so the tests check Baton against the platforms.
"""

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from django.core.cache import cache

from feedback.intake.models import Account

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"

X_SECRET = "xk-consumer-secret-0123456789-abcd"
META_SECRET = "meta-app-secret-9876543210-wxyz"
VERIFY_TOKEN = "skyjet-verify-token-7f3a"

X_URL = "/hooks/x/skyjet-x/"
META_URL = "/hooks/meta/skyjet-fb/"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> dict:
    return json.loads(fixture_bytes(name))


def x_signature(body: bytes, secret: str = X_SECRET) -> str:
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def meta_signature(body: bytes, secret: str = META_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """The webhooks' rate-limit counters live in the cache (this test run's Redis database): each test starts
    with none, whatever the tests before it sent."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def x_account(db):
    account = Account(platform="x", slug="skyjet-x", handle="SkyJet", platform_user_id="2244994945")
    account.set_secret(X_SECRET)
    account.save()
    return account


@pytest.fixture
def fb_account(db):
    account = Account(platform="facebook", slug="skyjet-fb", handle="SkyJet Airlines",
                      platform_user_id="104729845923671")
    account.set_secret(META_SECRET)
    account.set_verify_token(VERIFY_TOKEN)
    account.save()
    return account


@pytest.fixture
def ig_account(db):
    account = Account(platform="instagram", slug="skyjet-ig", handle="skyjet", platform_user_id="17841405793187218")
    account.set_secret(META_SECRET)
    account.set_verify_token(VERIFY_TOKEN)
    account.save()
    return account


@pytest.fixture
def deliver(client, task_queue, django_capture_on_commit_callbacks):
    """POST a body the way the platform does; the response commits, its parse task goes through the
    broker and runs, then the mention processing that the parse enqueued, as a worker runs them."""

    def _deliver(url: str, body: bytes, *, headers: dict | None = None, content_type: str = "application/json",
                 **extra):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, data=body, content_type=content_type, headers=headers or {}, **extra)
        task_queue.run()
        return response

    return _deliver


@pytest.fixture
def deliver_x(deliver, x_account):
    def _deliver_x(body: bytes, **kwargs):
        return deliver(X_URL, body, headers={"x-twitter-webhooks-signature": x_signature(body)}, **kwargs)

    return _deliver_x


@pytest.fixture
def deliver_meta(deliver, fb_account):
    def _deliver_meta(body: bytes, url: str = META_URL, **kwargs):
        return deliver(url, body, headers={"X-Hub-Signature-256": meta_signature(body)}, **kwargs)

    return _deliver_meta
