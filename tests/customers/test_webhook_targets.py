"""Webhook targets must be public (no SSRF into Baton's own network): refused when a subscription is saved (400 on
`url`) and again at each delivery, after the name is resolved (DNS rebinding), unless
BATON_WEBHOOK_ALLOW_PRIVATE_TARGETS allows them."""

import ipaddress

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError

from customers.webhooks import targets
from customers.webhooks.delivery import deliver_due
from customers.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookSubscription
from customers.webhooks.services import create_subscription, emit_event
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db

REFUSED_ADDRESSES = [
    "127.0.0.1", "127.1.2.3", "10.0.0.5", "172.16.0.1", "192.168.1.10", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255", "192.0.2.1", "198.18.0.1",
    "::1", "::", "fe80::1", "fe80::1:2", "fc00::1", "fd12:3456::1", "ff02::1", "ff0e::1", "2001:db8::1",
    "fec0::1",  # site-local: deprecated, but a private scope (Python calls it global)
    "3fff::1",  # documentation, RFC 9637 (Python 3.11 calls it global)
    "100::1",  # discard-only
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:192.168.1.1", "::ffff:0.0.0.0", "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe", "64:ff9b::a00:1", "64:ff9b::7f00:1",  # NAT64 of link-local, private, loopback
    "64:ff9b:1::808:808",  # NAT64's local-use prefix (RFC 8215), whatever it carries
    "2002:7f00:1::1", "2002:a00:1::1",  # 6to4 of loopback, private
    "::a00:1", "::808:808",  # IPv4-compatible (deprecated, ::/96): reserved
]
PUBLIC_ADDRESSES = [
    "93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001:81b::200e", "2620:fe::fe",
    "::ffff:8.8.8.8", "64:ff9b::808:808",  # mapped and NAT64 forms of a public IPv4 address: judged by it
    "2002:808:808::1",  # 6to4 of a public one
]


@pytest.fixture(autouse=True)
def _refuse_private(settings):
    settings.BATON_WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    cache.clear()


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_non_public_addresses_are_refused(address):
    assert not targets.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_public_addresses_are_allowed(address):
    assert targets.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/hooks", "http://localhost/hooks", "http://LOCALHOST:8080/", "http://api.localhost/x",
    "http://[::1]/hooks", "http://169.254.169.254/latest/meta-data/", "https://10.0.0.5/hooks",
    "http://[::ffff:192.168.0.1]/", "https://[::FFFF:10.0.0.1]:8443/", "https://[fe80::1]/", "https://[fd00::5]/hooks",
    "https://[fc00::1]/", "https://[64:ff9b::a00:1]/", "https://[64:ff9b::169.254.169.254]/", "https://[::]/",
    "https://[fec0::1]/", "https://[2001:db8::1]/", "https://[ff02::1]/",
])
def test_the_api_refuses_a_subscription_to_a_private_address(crm_client, url):
    response = crm_client.post("/api/v1/webhooks/", {"name": "CRM", "url": url, "event_types": ["case.created"]},
                               format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid" and list(body["fields"]) == ["url"]
    assert "public addresses only" in body["fields"]["url"][0]
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize("url", [
    "https://user:pw@crm.example/hooks", "http://user:pw@192.168.1.1:8443/hooks", "https://token@crm.example/",
    "https://user:pw@[2606:4700:4700::1111]/hook", "https://:pw@crm.example/", "https://a@b@crm.example/",
])
def test_credentials_in_the_url_are_refused_saying_why_and_what_to_use(crm_client, url):
    response = crm_client.post("/api/v1/webhooks/", {"name": "CRM", "url": url, "event_types": ["case.created"]},
                               format="json")
    assert response.status_code == 400, response.content
    [message] = response.json()["fields"]["url"]
    assert "user name and password" in message and "signing secret" in message and "X-Baton-Signature" in message
    with pytest.raises(ValidationError) as refused:
        create_subscription(name="CRM", url=url, event_types=["case.created"])
    assert refused.value.message_dict["url"] == [message]
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize("url", ["https://crm.example/hooks@2", "https://crm.example/?next=a@b",
                                 "https://crm.example/#me@x"])
def test_an_at_sign_after_the_host_is_no_credential(crm_client, url):
    response = crm_client.post("/api/v1/webhooks/", {"name": "CRM", "url": url, "event_types": ["case.created"]},
                               format="json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("url", [
    "https://[2606:4700:4700::1111]/hook", "http://[2a00:1450:4001:81b::200e]:8080/x?y=1",
    "https://[2620:FE::FE]:443/", "https://[::ffff:8.8.8.8]/", "https://[64:ff9b::8.8.8.8]/hooks",
])
def test_a_public_ipv6_address_is_taken_like_a_public_ipv4_one(crm_client, url):
    response = crm_client.post("/api/v1/webhooks/", {"name": "CRM", "url": url, "event_types": ["case.created"]},
                               format="json")
    assert response.status_code == 201, response.content
    assert response.json()["url"] == url
    subscription = WebhookSubscription.objects.get()
    response = crm_client.patch(f"/api/v1/webhooks/{subscription.pk}/", {"url": "https://[::1]:8443/"}, format="json")
    assert response.status_code == 400 and "public addresses only" in response.json()["fields"]["url"][0]
    subscription.refresh_from_db()
    assert subscription.url == url


@pytest.mark.parametrize("url", ["https://[1:2:3:4::5:6:7:8]/", "https://[1::2::3]/", "https://[::1%25lo]/",
                                 "https://[::ffff:010.0.0.1]/", "https://[2606:4700:4700::1111/", "https://[v1.x]/"])
