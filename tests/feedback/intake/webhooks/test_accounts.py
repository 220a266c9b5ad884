"""Connected accounts: secrets encrypted at rest, from the environment, never shown in full."""

import logging

import pytest

from feedback.intake.models import Account, InboundPayload
from feedback.intake.webhooks.crypto import SecretUnavailable

from .conftest import META_SECRET, VERIFY_TOKEN, X_SECRET, X_URL, fixture_bytes, x_signature

pytestmark = pytest.mark.django_db


def test_secrets_are_encrypted_at_rest(x_account):
    stored = Account.objects.values("secret_ciphertext").get(pk=x_account.pk)["secret_ciphertext"]
    assert stored and X_SECRET not in stored
    assert Account.objects.get(pk=x_account.pk).secret == X_SECRET
    assert x_account.secret_hint == "…abcd"


def test_a_rotated_field_key_still_reads_old_secrets_and_a_lost_key_reads_none(x_account, settings):
    settings.BATON_FIELD_KEY = "new-field-key"  # the key the secret was encrypted with (SECRET_KEY) is gone
    with pytest.raises(SecretUnavailable):
        _ = Account.objects.get(pk=x_account.pk).secret
    settings.BATON_FIELD_KEY = f"new-field-key,{settings.SECRET_KEY}"
    assert Account.objects.get(pk=x_account.pk).secret == X_SECRET


def test_a_secret_can_come_from_the_environment(db, monkeypatch, client):
    monkeypatch.setenv("SKYJET_X_SECRET", "from-the-environment-0000")
    Account.objects.create(platform="x", slug="skyjet-x", handle="SkyJet", secret_env="SKYJET_X_SECRET")
    body = fixture_bytes("x/favorite_events.json")
    signed = x_signature(body, "from-the-environment-0000")
    assert client.post(X_URL, body, content_type="application/json",
                       headers={"x-twitter-webhooks-signature": signed}).status_code == 200
    monkeypatch.delenv("SKYJET_X_SECRET")
    response = client.post(X_URL, body, content_type="application/json",
                           headers={"x-twitter-webhooks-signature": signed})
    assert response.status_code == 503  # misconfigured: the platform retries later; the payload is kept
    assert InboundPayload.objects.filter(reason="account_misconfigured").count() == 1


def test_admin_shows_only_the_last_four_characters(admin_client, x_account, fb_account, caplog):
    caplog.set_level(logging.DEBUG)
    listing = admin_client.get("/admin/feedback/account/").content.decode()
    page = admin_client.get(f"/admin/feedback/account/{fb_account.pk}/change/").content.decode()
    for secret in (X_SECRET, META_SECRET, VERIFY_TOKEN):
        assert secret not in listing and secret not in page
    assert "…abcd" in listing and "…wxyz" in page and "…7f3a" in page
    assert "/hooks/meta/skyjet-fb/" in page
    assert all(secret not in caplog.text for secret in (X_SECRET, META_SECRET, VERIFY_TOKEN))


def test_admin_sets_a_new_secret_and_keeps_the_old_one_when_left_empty(admin_client, x_account):
    form = {"platform": "x", "slug": "skyjet-x", "handle": "SkyJet", "platform_user_id": "2244994945",
            "is_active": "on", "secret_env": "", "verify_token_env": "", "new_secret": "", "new_verify_token": ""}
    assert admin_client.post(f"/admin/feedback/account/{x_account.pk}/change/", form).status_code == 302
    assert Account.objects.get(pk=x_account.pk).secret == X_SECRET
    form["new_secret"] = "rotated-consumer-secret-9999"
    assert admin_client.post(f"/admin/feedback/account/{x_account.pk}/change/", form).status_code == 302
    assert Account.objects.get(pk=x_account.pk).secret == "rotated-consumer-secret-9999"


def test_admin_counts_quarantine_per_reason(admin_client, deliver, x_account):
    body = fixture_bytes("x/tweet_create_mention.json")
    deliver(X_URL, body)  # missing signature
    deliver(X_URL, body, headers={"x-twitter-webhooks-signature": "sha256=nope"})
    deliver(X_URL, body[:100], headers={"x-twitter-webhooks-signature": x_signature(body[:100])})
    deliver(X_URL, body, headers={"x-twitter-webhooks-signature": x_signature(body)})
    page = admin_client.get("/admin/feedback/inboundpayload/").content.decode()
    assert "Inbound payloads: 3 quarantined (Bad signature: 1, Invalid JSON: 1, Missing signature: 1)" in page
    assert "0 waiting, 1 processed" in page
    filtered = admin_client.get("/admin/feedback/inboundpayload/?reason=invalid_json").content.decode()
    assert "1 inbound webhook payload" in filtered
    quarantined = InboundPayload.objects.get(reason="invalid_json")
    detail = admin_client.get(f"/admin/feedback/inboundpayload/{quarantined.pk}/change/").content.decode()
    assert "X-Twitter-Webhooks-Signature" in detail and "tweet_create_events" in detail
