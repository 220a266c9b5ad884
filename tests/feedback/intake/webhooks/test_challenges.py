"""The GET handshakes: X's CRC check and Meta's subscription verification."""

import base64
import hashlib
import hmac

import pytest

from feedback.intake.models import InboundPayload

from .conftest import META_URL, VERIFY_TOKEN, X_SECRET, X_URL

pytestmark = pytest.mark.django_db


def test_x_crc_answers_the_hmac_of_the_token(client, x_account):
    token = "9b4507b3-9040-4669-9ca3-6b94edb50553"
    response = client.get(X_URL, {"crc_token": token})
    assert response.status_code == 200
    expected = base64.b64encode(hmac.new(X_SECRET.encode(), token.encode(), hashlib.sha256).digest()).decode()
    assert response.json() == {"response_token": f"sha256={expected}"}


def test_x_crc_without_token_is_400_and_unknown_account_404(client, x_account):
    assert client.get(X_URL).status_code == 400
    assert client.get("/hooks/x/nobody/", {"crc_token": "abc"}).status_code == 404
    assert client.get("/hooks/meta/skyjet-x/", {"hub.mode": "subscribe"}).status_code == 404  # an X account


def test_meta_verification_echoes_the_challenge(client, fb_account):
    response = client.get(META_URL, {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                      "hub.challenge": "1158201444"})
    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "not-the-token", "hub.challenge": "1158201444"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
        {"hub.challenge": "1158201444"},
    ],
)
def test_meta_verification_refuses_a_wrong_token_or_mode(client, fb_account, params):
    response = client.get(META_URL, params)
    assert response.status_code == 403
    assert b"1158201444" not in response.content


def test_handshakes_store_nothing_and_other_methods_are_405(client, x_account, fb_account):
    client.get(X_URL, {"crc_token": "abc"})
    assert client.put(X_URL, data=b"{}", content_type="application/json").status_code == 405
    assert not InboundPayload.objects.exists()