def test_a_malformed_ipv6_address_is_not_an_url(crm_client, url):
    response = crm_client.post("/api/v1/webhooks/", {"name": "CRM", "url": url, "event_types": ["case.created"]},
                               format="json")
    assert response.status_code == 400 and response.json()["fields"]["url"] == ["Enter an http or https URL."]


@pytest.mark.parametrize("url", ["ftp://crm.example/hooks", "file:///etc/passwd", "gopher://crm.example:70/_x"])
def test_other_schemes_are_refused(crm_client, url):
    response = crm_client.post("/api/v1/webhooks/", {"name": "CRM", "url": url, "event_types": ["case.created"]},
                               format="json")
    assert response.status_code == 400 and "url" in response.json()["fields"]


def test_public_targets_are_taken_and_a_change_to_a_private_one_is_refused(crm_client):
    for url in ("https://crm.example/hooks", "https://93.184.216.34/hooks", "https://[2606:4700:4700::1111]/hooks"):
        response = crm_client.post("/api/v1/webhooks/", {"name": "CRM", "url": url, "event_types": ["case.created"]},
                                   format="json")
        assert response.status_code == 201, response.content
    subscription = WebhookSubscription.objects.order_by("id").first()
    response = crm_client.patch(f"/api/v1/webhooks/{subscription.pk}/", {"url": "http://127.0.0.1:6379/"},
                                format="json")
    assert response.status_code == 400 and list(response.json()["fields"]) == ["url"]
    subscription.refresh_from_db()
    assert subscription.url == "https://crm.example/hooks"


def test_the_setting_allows_private_targets(crm_client, settings):
    settings.BATON_WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    response = crm_client.post("/api/v1/webhooks/", {"name": "Local", "url": "http://127.0.0.1:9/",
                                                     "event_types": ["case.created"]}, format="json")
    assert response.status_code == 201


def test_a_name_that_resolves_to_a_private_address_at_delivery_is_refused_and_not_retried():
    """As after DNS rebinding: the URL passed when it was saved, and its name now resolves to 127.0.0.1 (written
    directly here: localhost resolves for real); nothing is sent and the delivery fails at once."""
    with Receiver() as receiver:
        subscription, _ = create_subscription(name="Rebound", url="https://crm.example/hooks",
                                              event_types=["case.created"])
        WebhookSubscription.objects.filter(pk=subscription.pk).update(url=f"http://localhost:{receiver.server.server_port}/hooks")
        emit_event(event_type="case.created", payload={"id": 1})
        run = deliver_due(subscription_id=subscription.pk)
    assert not receiver.requests
    assert (run.failed, run.retried, run.delivered) == (1, 0, 0)
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    assert "localhost resolves to 127.0.0.1" in delivery.last_error and "public addresses only" in delivery.last_error
    assert WebhookAttempt.objects.get(delivery=delivery).status_code is None


def test_the_same_receiver_is_reached_when_private_targets_are_allowed(settings):
    settings.BATON_WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    with Receiver() as receiver:
        subscription, _ = create_subscription(name="Local", url=f"http://localhost:{receiver.server.server_port}/hooks",
                                              event_types=["case.created"])
        emit_event(event_type="case.created", payload={"id": 1})
        assert deliver_due(subscription_id=subscription.pk).delivered == 1
    assert len(receiver.requests) == 1


def test_a_pinned_request_keeps_the_name_for_host_and_tls():
    pinned = targets.pin("https://user:pw@93.184.216.34:8443/hooks?x=1")
    assert pinned.addresses == (ipaddress.ip_address("93.184.216.34"),)
    assert str(pinned.url_for(pinned.addresses[0])) == "https://user:pw@93.184.216.34:8443/hooks?x=1"
    named = targets.Pinned(url="https://CRM.example/hooks", host="crm.example", port=443,
                           addresses=(ipaddress.ip_address("2606:4700:4700::1111"),))
    assert str(named.url_for(named.addresses[0])) == "https://[2606:4700:4700::1111]/hooks"
    assert named.host_header == "crm.example"
    literal = targets.pin("https://[2606:4700:4700::1111]:8443/hook?x=1")
    assert literal.addresses == (ipaddress.ip_address("2606:4700:4700::1111"),)
    assert str(literal.url_for(literal.addresses[0])) == "https://[2606:4700:4700::1111]:8443/hook?x=1"
    assert literal.host_header == "[2606:4700:4700::1111]:8443"
    with pytest.raises(targets.BlockedTarget):
        targets.pin("http://[::ffff:127.0.0.1]:8080/")
    with pytest.raises(targets.BlockedTarget, match=r"fd00::1 resolves to fd00::1"):
        targets.pin("https://[fd00::1]/")
    with pytest.raises(targets.BlockedTarget):
        targets.pin("ftp://crm.example/")


def test_a_receiver_at_an_ipv6_address_gets_its_deliveries(settings):
    """A real delivery over IPv6 to a literal address (the loopback: allowed by the setting here), with the Host
    header in brackets as HTTP writes it."""
    settings.BATON_WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    with Receiver(host="::1") as receiver:
        subscription, _ = create_subscription(name="IPv6", url=receiver.url, event_types=["case.created"])
        emit_event(event_type="case.created", payload={"id": 1})
        assert deliver_due(subscription_id=subscription.pk).delivered == 1
    [request] = receiver.requests
    assert request["headers"]["Host"] == f"[::1]:{receiver.server.server_port}"
