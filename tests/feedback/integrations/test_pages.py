"""The administrators' integration pages: API tokens (shown once, stored hashed, revoked) and the
webhook delivery log with its redeliver button."""

import hashlib

import pytest
from django.test import Client

from customers.webhooks.models import DeliveryStatus, WebhookDelivery
from customers.webhooks.services import create_subscription, emit_event
from feedback.integrations.models import ApiToken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    return client


def test_an_admin_makes_a_token_sees_its_key_once_and_revokes_it(admin_client):
    response = admin_client.post("/integrations/tokens/", {"name": "Salesforce", "scopes": ["customers:read",
                                                                                            "cases:read"]})
    assert response.status_code == 200
    token = ApiToken.objects.get()
    key = response.context["new_key"]
    assert key.encode() in response.content
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest() and token.scopes == ["customers:read",
                                                                                            "cases:read"]
    # The key is not shown again.
    assert key.encode() not in admin_client.get("/integrations/tokens/").content
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get("/api/v1/cases/").status_code == 200
    assert admin_client.post(f"/integrations/tokens/{token.pk}/revoke/").status_code == 302
    assert api.get("/api/v1/cases/").status_code == 401


def test_bad_token_forms_and_ids(admin_client):
    response = admin_client.post("/integrations/tokens/", {"name": "", "scopes": ["root:everything"]})
    assert response.status_code == 200 and set(response.context["form"].errors) == {"name", "scopes"}
    assert not ApiToken.objects.exists()
    assert admin_client.post("/integrations/tokens/99999999999999999999999/revoke/").status_code == 404


@pytest.mark.parametrize("url", ["/integrations/tokens/", "/integrations/webhooks/"])
def test_only_administrators(url, service_agent):
    client = Client()
    client.force_login(service_agent)
    assert client.get(url).status_code == 403
    assert Client().get(url).status_code == 302  # to the login page


def test_the_delivery_log_and_redeliver(admin_client, django_assert_max_num_queries):
    subscription, _ = create_subscription(name="CRM hook", url="https://crm.example/hooks", event_types=["case.created"])
    for n in range(5):
        emit_event(event_type="case.created", payload={"n": n})
    WebhookDelivery.objects.filter(pk=WebhookDelivery.objects.order_by("id").first().pk).update(
        status=DeliveryStatus.FAILED, last_error="HTTP 410 (not retried).")
    with django_assert_max_num_queries(12):
        response = admin_client.get("/integrations/webhooks/", {"status": "failed"})
    assert response.status_code == 200
    assert len(response.context["page"]) == 1 and b"HTTP 410" in response.content
    failed = WebhookDelivery.objects.get(status=DeliveryStatus.FAILED)
    assert admin_client.post(f"/integrations/webhooks/deliveries/{failed.pk}/redeliver/").status_code == 302
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.PENDING and failed.attempts == 0
    assert admin_client.get("/integrations/webhooks/", {"subscription": subscription.pk, "status": "weird",
                                                         "page": "²"}).status_code == 200
